/** pino logger with every place a token can hide redacted. */
import { pino, type DestinationStream, type Logger } from 'pino';

const REDACT_PATHS = [
  'req.headers["x-gitlab-token"]',
  'req.headers.authorization',
  'req.headers["private-token"]',
  'req.headers.cookie',
  'headers["x-gitlab-token"]',
  'headers.authorization',
  'headers["private-token"]',
  'token',
  '*.token',
  'GITLAB_TOKEN',
  'WEBHOOK_SECRET',
  'config.GITLAB_TOKEN',
  'config.WEBHOOK_SECRET',
];

export interface LoggerOptions {
  level?: string;
  /** Secrets whose literal value must never appear in a log line (belt and braces). */
  secrets?: string[];
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s && s.length >= 4);
  const scrub = (s: string): string => {
    let out = s;
    for (const secret of secrets) out = out.split(secret).join('[REDACTED]');
    return out;
  };
  // The last line of defence: every serialised line is scrubbed of the literal secrets
  // before it reaches the destination (redact paths cover the known places).
  const target: DestinationStream = opts.destination ?? pino.destination({ dest: 1, sync: false });
  const destination: DestinationStream = secrets.length ? { write: (line: string) => target.write(scrub(line)) } : target;
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'tierguard' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    },
    destination,
  );
}

export type { Logger };
