import { EXIT, type CliIO } from './io.js';

/** `tierguard serve`: the webhook service (see src/server). */
export async function serveCommand(_args: string[], io: CliIO): Promise<number> {
  io.stderr.write('tierguard: serve is not available in this build yet\n');
  return EXIT.usage;
}
