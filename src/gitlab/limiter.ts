/**
 * One request limiter for a whole run (`tierguard audit`): every GitLab client of the run awaits
 * `acquire()` before each HTTP attempt (requests are spaced to at most `perMinute`), and a 429's
 * Retry-After (`pause(ms)`) holds back every caller, not only the one that was refused.
 * gitlab.com allows 2,000 API calls per minute per user (GITLAB-FACTS); the default stays below.
 */
import { realSleep } from './retry.js';

export interface RateLimiterOptions {
  /** Requests per minute (0: no spacing, only Retry-After pauses). */
  perMinute: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RateLimiter {
  private next = 0;
  private pausedUntil = 0;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Total time callers were held back by Retry-After pauses (ms), for the run's statistics. */
  pausedMs = 0;

  constructor(opts: RateLimiterOptions) {
    this.interval = opts.perMinute > 0 ? 60_000 / opts.perMinute : 0;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
  }

  readonly acquire = async (): Promise<void> => {
    const now = this.now();
    const start = Math.max(now, this.next, this.pausedUntil);
    this.next = start + this.interval;
    if (start > now) await this.sleep(start - now);
  };

  readonly pause = (ms: number): void => {
    // One clock read: a second one a millisecond later made a 1000 ms pause count as 999.
    const now = this.now();
    const until = now + ms;
    if (until > this.pausedUntil) {
      this.pausedMs += until - Math.max(this.pausedUntil, now);
      this.pausedUntil = until;
    }
  };
}
