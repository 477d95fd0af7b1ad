export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export class UsageError extends Error {}

/**
 * A command's `--format`: `fallback` when it is not given, else one of `allowed`; anything else
 * is a usage error that names them.
 */
export function formatOption<F extends string>(value: string | undefined, allowed: readonly F[], fallback: F): F {
  const f = value ?? fallback;
  if ((allowed as readonly string[]).includes(f)) return f as F;
  const choices = allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `one of ${allowed.join(', ')}`;
  throw new UsageError(`--format must be ${choices} (got "${f}")`);
}

/** Exit codes a CI job can act on (SPEC "CLI"). */
export const EXIT = { ok: 0, blocking: 1, usage: 2 } as const;
