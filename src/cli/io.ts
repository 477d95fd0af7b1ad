export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export class UsageError extends Error {}

/** Exit codes a CI job can act on (SPEC "CLI"). */
export const EXIT = { ok: 0, blocking: 1, usage: 2 } as const;
