/**
 * RedisQueue against the real Redis: dedup, coalescing per MR, one evaluation per MR at a time
 * across two queue instances, retries, final failure, crash recovery.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitLabError } from '../../src/gitlab/errors.js';
import type { ReviewJob } from '../../src/server/queue.js';
import { RedisQueue, type RedisQueueOptions } from '../../src/server/queue-redis.js';
import { REDIS_URL, ensureRedis, freshPrefix, until } from './redis-support.js';

beforeAll(ensureRedis);

const made: RedisQueue[] = [];
let prefix = freshPrefix();

function queue(opts: Partial<RedisQueueOptions> = {}): RedisQueue {
  const q = new RedisQueue({
    url: REDIS_URL,
    prefix,
    retryBaseMs: 5,
    retryMaxMs: 20,
    lockDurationMs: 1500,
    stalledIntervalMs: 300,
    mrLockMs: 1500,
    lockRetryMs: 20,
    closeTimeoutMs: 2000,
    ...opts,
  });
  made.push(q);
  return q;
}

afterEach(async () => {
  for (const q of made.splice(0)) await q.close();
  const cleaner = new RedisQueue({ url: REDIS_URL, prefix });
  await cleaner.obliterate();
  await cleaner.close();
  const r = new Redis(REDIS_URL);
  const left = await r.keys(`${prefix}:*`);
  await r.quit();
  expect(left).toEqual([]);
  prefix = freshPrefix();
});

let n = 0;
const job = (projectId: number, mrIid: number, sha: string, extra: Partial<ReviewJob> = {}): ReviewJob => ({
  projectId,
  mrIid,
  sha,
  reason: 'merge_request:update',
  deliveryId: `d${(n += 1)}`,
  receivedAt: Date.now() + n,
  ...extra,
});

const gate = () => {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
};

describe('RedisQueue', () => {
  it('runs a job, and a redelivery with the same Idempotency-Key is a duplicate', async () => {
    const q = queue();
    const seen: ReviewJob[] = [];
    q.start(async (j) => void seen.push(j));
    expect(await q.enqueue(job(1, 1, 'a', { idempotencyKey: 'k-1' }))).toBe('queued');
    expect(await q.enqueue(job(1, 1, 'a', { idempotencyKey: 'k-1' }))).toBe('duplicate');
    await q.drain();
    expect(seen.map((j) => [j.sha, j.attempt])).toEqual([['a', 1]]);
    expect(await q.pending()).toBe(0);
  });

  it('coalesces events for one MR that wait behind a running evaluation: the newest event wins', async () => {
    const q = queue({ concurrency: 4 });
    const g = gate();
    const seen: string[] = [];
    q.start(async (j) => {
      seen.push(j.sha);
      if (j.sha === 's1') await g.p;
    });
    expect(await q.enqueue(job(1, 7, 's1'))).toBe('queued');
    await until(() => seen.length === 1, 'first evaluation started');
    expect(await q.enqueue(job(1, 7, 's2'))).toBe('queued');
    expect(await q.enqueue(job(1, 7, 's3'))).toBe('coalesced');
    expect(await q.enqueue(job(1, 7, 's4'))).toBe('coalesced');
    // An older event delivered late does not replace the newest one.
    expect(await q.enqueue(job(1, 7, 's0', { receivedAt: 1 }))).toBe('coalesced');
    g.open();
    await q.drain();
    expect(seen).toEqual(['s1', 's4']);
  });

  it('two instances never evaluate one MR at the same time, and every MR ends evaluated at its newest event', async () => {
    const a = queue({ concurrency: 3 });
    const b = queue({ concurrency: 3 });
    const running = new Set<string>();
    let overlap = 0;
    const last = new Map<string, string>();
    const handler = async (j: ReviewJob) => {
      const key = `${j.projectId}:${j.mrIid}`;
      if (running.has(key)) overlap += 1;
      running.add(key);
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
      running.delete(key);
      last.set(key, j.sha);
    };
    a.start(handler);
    b.start(handler);
    const newest = new Map<string, string>();
    for (let round = 0; round < 6; round += 1) {
      await Promise.all(
        [1, 2, 3, 4].map(async (mr) => {
          const sha = `mr${mr}-r${round}`;
          newest.set(`9:${mr}`, sha);
          await (round % 2 ? a : b).enqueue(job(9, mr, sha));
        }),
      );
      await new Promise((r) => setTimeout(r, 3));
    }
    await a.drain();
    expect(overlap).toBe(0);
    expect(Object.fromEntries(last)).toEqual(Object.fromEntries(newest));
    expect(await a.pending()).toBe(0);
    expect(await a.failedCount()).toBe(0);
  });

  it('retries with backoff, then fails for good: reported once, kept in the failed set and counted', async () => {
    const registry = new Registry();
    const failures: [ReviewJob, unknown][] = [];
    const errors: boolean[] = [];
    const q = queue({ maxAttempts: 3, registry, onFinalFailure: (j, e) => void failures.push([j, e]), onError: (_j, _e, willRetry) => void errors.push(willRetry) });
    const attempts: number[] = [];
    q.start(async (j) => {
      attempts.push(j.attempt ?? 0);
      throw new Error('GitLab answered 502');
    });
    await q.enqueue(job(2, 3, 'x'));
    await q.drain();
    expect(attempts).toEqual([1, 2, 3]);
    expect(errors).toEqual([true, true, false]);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.[0]).toMatchObject({ projectId: 2, mrIid: 3, sha: 'x', attempt: 3 });
    expect(String(failures[0]?.[1])).toContain('502');
    expect(await q.failedCount()).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('tierguard_review_jobs_failed_total 1');
    expect(text).toContain('tierguard_queue_jobs{state="failed"} 1');
  });

  it('transient GitLab failures are retried for the retry window, then given up once; permanent ones are not retried', async () => {
    const failures: [ReviewJob, string, string][] = [];
    const q = queue({ retryWindowMs: 400, retryBaseMs: 20, retryMaxMs: 80, onFinalFailure: (j, _e, info) => void failures.push([j, info.kind, info.why]) });
    const attempts: Record<number, number> = {};
    q.start(async (j) => {
      attempts[j.projectId] = (attempts[j.projectId] ?? 0) + 1;
      if (j.projectId === 7) throw new GitLabError({ status: 503, route: 'GET /projects/:id', message: 'down', transient: true });
      throw new GitLabError({ status: 403, route: 'GET /projects/:id', message: 'forbidden' });
    });
    await q.enqueue(job(7, 1, 'x'));
    await q.enqueue(job(8, 1, 'y'));
    await q.drain();
    // More than the 3 attempts of other failures: the window decides.
    expect(attempts[7]).toBeGreaterThan(3);
    expect(attempts[8]).toBe(1);
    expect(failures.map(([j, kind]) => [j.projectId, kind]).sort()).toEqual([
      [7, 'transient'],
      [8, 'permanent'],
    ]);
    expect(failures.find(([j]) => j.projectId === 7)![2]).toMatch(/^gave up after \d+ attempts over \d+ s \(GitLab kept failing\)$/);
    expect(failures.find(([j]) => j.projectId === 7)![0].firstFailedAt).toBeTypeOf('number');
    expect(await q.failedCount()).toBe(2);
  });

  it('remembers the projects of accepted events; a soft (catch-up) enqueue leaves an MR with pending work alone', async () => {
    const q = queue();
    expect(await q.enqueue(job(11, 1, 'a'))).toBe('queued');
    expect(await q.enqueue(job(11, 1, 'a', { reason: 'reconcile' }), { soft: true })).toBe('coalesced');
    await q.rememberProject(12);
    expect((await q.knownProjects()).sort()).toEqual([11, 12]);
    const seen: string[] = [];
    q.start(async (j) => void seen.push(j.sha));
    await q.drain();
    expect(await q.enqueue(job(11, 1, 'b', { reason: 'reconcile' }), { soft: true })).toBe('queued');
    await q.drain();
    expect(seen).toEqual(['a', 'b']);
  });

  it('a failing attempt that a newer event supersedes is neither retried nor reported; the newer event is evaluated', async () => {
    const failures: ReviewJob[] = [];
    const q = queue({ maxAttempts: 3, onFinalFailure: (j) => void failures.push(j) });
    const g = gate();
    const seen: string[] = [];
    q.start(async (j) => {
      seen.push(j.sha);
      if (j.sha === 'old') {
        await g.p;
        throw new Error('boom');
      }
    });
    await q.enqueue(job(3, 1, 'old'));
    await until(() => seen.length === 1, 'first evaluation started');
    await q.enqueue(job(3, 1, 'new'));
    g.open();
    await q.drain();
    expect(seen).toEqual(['old', 'new']);
    expect(failures).toEqual([]);
    expect(await q.failedCount()).toBe(0);
  });

  it('an instance that dies mid-job leaves the job to another instance, which completes it', async () => {
    const a = queue({ concurrency: 1 });
    const b = queue({ concurrency: 1 });
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.start(async (j) => {
      seenA.push(j.sha);
      await new Promise(() => undefined); // hangs: the process is about to die
    });
    await a.enqueue(job(4, 2, 'h1'));
    await until(() => seenA.length === 1, 'instance A took the job');
    await a.abandon();
    b.start(async (j) => void seenB.push(j.sha));
    await b.drain();
    expect(seenB).toEqual(['h1']);
    expect(await b.pending()).toBe(0);
    expect(await b.failedCount()).toBe(0);
  });

  it('a restarted instance picks up the job it was running when it died', async () => {
    const a = queue({ concurrency: 1 });
    let started = 0;
    a.start(async () => {
      started += 1;
      await new Promise(() => undefined);
    });
    await a.enqueue(job(5, 1, 'r1'));
    await until(() => started === 1, 'job started');
    await a.abandon();
    const again = queue({ concurrency: 1 });
    const seen: ReviewJob[] = [];
    again.start(async (j) => void seen.push(j));
    await again.drain();
    expect(seen.map((j) => j.sha)).toEqual(['r1']);
  });

  it('enqueue fails (and nothing is recorded as seen) when Redis does not answer', async () => {
    const q = new RedisQueue({ url: 'redis://127.0.0.1:1', prefix, closeTimeoutMs: 100 });
    made.push(q);
    await expect(q.enqueue(job(6, 1, 'z', { idempotencyKey: 'k-z' }))).rejects.toThrow();
  });
});
