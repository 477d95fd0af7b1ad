/** Retry policy of the GitLab adapter: exponential backoff with full jitter, and Retry-After. */

export interface RetryOptions {
  /** Retries after the first attempt (default 4). */
  retries: number;
  /** First backoff ceiling in ms (default 250). */
  baseMs: number;
  /** Largest backoff ceiling in ms (default 10 000). */
  maxMs: number;
  /**
   * Largest Retry-After the adapter is willing to wait for (default 60 000 ms); a longer one
   * is reported as the 429 error at once instead of blocking a worker.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  retries: 4,
  baseMs: 250,
  maxMs: 10_000,
  maxRetryAfterMs: 60_000,
};

/** "Full jitter" (AWS architecture blog): uniform in [0, min(max, base * 2^attempt)]. */
export function backoffMs(attempt: number, opts: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Parse a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms
 * (never negative) or null when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
