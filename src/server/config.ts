/**
 * Service configuration from the environment (SPEC "Service behaviour"), validated at start.
 * Every bad variable is listed in one message; the token and secret never appear in it.
 */
import { z } from 'zod';
import { isValidSchedule } from '../audit/cron.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intIn = (name: string, min: number, max: number, def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})` });
        return z.NEVER;
      }
      return n;
    })
    .describe(name);

const EnvSchema = z.object({
  GITLAB_URL: z
    .string({ error: 'is required (e.g. https://gitlab.example.com)' })
    .trim()
    .min(1, 'is required (e.g. https://gitlab.example.com)')
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without credentials')
    .transform((v) => v.replace(/\/+$/, '')),
  GITLAB_TOKEN: z.string({ error: 'is required (a project or group access token with scope api)' }).min(1, 'is required'),
  WEBHOOK_SECRET: z
    .string({ error: 'is required (the secret token set on the GitLab webhook)' })
    .min(16, 'must be at least 16 characters (the secret token set on the GitLab webhook)'),
  PORT: intIn('PORT', 0, 65535, 8080),
  HOST: z.string().optional().transform((v) => (v && v.trim() ? v.trim() : '0.0.0.0')),
  POLICY_DIR: z.string().optional().transform((v) => (v && v.trim() ? v : './policies')),
  LOG_LEVEL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const l = (v ?? 'info').trim().toLowerCase() || 'info';
      if (!(LOG_LEVELS as readonly string[]).includes(l)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${LOG_LEVELS.join(', ')}` });
        return z.NEVER;
      }
      return l as (typeof LOG_LEVELS)[number];
    }),
  CONCURRENCY: intIn('CONCURRENCY', 1, 64, 4),
  /** Public base URL of this service (recorded; not needed for the webhook flow). */
  PUBLIC_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || URL.canParse(v), 'must be a URL')
    .transform((v) => (v ? v : undefined)),
  /** Project ids whose External Status Check "tierguard" is answered, or "all". */
  STATUS_CHECK_PROJECTS: z
    .string()
    .optional()
    .transform((v, ctx): 'all' | number[] => {
      const t = (v ?? '').trim();
      if (t === '') return [];
      if (t.toLowerCase() === 'all') return 'all';
      const ids = t.split(/[\s,]+/).filter(Boolean).map(Number);
      if (ids.some((n) => !Number.isInteger(n) || n <= 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be "all" or a comma-separated list of project ids' });
        return z.NEVER;
      }
      return ids;
    }),
  /** Set: the review queue lives in Redis (BullMQ) and several replicas share it; unset: in memory, one replica. */
  REDIS_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
    .transform((v) => (v ? v : undefined)),
  /** Largest webhook body in bytes (default 1 MiB). */
  BODY_LIMIT: intIn('BODY_LIMIT', 1024, 64 * 1024 * 1024, 1024 * 1024),
  /** Live checks (runners, environments, variables, settings as GitLab has them): on by default, "off" disables. */
  LIVE_CHECKS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const t = (v ?? '').trim().toLowerCase();
      if (t === '' || t === 'on' || t === 'true' || t === '1') return true;
      if (t === 'off' || t === 'false' || t === '0') return false;
      ctx.addIssue({ code: 'custom', message: 'must be "on" or "off"' });
      return z.NEVER;
    }),
  /** How long project-level reads (settings, protected refs, the project policy file, runners, variables…) are reused, in seconds (default 60; 0: not cached). */
  LIVE_CACHE_TTL_SECONDS: intIn('LIVE_CACHE_TTL_SECONDS', 0, 86_400, 60),
  /** How long transient GitLab failures (5xx, 429, timeouts) of a review are retried, in seconds (default 900). */
  RETRY_WINDOW_SECONDS: intIn('RETRY_WINDOW_SECONDS', 0, 86_400, 900),
  /** Catch-up of open MRs without a final status: every this many seconds (default 600; 0: off, not even at start). */
  RECONCILE_INTERVAL_SECONDS: intIn('RECONCILE_INTERVAL_SECONDS', 0, 86_400, 600),
  /** The catch-up looks at MRs updated within this many days (default 14). */
  RECONCILE_LOOKBACK_DAYS: intIn('RECONCILE_LOOKBACK_DAYS', 1, 365, 14),
  /** On SIGTERM: wait this long for reviews in flight, in seconds (default 25, below Kubernetes' 30 s grace period). */
  SHUTDOWN_TIMEOUT_SECONDS: intIn('SHUTDOWN_TIMEOUT_SECONDS', 0, 3600, 25),
  /** Scheduled group audit (`tierguard audit`): five-field cron, UTC; unset: no scheduled audit. */
  AUDIT_SCHEDULE: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.trim() === '' || isValidSchedule(v), 'must be a five-field cron expression (UTC), e.g. "0 6 * * 1"')
    .transform((v) => (v && v.trim() ? v.trim() : undefined)),
  /** Group paths the scheduled audit covers (comma-separated). */
  AUDIT_GROUPS: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(/[\s,]+/).map((g) => g.replace(/^\/+|\/+$/g, '')).filter(Boolean)),
  /** Project whose issue the scheduled audit keeps up to date (unset: the report is only logged). */
  AUDIT_ISSUE_PROJECT: z.string().optional().transform((v) => (v && v.trim() ? v.trim() : undefined)),
}).superRefine((c, ctx) => {
  if (c.AUDIT_SCHEDULE && c.AUDIT_GROUPS.length === 0) ctx.addIssue({ code: 'custom', path: ['AUDIT_GROUPS'], message: 'is required with AUDIT_SCHEDULE (comma-separated group paths)' });
});

export type ServiceConfig = z.output<typeof EnvSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parse and validate the environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): ServiceConfig {
  const parsed = EnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${String(i.path[0] ?? '?')} ${i.message}`);
  throw new ConfigError([...new Set(problems)]);
}
