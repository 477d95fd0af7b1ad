/**
 * The Redis-backed WorkQueue (REDIS_URL set): BullMQ carries the jobs, so several replicas
 * share the work and a replica that dies mid-job leaves its job to another one (BullMQ's
 * stalled-job recovery: the job lock is not renewed, the job goes back to wait).
 *
 * Per MR (`project:iid`) a small Redis hash keeps what BullMQ does not know about:
 *   job       newest ReviewJob (by receivedAt) — what the next evaluation looks at
 *   seq       event counter; every accepted event gets the next number and one BullMQ job
 *   claimSeq  events up to this number are taken by the job `claimJob` (evaluating, retrying
 *             or failed for good); later jobs with a number ≤ claimSeq complete at once
 *   done      events up to this number were evaluated successfully
 * A per-MR lock (SET NX PX with a random token, renewed while the review runs, released with
 * compare-and-delete) makes sure two replicas never evaluate one MR at once; a job that finds
 * the MR locked goes back to BullMQ's delayed set and tries again shortly. So events for one
 * MR coalesce (many events while one waits → one evaluation of the newest), the newest head sha
 * wins, and comments are never doubled (the reviewer reconciles with what it posted before).
 *
 * Deliveries are deduplicated by Idempotency-Key (SET NX EX), and enqueue resolves only after
 * Redis acknowledged both the event and the BullMQ job: the webhook answers 2xx only then.
 * Retries (./retry-policy.ts): transient GitLab failures are retried with backoff and jitter
 * for the retry window after the first failure (the job's `firstFailedAt`), other failures a
 * few times, permanent ones never (BullMQ's UnrecoverableError); after the last attempt the failure
 * is reported (onFinalFailure: the MR's commit status says so) and the job stays in BullMQ's
 * failed set, counted by `tierguard_queue_jobs{state="failed"}` and
 * `tierguard_review_jobs_failed_total`.
 *
 * Not for Redis Cluster (the per-MR keys and BullMQ's keys are not hash-tagged together).
 */
import { randomUUID } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EnqueueOptions, EnqueueResult, FinalFailureInfo, ReviewJob, WorkQueue } from './queue.js';
import { RetryPolicy } from './retry-policy.js';
import { quietAfterClose } from '../util/bullmq-close.js';

export interface RedisQueueOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Key prefix of everything tierguard stores (default `tierguard`); replicas sharing work use the same one. */
  prefix?: string;
  /** BullMQ queue name (default `reviews`). */
  queueName?: string;
  /** Jobs run at once by this replica (default 4). */
  concurrency?: number;
  /** As MemoryQueueOptions.maxAttempts: attempts for non-GitLab failures (default 3), and a cap on transient ones when set. */
  maxAttempts?: number;
  /** Transient GitLab failures are retried this long after the first failure (default 900 000 ms). */
  retryWindowMs?: number;
  /** Backoff before attempt n+1: up to baseMs * 2^(n-1) with jitter, capped (default 1 000 ms / 60 000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  /** BullMQ job lock: a job whose replica stopped renewing it is recovered after about this long (default 30 000 ms). */
  lockDurationMs?: number;
  /** How often each replica looks for stalled jobs (default 15 000 ms). */
  stalledIntervalMs?: number;
  /** Per-MR lock time to live, renewed every third of it while the review runs (default 30 000 ms). */
  mrLockMs?: number;
  /** Delay before a job that found its MR locked tries again (default 500 ms). */
  lockRetryMs?: number;
  /** How long Idempotency-Keys are remembered (default 86 400 s). */
  dedupTtlSeconds?: number;
  /** Per-MR state expires this long after the MR's last event (default 30 days). */
  stateTtlSeconds?: number;
  /** Completed jobs kept for inspection (default 1 000); failed jobs kept (default 5 000). */
  keepCompleted?: number;
  keepFailed?: number;
  /** close(): wait this long for running jobs, then leave them to another replica (default 25 000 ms). */
  closeTimeoutMs?: number;
  /** Registry for the queue's own metrics (jobs by state, final failures). */
  registry?: Registry;
  onFinalFailure?: (job: ReviewJob, err: unknown, info: FinalFailureInfo) => Promise<void> | void;
  onDepth?: (depth: number) => void;
  onError?: (job: ReviewJob, err: unknown, willRetry: boolean) => void;
  /** Anything unexpected around the queue itself (Redis connection errors, lost locks). */
  onWarning?: (msg: string, detail?: Record<string, unknown>) => void;
}

