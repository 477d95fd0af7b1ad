/**
 * REDIS_URL mode end to end: two tierguard instances sharing one real Redis and one fake
 * GitLab, many webhook deliveries for several MRs, one instance killed in the middle of an
 * evaluation (its GitLab call landed, the answer never came, its Redis connections dropped).
 * Every MR must end with the right status, one discussion per finding, no job left behind.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { RedisQueue } from '../../src/server/queue-redis.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest } from '../support/fake-gitlab.js';
import { CLEAN_CI, FIXED_CI, SECRET, UNSAFE_CI, mrHook, policyDir, pushToMr } from './helpers.js';
import { REDIS_URL, ensureRedis, freshPrefix, until } from './redis-support.js';

beforeAll(ensureRedis);

/**
 * A loopback HTTP proxy to the fake GitLab for one instance. `gate`: hold every request until
 * opened. `trip(pred)`: the first matching request is forwarded (its effect lands) but its
 * answer never arrives, and every later request hangs: the instance is frozen mid-evaluation.
 */
interface Proxy {
  url: string;
  tripped: Promise<string>;
  openGate(): void;
  close(): Promise<void>;
}

async function startProxy(upstream: string, opts: { gated?: boolean; trip?: (method: string, path: string) => boolean } = {}): Promise<Proxy> {
  const target = new URL(upstream);
  let frozen = false;
  let onTrip!: (what: string) => void;
  const tripped = new Promise<string>((r) => (onTrip = r));
  let openGate!: () => void;
  const gate = opts.gated ? new Promise<void>((r) => (openGate = r)) : Promise.resolve();
  openGate ??= () => undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    await gate;
    if (frozen) return; // never answered
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const tripNow = opts.trip?.(method, path) ?? false;
    if (tripNow) frozen = true;
    const up = request({ host: target.hostname, port: target.port, method, path: req.url, headers: req.headers }, (upRes) => {
      if (tripNow) {
        upRes.resume();
        upRes.on('end', () => onTrip(`${method} ${path}`));
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end(Buffer.concat(chunks));
  };
  const server: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tripped,
    openGate,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let gl: FakeGitLab;
let prefix: string;
const servers: RunningServer[] = [];
const proxies: Proxy[] = [];

afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
  for (const s of servers.splice(0)) await s.close();
  await gl?.close();
  const cleaner = new RedisQueue({ url: REDIS_URL, prefix });
  await cleaner.obliterate();
  await cleaner.close();
});

async function start(gitlabUrl: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadConfig({
    GITLAB_URL: gitlabUrl,
    GITLAB_TOKEN: gl.token,
    WEBHOOK_SECRET: SECRET,
    POLICY_DIR: policyDir(),
    LOG_LEVEL: 'silent',
    CONCURRENCY: '2',
    REDIS_URL,
    // These scenarios judge the YAML; live checks against GitLab state: test/server/live-review.test.ts.
    LIVE_CHECKS: 'off',
    // Webhook-driven scenarios: the catch-up at start is tested in faults.test.ts.
    RECONCILE_INTERVAL_SECONDS: '0',
    ...env,
  });
  const s = await startServer({
    config,
    port: 0,
    host: '127.0.0.1',
    gitlab: { retry: { retries: 3, baseMs: 1, maxMs: 5 }, timeoutMs: 30_000, ambiguousSettleMs: 1 },
    queue: { retryBaseMs: 5, retryMaxMs: 20, maxAttempts: 3 },
    redisQueue: { prefix, lockDurationMs: 1500, stalledIntervalMs: 300, mrLockMs: 1500, lockRetryMs: 20, closeTimeoutMs: 2000 },
    reviewer: { paceMs: 0 },
    drainTimeoutMs: 5000,
  });
  servers.push(s);
  return s;
}

async function deliver(s: RunningServer, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${s.url}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET, ...headers },
    body: JSON.stringify(body),
  });
}

const statusesOf = (sha: string, projectId: number) => gl.state.statuses.filter((s) => s.sha === sha && s.name === 'tierguard' && s.projectId === projectId);
const inline = (mr: FakeMergeRequest) => mr.discussions.filter((d) => d.notes[0].authorId === gl.botUser.id && d.notes[0].position !== null);
const summaries = (mr: FakeMergeRequest) => mr.discussions.filter((d) => d.notes[0].authorId === gl.botUser.id && d.notes[0].body.includes('<!-- tierguard:summary -->'));

