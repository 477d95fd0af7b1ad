/** pino logger with every place a token can hide redacted. */
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
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
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'tierguard' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: {
        // Messages and interpolated arguments are scrubbed too (an error message could quote one).
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>);
        },
      },
      formatters: {
        log(obj) {
          if (secrets.length === 0) return obj;
          const text = JSON.stringify(obj);
          const clean = scrub(text);
          return clean === text ? obj : (JSON.parse(clean) as Record<string, unknown>);
        },
      },
    },
    opts.destination,
  );
}

export type { Logger };
