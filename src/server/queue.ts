import { RetryPolicy, type FailureKind } from './retry-policy.js';

/**
 * The work queue between the webhook route and the reviewer. The in-memory implementation
 * coalesces per MR (key `project:iid`), deduplicates deliveries by Idempotency-Key, bounds
 * concurrency and retries failed jobs with backoff (./retry-policy.ts). A Redis (BullMQ) implementation of the
 * same interface can replace it: jobs are plain JSON.
 */

/** One unit of work: review MR `mrIid` of project `projectId` (JSON-serialisable). */
export interface ReviewJob {
  projectId: number;
  mrIid: number;
  /** Head sha named by the event ('' when unknown, e.g. a note hook without last_commit). */
  sha: string;
  /** Why: `merge_request:open`, `note:recheck`, … */
  reason: string;
  /** Webhook delivery id (log correlation). */
  deliveryId: string;
  /** GitLab's Idempotency-Key (same on redelivery), if any. */
  idempotencyKey?: string;
  /** Attempt number, 1-based (set by the queue). */
  attempt?: number;
  /** GitLab user whose action caused the event (the bot's own events are ignored). */
  actorId?: number;
  /** Event time (ms since epoch) for ordering out-of-order deliveries. */
  receivedAt: number;
  /** When the first attempt of this job failed (ms since epoch; set by the queue): the retry window starts there. */
  firstFailedAt?: number;
}

/** Why a job stopped for good (passed to onFinalFailure). */
export interface FinalFailureInfo {
  kind: FailureKind;
  /** e.g. "gave up after 9 attempts over 15 min (GitLab kept failing)". */
  why: string;
}

export type EnqueueResult = 'queued' | 'coalesced' | 'duplicate';

/** `enqueue(job, { soft: true })`: only when nothing for that MR is waiting or running (catch-up). */
export interface EnqueueOptions {
  soft?: boolean;
}

export interface WorkQueue {
  enqueue(job: ReviewJob, opts?: EnqueueOptions): Promise<EnqueueResult | undefined>;
  /** Projects webhooks were accepted for (the catch-up looks at their open MRs). */
  knownProjects?(): Promise<number[]>;
  /** Remember a project for the catch-up (done by enqueue too). */
  rememberProject?(projectId: number): Promise<void>;
  /** Jobs survive this replica (Redis): a draining replica may still accept webhooks. */
  readonly durable?: boolean;
  start(handler: (job: ReviewJob) => Promise<void>): void;
  /** Resolves when nothing is pending or running (retries included). */
  drain(): Promise<void>;
  /** Stop accepting work; wait for running jobs; pending jobs are dropped. */
  close(): Promise<void>;
}

export interface MemoryQueueOptions {
  concurrency?: number;
  /**
   * Attempts for failures that are not GitLab errors (default 3); when set, also the most
   * attempts for transient GitLab failures (by default only the retry window limits those).
   */
  maxAttempts?: number;
  /** Transient GitLab failures are retried this long after the first failure (default 900 000 ms). */
  retryWindowMs?: number;
  /** Backoff before attempt n+1: up to baseMs * 2^(n-1) with jitter, capped (default 1 000 ms / 60 000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  /** Clock and timer (tests run a long outage on a virtual clock). */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  /** Idempotency keys remembered (default 10 000). */
  dedupSize?: number;
  /** Called when the last attempt failed (the reviewer reports it on the MR). */
  onFinalFailure?: (job: ReviewJob, err: unknown, info: FinalFailureInfo) => Promise<void> | void;
  onDepth?: (depth: number) => void;
  onError?: (job: ReviewJob, err: unknown, willRetry: boolean) => void;
}

const realTimer = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

const keyOf = (j: ReviewJob): string => `${j.projectId}:${j.mrIid}`;

export class MemoryQueue implements WorkQueue {
  private readonly concurrency: number;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => { cancel(): void };
  private readonly dedupSize: number;
  private readonly projects = new Set<number>();
  /** Pending jobs in FIFO order of their key's first arrival. */
  private readonly pending = new Map<string, ReviewJob>();
  private readonly running = new Set<string>();
  /** A key whose job is running and got a newer event: rerun once after it. */
  private readonly rerun = new Map<string, ReviewJob>();
  private readonly delayed = new Map<string, { job: ReviewJob; timer: { cancel(): void } }>();
  private readonly seen = new Map<string, true>();
  private handler?: (job: ReviewJob) => Promise<void>;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private activeWaiters: (() => void)[] = [];

  constructor(private readonly opts: MemoryQueueOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.retry = new RetryPolicy({ windowMs: opts.retryWindowMs, baseMs: opts.retryBaseMs, maxMs: opts.retryMaxMs, maxAttempts: opts.maxAttempts, random: opts.random });
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? realTimer;
    this.dedupSize = opts.dedupSize ?? 10_000;
  }

