import { describe, expect, it } from 'vitest';
import { GitLabError } from '../../src/gitlab/errors.js';
import { MemoryQueue, type ReviewJob } from '../../src/server/queue.js';

let t = 0;
const job = (iid: number, sha: string, over: Partial<ReviewJob> = {}): ReviewJob => ({
  projectId: 1,
  mrIid: iid,
  sha,
  reason: 'merge_request:push',
  deliveryId: `d-${sha}`,
  receivedAt: (t += 1),
  ...over,
});

/** A handler whose calls finish only when the test says so. */
function gated() {
  const started: ReviewJob[] = [];
  const gates: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  const handler = async (j: ReviewJob) => {
    started.push(j);
    active += 1;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((r) => gates.push(r));
    active -= 1;
  };
  const releaseAll = async () => {
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { started, handler, releaseAll, gates, maxActive: () => maxActive };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('MemoryQueue', () => {
  it('coalesces pending jobs for the same MR: only the newest is run', async () => {
    const q = new MemoryQueue({ concurrency: 1 });
    const g = gated();
    await q.enqueue(job(1, 'a'));
    expect(await q.enqueue(job(2, 'x'))).toBe('queued');
    expect(await q.enqueue(job(2, 'y'))).toBe('coalesced');
    expect(await q.enqueue(job(2, 'z'))).toBe('coalesced');
    q.start(g.handler);
    await tick();
    const drained = q.drain();
    while (g.gates.length || q.depth) {
      await g.releaseAll();
      await tick();
    }
    await drained;
    expect(g.started.map((j) => j.sha)).toEqual(['a', 'z']);
  });

  it('a running MR gets at most one rerun, with the newest sha', async () => {
    const q = new MemoryQueue({ concurrency: 4 });
    const g = gated();
    q.start(g.handler);
    await q.enqueue(job(1, 'a'));
    await tick();
    expect(g.started.map((j) => j.sha)).toEqual(['a']);
    await q.enqueue(job(1, 'b'));
    await q.enqueue(job(1, 'c'));
    await tick();
    expect(g.started).toHaveLength(1); // never two runs of one MR at once
    const drained = q.drain();
    while (g.gates.length || q.depth) {
      await g.releaseAll();
      await tick();
    }
    await drained;
    expect(g.started.map((j) => j.sha)).toEqual(['a', 'c']);
  });

  it('bounds concurrency across MRs', async () => {
    const q = new MemoryQueue({ concurrency: 2 });
    const g = gated();
    q.start(g.handler);
    for (let i = 1; i <= 5; i++) await q.enqueue(job(i, `s${i}`));
    await tick();
    expect(g.started).toHaveLength(2);
    expect(q.depth).toBe(5);
    const drained = q.drain();
    while (g.gates.length || q.depth) {
      await g.releaseAll();
      await tick();
    }
    await drained;
    expect(g.started).toHaveLength(5);
    expect(g.maxActive()).toBe(2);
  });

  it('deduplicates by Idempotency-Key within a bounded memory', async () => {
    const q = new MemoryQueue({ dedupSize: 2 });
    expect(await q.enqueue(job(1, 'a', { idempotencyKey: 'k1' }))).toBe('queued');
    expect(await q.enqueue(job(2, 'a', { idempotencyKey: 'k1' }))).toBe('duplicate');
    await q.enqueue(job(3, 'a', { idempotencyKey: 'k2' }));
    await q.enqueue(job(4, 'a', { idempotencyKey: 'k3' }));
    // k1 was evicted (LRU of 2).
    expect(await q.enqueue(job(5, 'a', { idempotencyKey: 'k1' }))).toBe('queued');
  });

  it('retries a failing job with backoff, then reports the final failure once', async () => {
    const failures: { job: ReviewJob; err: unknown }[] = [];
    const attempts: number[] = [];
    const q = new MemoryQueue({ maxAttempts: 3, retryBaseMs: 1, retryMaxMs: 2, onFinalFailure: (j, err) => void failures.push({ job: j, err }) });
    q.start(async (j) => {
      attempts.push(j.attempt!);
      throw new Error('GitLab is down');
    });
    await q.enqueue(job(1, 'a'));
    await q.drain();
    expect(attempts).toEqual([1, 2, 3]);
    expect(failures).toHaveLength(1);
    expect((failures[0]?.err as Error).message).toBe('GitLab is down');
  });

  it('a job that succeeds on retry reports no failure', async () => {
    const failures: unknown[] = [];
    let n = 0;
    const q = new MemoryQueue({ maxAttempts: 3, retryBaseMs: 1, onFinalFailure: (_j, e) => void failures.push(e) });
    q.start(async () => {
      n += 1;
      if (n === 1) throw new Error('transient');
    });
    await q.enqueue(job(1, 'a'));
    await q.drain();
    expect(n).toBe(2);
    expect(failures).toEqual([]);
  });

  it('transient GitLab failures are retried for the window (virtual clock), permanent ones never', async () => {
    let now = 0;
    const failures: [number, string, string][] = [];
    const attempts = new Map<number, number>();
    const q = new MemoryQueue({
      retryWindowMs: 60_000,
      retryBaseMs: 1000,
      retryMaxMs: 8000,
      random: () => 1,
      now: () => now,
      setTimer: (fn, ms) => {
        const t = setTimeout(() => {
          now += ms;
          fn();
        }, 0);
        return { cancel: () => clearTimeout(t) };
      },
      onFinalFailure: (j, _e, info) => void failures.push([j.mrIid, info.kind, info.why]),
    });
    q.start(async (j) => {
      attempts.set(j.mrIid, (attempts.get(j.mrIid) ?? 0) + 1);
      throw new GitLabError({ status: j.mrIid === 1 ? 502 : 404, route: 'GET /projects/:id', message: 'x', transient: j.mrIid === 1 });
    });
    await q.enqueue(job(1, 'a'));
    await q.enqueue(job(2, 'b'));
    await q.drain();
    // 1+2+4+8+8+8+8+8+8 s of backoff, then the last 5 s to the end of the 60 s window: 11 attempts.
    expect(attempts.get(1)).toBe(11);
    expect(attempts.get(2)).toBe(1);
    expect(failures).toEqual([
      [2, 'permanent', 'not retried (permanent error)'],
      [1, 'transient', 'gave up after 11 attempts over 60 s (GitLab kept failing)'],
    ]);
  });

  it('a soft (catch-up) enqueue leaves an MR with queued or running work alone; drainActive ignores jobs waiting for a retry', async () => {
    const q = new MemoryQueue({ retryBaseMs: 60_000 });
    const g = gated();
    q.start(g.handler);
    expect(await q.enqueue(job(1, 'a'))).toBe('queued');
    await tick();
    expect(await q.enqueue(job(1, 'b', { reason: 'reconcile' }), { soft: true })).toBe('coalesced');
    expect(await q.knownProjects()).toEqual([1]);
    await g.releaseAll();
    await q.drainActive();
    expect(g.started.map((j) => j.sha)).toEqual(['a']);

    const failing = new MemoryQueue({ retryBaseMs: 60_000 });
    failing.start(async () => {
      throw new Error('boom');
    });
    await failing.enqueue(job(2, 'x'));
    await failing.drainActive(); // resolves although a retry is scheduled a minute from now
    expect(failing.depth).toBe(1);
    await failing.close();
  });

  it('jobs are plain JSON', () => {
    const j = job(1, 'a', { idempotencyKey: 'k', actorId: 3 });
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it('close waits for running work and refuses new jobs', async () => {
    const q = new MemoryQueue();
    const g = gated();
    q.start(g.handler);
    await q.enqueue(job(1, 'a'));
    await tick();
    let closed = false;
    const closing = q.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    await g.releaseAll();
    await closing;
    expect(closed).toBe(true);
    await expect(q.enqueue(job(2, 'b'))).rejects.toThrow(/closed/);
  });
});