/** The BullMQ job: which MR and which event number; the event itself is in the MR's hash. */
interface QueueData {
  key: string;
  projectId: number;
  mrIid: number;
  seq: number;
  /** When the first attempt failed (ms since epoch): the retry window starts there. */
  firstFailedAt?: number;
}

type ClaimResult = { run: true; seq: number; job: ReviewJob } | { run: false; why: string };

const ENQUEUE_LUA = `
-- KEYS[1] MR hash, KEYS[2] idempotency key, KEYS[3] set of known projects;
-- ARGV: job JSON, receivedAt, use idem (1/0), idem ttl, state ttl, project id, soft (1/0)
if ARGV[7] == '1' then
  -- soft (catch-up): nothing when an event for this MR is still waiting, running or retrying
  local s = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
  local d = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
  if s > d then return {-2, 0, 0} end
end
if ARGV[3] == '1' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[4]) then return {-1, 0, 0} end
end
redis.call('SADD', KEYS[3], ARGV[6])
local at = redis.call('HGET', KEYS[1], 'at')
if (not at) or tonumber(ARGV[2]) >= tonumber(at) then
  redis.call('HSET', KEYS[1], 'job', ARGV[1], 'at', ARGV[2])
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('EXPIRE', KEYS[1], ARGV[5])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local claimed = tonumber(redis.call('HGET', KEYS[1], 'claimSeq') or '0')
return {seq, done, claimed}
`;

const CLAIM_LUA = `
-- KEYS[1] MR hash; ARGV: job seq, job id
local h = redis.call('HMGET', KEYS[1], 'seq', 'done', 'claimSeq', 'claimJob', 'job')
local js = tonumber(ARGV[1])
if not h[5] then return {'skip', 'no event stored for this merge request (expired?)'} end
if js <= tonumber(h[2] or '0') then return {'skip', 'already evaluated'} end
if js <= tonumber(h[3] or '0') and h[4] ~= ARGV[2] then return {'skip', 'covered by job ' .. tostring(h[4])} end
redis.call('HSET', KEYS[1], 'claimSeq', h[1], 'claimJob', ARGV[2])
return {'run', h[1], h[5]}
`;