  get depth(): number {
    return this.pending.size + this.running.size + this.rerun.size + this.delayed.size;
  }

  async knownProjects(): Promise<number[]> {
    return [...this.projects];
  }

  async rememberProject(projectId: number): Promise<void> {
    this.projects.add(projectId);
  }

  async enqueue(job: ReviewJob, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (this.closed) throw new Error('queue is closed');
    const key = keyOf(job);
    this.projects.add(job.projectId);
    if (opts.soft && (this.pending.has(key) || this.running.has(key) || this.delayed.has(key))) return 'coalesced';
    if (job.idempotencyKey) {
      if (this.seen.has(job.idempotencyKey)) return 'duplicate';
      this.seen.set(job.idempotencyKey, true);
      while (this.seen.size > this.dedupSize) this.seen.delete(this.seen.keys().next().value as string);
    }
    const fresh: ReviewJob = { ...job, attempt: 1 };
    delete fresh.firstFailedAt;
    let result: EnqueueResult = 'queued';
    const retrying = this.delayed.get(key);
    if (retrying) {
      // A newer event supersedes a job waiting to be retried.
      retrying.timer.cancel();
      this.delayed.delete(key);
      result = 'coalesced';
    }
    if (this.running.has(key)) {
      result = this.rerun.has(key) ? 'coalesced' : result;
      this.rerun.set(key, newer(this.rerun.get(key), fresh));
    } else if (this.pending.has(key)) {
      this.pending.set(key, newer(this.pending.get(key), fresh));
      result = 'coalesced';
    } else {
      this.pending.set(key, fresh);
    }
    this.report();
    this.pump();
    return result;
  }

  start(handler: (job: ReviewJob) => Promise<void>): void {
    this.handler = handler;
    this.pump();
  }

  drain(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Resolves when nothing is waiting or running; jobs only waiting for a retry do not count
   * (the graceful drain does not sit out a backoff: their MR shows pending, and the catch-up
   * after the restart reviews it).
   */
  drainActive(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.activeWaiters.push(resolve));
  }

  private get active(): number {
    return this.pending.size + this.running.size + this.rerun.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    this.pending.clear();
    this.rerun.clear();
    this.report();
    await this.drain();
  }

  private pump(): void {
    if (!this.handler) return;
    for (const [key, job] of this.pending) {
      if (this.running.size >= this.concurrency) break;
      if (this.running.has(key)) continue;
      this.pending.delete(key);
      this.run(key, job);
    }
  }

  private run(key: string, job: ReviewJob): void {
    this.running.add(key);
    const handler = this.handler!;
    void (async () => {
      try {
        await handler(job);
      } catch (err) {
        const attempt = job.attempt ?? 1;
        const superseded = this.rerun.has(key);
        const firstFailedAt = job.firstFailedAt ?? this.now();
        const decision = this.retry.decide(err, attempt, this.now() - firstFailedAt);
        const willRetry = !this.closed && !superseded && decision.retry;
        this.opts.onError?.(job, err, willRetry);
        if (willRetry) {
          const next = { ...job, attempt: attempt + 1, firstFailedAt };
          const timer = this.setTimer(() => {
            this.delayed.delete(key);
            if (this.closed) return this.settle();
            if (!this.pending.has(key) && !this.running.has(key)) this.pending.set(key, next);
            this.pump();
            this.settle();
          }, decision.delayMs);
          this.delayed.set(key, { job: next, timer });
        } else if (!superseded && !decision.retry) {
          // (A retry cut short by close() is not reported: the status stays pending and the
          // catch-up after the restart reviews the MR.)
          try {
            await this.opts.onFinalFailure?.(job, err, { kind: decision.kind, why: decision.why ?? 'gave up' });
          } catch {
            // reported by onFinalFailure's own logging
          }
        }
      } finally {
        this.running.delete(key);
        const again = this.rerun.get(key);
        if (again) {
          this.rerun.delete(key);
          if (!this.closed) this.pending.set(key, newer(this.pending.get(key), again));
        }
        this.pump();
        this.settle();
      }
    })();
  }

  private settle(): void {
    this.report();
    if (this.active === 0) {
      const waiters = this.activeWaiters;
      this.activeWaiters = [];
      for (const w of waiters) w();
    }
    if (this.depth === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private report(): void {
    this.opts.onDepth?.(this.depth);
  }
}

/** The job to keep of two for the same MR: the later event (receivedAt), ties → the newer call. */
function newer(a: ReviewJob | undefined, b: ReviewJob): ReviewJob {
  if (!a) return b;
  return b.receivedAt >= a.receivedAt ? b : a;
}