describe('two instances sharing Redis', () => {
  it('one killed mid-evaluation: every MR ends with the right status, one discussion per finding, no job left behind', async () => {
    prefix = freshPrefix();
    gl = await startFakeGitLab();
    const base = { '.gitlab-ci.yml': CLEAN_CI };

    // Baseline: what one instance alone posts for the unsafe change (in-memory queue).
    const lone = await start(gl.url, { REDIS_URL: '' });
    const refProject = gl.addProject({ path: 'acme/reference' });
    const ref = gl.addMergeRequest(refProject.id, { base, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    await deliver(lone, mrHook(gl, ref, { action: 'open' }));
    await lone.queue.drain();
    const perFinding = inline(ref).length;
    expect(perFinding).toBeGreaterThanOrEqual(2);
    await lone.close();

    const mrs = Array.from({ length: 6 }, (_, i) => {
      const p = gl.addProject({ path: `acme/app${i + 1}` });
      return gl.addMergeRequest(p.id, { base, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    });
    // A freezes on its first inline discussion (the note lands, the answer never comes);
    // B's GitLab calls wait until then, so A surely takes some of the first jobs.
    // Only on MRs that stay unsafe, so the note A posted must not be doubled by B.
    const staysUnsafe = new Set(mrs.filter((_, i) => i % 2 === 1).map((m) => m.projectId));
    const proxyA = await startProxy(gl.url, {
      trip: (m, p) => m === 'POST' && /\/merge_requests\/\d+\/discussions$/.test(p) && staysUnsafe.has(Number(/projects\/(\d+)\//.exec(p)?.[1])),
    });
    const proxyB = await startProxy(gl.url, { gated: true });
    proxies.push(proxyA, proxyB);
    const a = await start(proxyA.url);
    const b = await start(proxyB.url);
    expect(a.queue).toBeInstanceOf(RedisQueue);
    expect(b.queue).toBeInstanceOf(RedisQueue);

    let k = 0;
    for (const mr of mrs) {
      for (const s of [a, b]) {
        const res = await deliver(s, mrHook(gl, mr, { action: k % 2 ? 'reopen' : 'open' }), { 'idempotency-key': `key-${(k += 1)}` });
        expect(res.status).toBe(202);
      }
    }
    const frozenOn = await proxyA.tripped;
    expect(frozenOn).toMatch(/^POST \/api\/v4\/projects\/\d+\/merge_requests\/\d+\/discussions$/);
    const frozenProject = Number(/projects\/(\d+)\//.exec(frozenOn)![1]);
    // Kill A: connections dropped, nothing finished or released; its webhook port goes away too.
    await (a.queue as RedisQueue).abandon();
    await a.app.close();
    proxyB.openGate();

    // More work after the kill, all to B: fixes for odd MRs, repeated and redelivered events for even ones.
    for (const [i, mr] of mrs.entries()) {
      if (i % 2 === 0) {
        const { oldrev } = pushToMr(gl, mr, base, { '.gitlab-ci.yml': FIXED_CI }, { pipeline: true });
        expect((await deliver(b, mrHook(gl, mr, { action: 'update', oldrev }), { 'idempotency-key': `fix-${i}` })).status).toBe(202);
        const again = await deliver(b, mrHook(gl, mr, { action: 'update', oldrev }), { 'idempotency-key': `fix-${i}` });
        expect(await again.json()).toEqual({ status: 'duplicate' });
      } else if (mr.projectId !== frozenProject) {
        // (No new event for the MR A froze on: only the recovery of A's job can finish it.)
        for (let j = 0; j < 3; j += 1) expect((await deliver(b, mrHook(gl, mr, { action: 'reopen' }))).status).toBe(202);
      }
    }

    await b.queue.drain();
    const rq = b.queue as RedisQueue;
    expect(await rq.pending()).toBe(0);
    expect(await rq.failedCount()).toBe(0);
    const r = new Redis(REDIS_URL);
    try {
      expect(await r.keys(`${prefix}:*:tg:lock:*`)).toEqual([]);
    } finally {
      await r.quit();
    }

    for (const [i, mr] of mrs.entries()) {
      const last = statusesOf(mr.headSha, mr.projectId).at(-1);
      const threads = inline(mr);
      const bodies = threads.map((d) => d.notes[0].body);
      expect(new Set(bodies).size, `MR ${i + 1}: doubled discussion`).toBe(bodies.length);
      expect(summaries(mr), `MR ${i + 1}: one summary`).toHaveLength(1);
      if (i % 2 === 0) {
        // Whether the unsafe head was evaluated before the fix arrived depends on timing
        // (coalescing may skip it); what was posted is resolved, nothing is doubled.
        expect(threads.length, `MR ${i + 1}: at most one discussion per finding`).toBeLessThanOrEqual(perFinding);
        expect(last?.state, `MR ${i + 1}: fixed head`).toBe('success');
        expect(threads.every((d) => d.notes.every((n) => n.resolved))).toBe(true);
      } else {
        expect(threads, `MR ${i + 1}: one discussion per finding`).toHaveLength(perFinding);
        expect(last?.state, `MR ${i + 1}: unsafe head`).toBe('failed');
        expect(last?.description).toMatch(/blocking/);
        expect(threads.some((d) => d.notes[0].resolved)).toBe(false);
      }
    }
    // The frozen MR was finished by B from A's recovered job, keeping A's note (not doubled).
    const frozen = mrs.find((m) => m.projectId === frozenProject)!;
    expect(inline(frozen)).toHaveLength(perFinding);
    const doneByB = await b.metrics.registry.getSingleMetricAsString('tierguard_evaluations_total');
    expect(doneByB).toMatch(/result="failed"/);
  });

  it('a job that keeps failing ends failed: retried, the MR status says so, counted in metrics', async () => {
    prefix = freshPrefix();
    gl = await startFakeGitLab();
    const s = await start(gl.url);
    const project = gl.addProject({ path: 'acme/broken' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    gl.failNext(`GET /projects/${project.id}/merge_requests/${mr.iid}/changes`, { status: 500, count: 1000 });
    expect((await deliver(s, mrHook(gl, mr, { action: 'open' }))).status).toBe(202);
    await s.queue.drain();

    const diffsCalls = gl.requests.filter((r) => r.path === `/projects/${project.id}/merge_requests/${mr.iid}/changes`);
    expect(diffsCalls.length).toBeGreaterThanOrEqual(3); // three attempts (each with its own HTTP retries)
    const last = statusesOf(mr.headSha, project.id).at(-1);
    expect(last?.state).toBe('failed');
    expect(last?.description).toMatch(/^tierguard could not evaluate/);
    expect(await (s.queue as RedisQueue).failedCount()).toBe(1);
    const text = await s.metrics.registry.metrics();
    expect(text).toContain('tierguard_review_jobs_failed_total 1');
    expect(text).toContain('tierguard_queue_jobs{state="failed"} 1');
    expect(text).toMatch(/tierguard_evaluations_total\{result="error"\} 3/);
  });

  it('the webhook answers 5xx, not 2xx, when Redis cannot store the delivery', async () => {
    prefix = freshPrefix();
    gl = await startFakeGitLab();
    const s = await start(gl.url, { REDIS_URL: 'redis://127.0.0.1:1' });
    const project = gl.addProject({ path: 'acme/app' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI } });
    const res = await deliver(s, mrHook(gl, mr, { action: 'open' }));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(gl.state.statuses).toEqual([]);
  });
});

describe('draining with Redis', () => {
  it('close(): /readyz 503 at once, webhooks still stored for the other replicas, the review in flight finishes', async () => {
    prefix = freshPrefix();
    gl = await startFakeGitLab();
    const a = await start(gl.url);
    const p = gl.addProject({ path: 'acme/drain-redis' });
    const first = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const second = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    gl.slowNext(`GET /projects/${p.id}/merge_requests/${first.iid}/changes`, 800);
    expect((await deliver(a, mrHook(gl, first, { action: 'open' }))).status).toBe(202);
    await until(() => gl.requests.some((r) => r.path === `/projects/${p.id}/merge_requests/${first.iid}/changes`), 'the review reached the slow call');

    const closing = a.close();
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    // Taken into Redis while draining (another replica reviews it), not refused.
    expect((await deliver(a, mrHook(gl, second, { action: 'open' }))).status).toBe(202);
    await closing;
    expect(statusesOf(first.headSha, p.id).at(-1)?.state).toBe('failed');
    expect(inline(first).length).toBeGreaterThan(0);
    expect(statusesOf(second.headSha, p.id)).toEqual([]);

    // Another replica picks the stored delivery up.
    const b = await start(gl.url);
    await b.queue.drain();
    expect(statusesOf(second.headSha, p.id).at(-1)?.state).toBe('failed');
  });
});