const DONE_LUA = `
-- KEYS[1] MR hash; ARGV: evaluated seq
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if tonumber(ARGV[1]) > done then redis.call('HSET', KEYS[1], 'done', ARGV[1]) end
return 1
`;

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const PENDING_STATES = ['wait', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

export class RedisQueue implements WorkQueue {
  /** Jobs survive a replica: close() need not wait for the whole queue to drain. */
  readonly durable = true;
  private readonly o: Required<Omit<RedisQueueOptions, 'registry' | 'onFinalFailure' | 'onDepth' | 'onError' | 'onWarning' | 'maxAttempts' | 'retryWindowMs' | 'retryBaseMs' | 'retryMaxMs' | 'random'>>;
  private readonly producer: Redis;
  private readonly queue: Queue<QueueData>;
  private workerConn?: Redis;
  private worker?: Worker<QueueData>;
  private closed = false;
  private closing?: Promise<void>;
  private stopping?: Promise<void>;
  private depthTimer?: NodeJS.Timeout;
  private readonly renewals = new Set<NodeJS.Timeout>();
  private readonly failedTotal?: Counter;
  private readonly retry: RetryPolicy;
  /** Job id → delay before its next attempt, decided in process() and read by the backoff strategy. */
  private readonly nextDelay = new Map<string, number>();

  constructor(private readonly opts: RedisQueueOptions) {
    this.o = {
      url: opts.url,
      prefix: opts.prefix ?? 'tierguard',
      queueName: opts.queueName ?? 'reviews',
      concurrency: Math.max(1, opts.concurrency ?? 4),
      lockDurationMs: opts.lockDurationMs ?? 30_000,
      stalledIntervalMs: opts.stalledIntervalMs ?? 15_000,
      mrLockMs: opts.mrLockMs ?? 30_000,
      lockRetryMs: opts.lockRetryMs ?? 500,
      dedupTtlSeconds: opts.dedupTtlSeconds ?? 86_400,
      stateTtlSeconds: opts.stateTtlSeconds ?? 30 * 86_400,
      keepCompleted: opts.keepCompleted ?? 1000,
      keepFailed: opts.keepFailed ?? 5000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 25_000,
    };
    this.retry = new RetryPolicy({ windowMs: opts.retryWindowMs, baseMs: opts.retryBaseMs, maxMs: opts.retryMaxMs, maxAttempts: opts.maxAttempts, random: opts.random });
    // The webhook path fails fast when Redis is away (GitLab redelivers a 5xx), instead of
    // holding the request while ioredis reconnects for ever.
    this.producer = this.connect({ maxRetriesPerRequest: 2 });
    this.queue = new Queue<QueueData>(this.o.queueName, {
      connection: this.producer,
      prefix: this.o.prefix,
      defaultJobOptions: {
        attempts: this.retry.transientCap,
        backoff: { type: 'tierguard' },
        removeOnComplete: { count: this.o.keepCompleted },
        removeOnFail: { count: this.o.keepFailed },
      },
    });
    this.queue.on('error', (err) => this.warn('redis queue error', err));
    quietAfterClose(this.queue);
    if (opts.registry) {
      this.failedTotal = new Counter({
        name: 'tierguard_review_jobs_failed_total',
        help: 'Review jobs of this replica that failed their last attempt (the MR status says so)',
        registers: [opts.registry],
      });
      const queue = this.queue;
      new Gauge({
        name: 'tierguard_queue_jobs',
        help: 'Jobs in the shared Redis queue by state (all replicas)',
        labelNames: ['state'] as const,
        registers: [opts.registry],
        async collect() {
          try {
            const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'completed', 'failed');
            for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
          } catch {
            // Redis unreachable: keep the last values rather than fail the scrape.
          }
        },
      });
    }
  }

  /** Key of one of tierguard's own per-MR records (outside BullMQ's namespace). */
  private key(kind: 'mr' | 'lock' | 'idem' | 'projects', id: string): string {
    return `${this.o.prefix}:${this.o.queueName}:tg:${kind}:${id}`;
  }

  private connect(extra: RedisOptions): Redis {
    const r = new Redis(this.o.url, { connectionName: 'tierguard', ...extra });
    r.on('error', (err) => this.warn('redis connection error', err));
    return r;
  }

  private warn(msg: string, err?: unknown, detail: Record<string, unknown> = {}): void {
    this.opts.onWarning?.(msg, { ...detail, ...(err !== undefined ? { err: err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err) } : {}) });
  }

  /** Projects webhooks were accepted for (kept in Redis: every replica's catch-up sees them). */
  async knownProjects(): Promise<number[]> {
    const ids = await this.producer.smembers(this.key('projects', 'all'));
    return ids.map(Number).filter((n) => Number.isInteger(n) && n > 0);
  }

  async rememberProject(projectId: number): Promise<void> {
    await this.producer.sadd(this.key('projects', 'all'), String(projectId));
  }

  async enqueue(job: ReviewJob, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (this.closed) throw new Error('queue is closed');
    const key = `${job.projectId}:${job.mrIid}`;
    const stored: ReviewJob = { ...job };
    delete stored.attempt;
    delete stored.firstFailedAt;
    const idem = job.idempotencyKey ? this.key('idem', job.idempotencyKey) : this.key('idem', '-');
    const [seq, done, claimed] = (await this.producer.eval(
      ENQUEUE_LUA,
      3,
      this.key('mr', key),
      idem,
      this.key('projects', 'all'),
      JSON.stringify(stored),
      String(job.receivedAt),
      job.idempotencyKey ? '1' : '0',
      String(this.o.dedupTtlSeconds),
      String(this.o.stateTtlSeconds),
      String(job.projectId),
      opts.soft ? '1' : '0',
    )) as [number, number, number];
    if (seq === -1) return 'duplicate';
    if (seq === -2) return 'coalesced';
    try {
      await this.queue.add('review', { key, projectId: job.projectId, mrIid: job.mrIid, seq });
    } catch (err) {
      // Not stored: let GitLab's redelivery (same Idempotency-Key) be accepted again.
      if (job.idempotencyKey) await this.producer.del(idem).catch(() => undefined);
      throw err;
    }
    this.refreshDepth();
    // An earlier event that no evaluation has taken yet will look at this one too.
    return seq - 1 > Math.max(done, claimed) ? 'coalesced' : 'queued';
  }

  start(handler: (job: ReviewJob) => Promise<void>): void {
    if (this.worker || this.closed) return;
    this.workerConn = this.connect({ maxRetriesPerRequest: null });
    this.worker = new Worker<QueueData>(this.o.queueName, (job, token) => this.process(job, token, handler), {
      connection: this.workerConn,
      prefix: this.o.prefix,
      concurrency: this.o.concurrency,
      lockDuration: this.o.lockDurationMs,
      stalledInterval: this.o.stalledIntervalMs,
      maxStalledCount: 2,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { id?: string }) => {
          const id = String(job?.id);
          const d = this.nextDelay.get(id);
          this.nextDelay.delete(id);
          return d ?? this.retry.backoff(attemptsMade);
        },
      },
    });
    this.worker.on('error', (err) => this.warn('redis worker error', err));
    quietAfterClose(this.worker);
    this.worker.on('completed', () => this.refreshDepth());
    this.worker.on('failed', () => this.refreshDepth());
    this.depthTimer = setInterval(() => this.refreshDepth(), 5000);
    this.depthTimer.unref();
  }

  private async process(job: Job<QueueData>, token: string | undefined, handler: (job: ReviewJob) => Promise<void>): Promise<string> {
    const conn = this.workerConn!;
    const { key, seq } = job.data;
    const jobId = String(job.id);
    const mrKey = this.key('mr', key);
    const lockKey = this.key('lock', key);
    const lockToken = randomUUID();

    const got = await conn.set(lockKey, lockToken, 'PX', this.o.mrLockMs, 'NX');
    if (got !== 'OK') {
      // Another replica evaluates this MR. Covered by its evaluation? Then nothing to do.
      const [done, claimSeq, claimJob] = await conn.hmget(mrKey, 'done', 'claimSeq', 'claimJob');
      if (seq <= Number(done ?? 0) || (seq <= Number(claimSeq ?? 0) && claimJob !== jobId)) return 'skipped: covered';
      await job.moveToDelayed(Date.now() + this.o.lockRetryMs + Math.floor(Math.random() * this.o.lockRetryMs), token);
      throw new DelayedError();
    }

    const renew = setInterval(() => {
      conn.eval(RENEW_LUA, 1, lockKey, lockToken, String(this.o.mrLockMs)).then(
        (ok) => {
          if (ok !== 1) this.warn('lost the merge request lock while reviewing', undefined, { mr: key });
        },
        (err: unknown) => this.warn('could not renew the merge request lock', err, { mr: key }),
      );
    }, Math.max(50, Math.floor(this.o.mrLockMs / 3)));
    this.renewals.add(renew);
    try {
      const claim = await this.claim(conn, mrKey, seq, jobId);
      if (!claim.run) return `skipped: ${claim.why}`;
      const attempt = job.attemptsMade + 1;
      const review: ReviewJob = { ...claim.job, attempt, ...(job.data.firstFailedAt !== undefined ? { firstFailedAt: job.data.firstFailedAt } : {}) };
      try {
        await handler(review);
      } catch (err) {
        // A newer event arrived meanwhile: its own job evaluates the newest head; no retry here.
        const latest = Number((await conn.hget(mrKey, 'seq')) ?? 0);
        const superseded = latest > claim.seq;
        const firstFailedAt = job.data.firstFailedAt ?? Date.now();
        const decision = this.retry.decide(err, attempt, Date.now() - firstFailedAt);
        const last = !decision.retry || attempt >= (job.opts.attempts ?? 1);
        this.opts.onError?.(review, err, !superseded && !last);
        if (superseded) return 'superseded after a failed attempt';
        if (last) {
          this.failedTotal?.inc();
          // Events up to this one are finished (failed for good): a catch-up may enqueue again.
          await conn.eval(DONE_LUA, 1, mrKey, String(claim.seq)).catch(() => undefined);
          try {
            await this.opts.onFinalFailure?.(review, err, { kind: decision.kind, why: decision.why ?? 'gave up' });
          } catch {
            // reported by onFinalFailure's own logging
          }
          throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
        }
        if (job.data.firstFailedAt === undefined) await job.updateData({ ...job.data, firstFailedAt }).catch(() => undefined);
        this.nextDelay.set(jobId, decision.delayMs);
        throw err;
      }
      await conn.eval(DONE_LUA, 1, mrKey, String(claim.seq));
      return 'evaluated';
    } finally {
      clearInterval(renew);
      this.renewals.delete(renew);
      await conn.eval(RELEASE_LUA, 1, lockKey, lockToken).catch((err: unknown) => this.warn('could not release the merge request lock', err, { mr: key }));
    }
  }

  private async claim(conn: Redis, mrKey: string, seq: number, jobId: string): Promise<ClaimResult> {
    const r = (await conn.eval(CLAIM_LUA, 1, mrKey, String(seq), jobId)) as [string, string, string?];
    if (r[0] !== 'run') return { run: false, why: r[1] };
    return { run: true, seq: Number(r[1]), job: JSON.parse(r[2]!) as ReviewJob };
  }

  /** Jobs waiting, delayed or running in the shared queue (all replicas). */
  async pending(): Promise<number> {
    const counts = await this.queue.getJobCounts(...PENDING_STATES);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Jobs in BullMQ's failed set (failed their last attempt). */
  async failedCount(): Promise<number> {
    return (await this.queue.getJobCounts('failed')).failed ?? 0;
  }

  private refreshDepth(): void {
    if (!this.opts.onDepth || this.closed) return;
    this.pending().then(
      (d) => this.opts.onDepth?.(d),
      () => undefined,
    );
  }

  /** Resolves when nothing is waiting, delayed or running in the shared queue (every replica's work). */
  async drain(): Promise<void> {
    for (;;) {
      if ((await this.pending()) === 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Stop taking jobs; wait (closeTimeoutMs at most) for this replica's running jobs. Waiting
   * jobs stay in Redis for the other replicas; a job still running at the timeout is recovered
   * by another replica once its lock expires.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.depthTimer) clearInterval(this.depthTimer);
      await this.stopWorker();
      await this.queue.close().catch(() => undefined);
      for (const c of [this.workerConn, this.producer]) {
        if (!c) continue;
        await c.quit().catch(() => c.disconnect());
      }
    })();
    return this.closing;
  }

  /**
   * Take no more jobs and wait (closeTimeoutMs at most) for this replica's running ones, while
   * enqueue keeps working: a draining replica still stores webhooks for the others.
   */
  stopWorker(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.worker) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          this.worker.close().then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), this.o.closeTimeoutMs);
          }),
        ]);
        if (timer) clearTimeout(timer);
        if (timedOut) {
          this.warn('running jobs did not finish in time; another replica takes them over');
          await this.worker.close(true).catch(() => undefined);
        }
      }
    })();
    return this.stopping;
  }

  /**
   * Stop dead, like a killed process: drop the Redis connections without finishing, failing
   * or releasing anything. Running jobs stay active in Redis until their locks expire and
   * another replica recovers them. For tests of crash recovery.
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.closing ??= Promise.resolve();
    if (this.depthTimer) clearInterval(this.depthTimer);
    for (const t of this.renewals) clearInterval(t);
    this.renewals.clear();
    this.workerConn?.disconnect();
    this.producer.disconnect();
    await this.worker?.close(true).catch(() => undefined);
    for (const c of [this.workerConn, this.producer]) c?.disconnect();
  }

  /** Delete every key under this queue's prefix and name (tests, benchmarks). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
    let cursor = '0';
    do {
      const [next, keys] = await this.producer.scan(cursor, 'MATCH', `${this.o.prefix}:${this.o.queueName}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await this.producer.del(...keys);
    } while (cursor !== '0');
  }
}
