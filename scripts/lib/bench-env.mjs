/**
 * Node 20 reads the file NODE_EXTRA_CA_CERTS names, and builds its certificate store, at every
 * process start, before any of the program's code runs; Node 22 and 24 only when TLS is first
 * used. Measured on the development machine, where the variable is set: `node -e ""` on Node 20
 * took 66 ms with its CA bundle there and 25 ms without. The benches run the Node 20 figures the
 * variable changes a second time without it, and print both, each with its verdict: the cost is
 * the machine's configuration, paid by every Node 20 program.
 */
export const extraCaCertsSet = process.env.NODE_EXTRA_CA_CERTS !== undefined;

/** `env` without NODE_EXTRA_CA_CERTS. */
export function withoutExtraCaCerts(env) {
  const out = { ...env };
  delete out.NODE_EXTRA_CA_CERTS;
  return out;
}
