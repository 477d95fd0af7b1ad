/**
 * When the queue tries a failed review again (both the in-memory and the Redis queue).
 *
 * The GitLab adapter already retries each request a few times within seconds; this is the
 * layer that outlasts a real incident. Failures are sorted into three kinds:
 *
 *   transient  a GitLabError with `transient: true` (5xx, 429, timeouts, connection errors):
 *              retried with exponential backoff and jitter for `windowMs` after the job's
 *              first failure (default 15 minutes); a 429's Retry-After is a lower bound.
 *   permanent  a GitLabError with `transient: false` (401, 403, 404, 400 …): never retried.
 *   other      anything else (e.g. GitLab has not computed the diff yet, or a bug): retried
 *              up to `maxAttempts` attempts (default 3) with the same backoff.
 *
 * `maxAttempts` also caps transient retries when given explicitly (tests, or operators who
 * want fewer); by default only the window decides.
 */
import { GitLabError } from '../gitlab/errors.js';

export type FailureKind = 'transient' | 'permanent' | 'other';

export interface RetryPolicyOptions {
  /** How long transient failures are retried after the first failure (default 900 000 ms). */
  windowMs?: number;
  /** Backoff before attempt n+1: up to baseMs * 2^(n-1), capped at maxMs (defaults 1 000 / 60 000 ms). */
  baseMs?: number;
  maxMs?: number;
  /** Attempts for failures that are neither transient nor permanent (default 3); also a cap on transient ones when set. */
  maxAttempts?: number;
  random?: () => number;
}

export interface RetryDecision {
  kind: FailureKind;
  retry: boolean;
  /** Delay before the next attempt (when `retry`). */
  delayMs: number;
  /** Why the job stops (when not `retry`): shown in the final status. */
  why?: string;
}

const DEFAULT_RETRY_WINDOW_MS = 900_000;

/** Attempts BullMQ is allowed at most when only the window should decide. */
const WINDOW_ATTEMPTS_CAP = 1000;

export function failureKind(err: unknown): FailureKind {
  if (err instanceof GitLabError) return err.transient ? 'transient' : 'permanent';
  return 'other';
}

/** Retry-After the adapter saw on a 429 it did not wait for itself (ms), if any. */
function retryAfterOf(err: unknown): number | undefined {
  const v = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export class RetryPolicy {
  readonly windowMs: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly otherAttempts: number;
  /** Cap on transient attempts (only when maxAttempts was set explicitly). */
  readonly transientCap: number;
  private readonly random: () => number;

  constructor(o: RetryPolicyOptions = {}) {
    this.windowMs = Math.max(0, o.windowMs ?? DEFAULT_RETRY_WINDOW_MS);
    this.baseMs = Math.max(0, o.baseMs ?? 1000);
    this.maxMs = Math.max(this.baseMs, o.maxMs ?? 60_000);
    this.otherAttempts = Math.max(1, o.maxAttempts ?? 3);
    this.transientCap = o.maxAttempts !== undefined ? Math.max(1, o.maxAttempts) : WINDOW_ATTEMPTS_CAP;
    this.random = o.random ?? Math.random;
  }

  /** "Equal jitter": half the ceiling plus a random half, so delays grow but never bunch up. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.floor(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /**
   * After attempt `attempt` (1-based) failed with `err`, `elapsedMs` after the job's first
   * failure: try again, and when?
   */
  decide(err: unknown, attempt: number, elapsedMs: number): RetryDecision {
    const kind = failureKind(err);
    if (kind === 'permanent') return { kind, retry: false, delayMs: 0, why: 'not retried (permanent error)' };
    const delay = Math.max(this.backoff(attempt), retryAfterOf(err) ?? 0);
    if (kind === 'other') {
      if (attempt < this.otherAttempts) return { kind, retry: true, delayMs: delay };
      return { kind, retry: false, delayMs: 0, why: `gave up after ${plural(attempt, 'attempt')}` };
    }
    if (attempt < this.transientCap && elapsedMs < this.windowMs) {
      // The last retry lands at the end of the window, not far past it.
      return { kind, retry: true, delayMs: Math.max(0, Math.min(delay, Math.max(this.windowMs - elapsedMs, retryAfterOf(err) ?? 0))) };
    }
    return { kind, retry: false, delayMs: 0, why: `gave up after ${plural(attempt, 'attempt')} over ${duration(elapsedMs)} (GitLab kept failing)` };
  }
}

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

/** 850 ms → "1 s", 95 000 → "2 min". */
function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  return `${Math.round(s / 60)} min`;
}
