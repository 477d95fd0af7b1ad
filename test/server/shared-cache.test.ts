/**
 * REDIS_URL mode: the per-project cache (project, protected refs, project policy file, live
 * reads) is shared by every replica through Redis. Two services on one real Redis and one fake
 * GitLab, each with its own in-memory queue so each reviews exactly what it was sent; calls are
 * counted on the fake GitLab.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withProjectCache } from '../../src/gitlab/cached-api.js';
import { GitLabError } from '../../src/gitlab/errors.js';
import { jsonCodec, ProjectCache } from '../../src/gitlab/project-cache.js';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { loadConfig } from '../../src/server/config.js';
import { RedisProjectStore } from '../../src/server/project-cache-redis.js';
import { MemoryQueue } from '../../src/server/queue.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { startFakeGitLab, type FakeGitLab, projectReads, rawReadsSince, routesSince, totalCalls as total } from '../support/fake-gitlab.js';
import { CLEAN_CI, SECRET, UNSAFE_CI, mrHook, policyDir, deliverHook as deliver } from './helpers.js';
import { REDIS_URL, ensureRedis, freshPrefix } from './redis-support.js';

beforeAll(ensureRedis);

let gl: FakeGitLab | undefined;
let prefix: string;
const servers: RunningServer[] = [];
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const c of closers.splice(0)) await c();
  await gl?.close();
  gl = undefined;
  const r = new Redis(REDIS_URL);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
});

/** A replica: REDIS_URL set (the shared cache), its own in-memory queue. */
async function replica(env: Record<string, string> = {}, opts: { cacheUrl?: string; logs?: string[] } = {}): Promise<RunningServer> {
  const g = gl!;
  const s = await startServer({
    config: loadConfig({
      GITLAB_URL: g.url,
      GITLAB_TOKEN: g.token,
      WEBHOOK_SECRET: SECRET,
      POLICY_DIR: policyDir(),
      LOG_LEVEL: opts.logs ? 'warn' : 'silent',
      LIVE_CHECKS: 'off',
      RECONCILE_INTERVAL_SECONDS: '0',
      REDIS_URL,
      ...env,
    }),
    port: 0,
    host: '127.0.0.1',
    gitlab: { retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 5000, ambiguousSettleMs: 1 },
    workQueue: new MemoryQueue({ concurrency: 1 }),
    redisQueue: { prefix },
    ...(opts.cacheUrl ? { sharedCache: { url: opts.cacheUrl } } : {}),
    ...(opts.logs ? { logDestination: { write: (line: string) => void opts.logs?.push(line) } } : {}),
    reviewer: { paceMs: 0 },
  });
  servers.push(s);
  await s.api.currentUser();
  return s;
}

/** Two replicas of the fake GitLab started by the test, sharing the project cache under a fresh key prefix. */
async function twoReplicas(env: Record<string, string> = {}): Promise<[RunningServer, RunningServer]> {
  prefix = freshPrefix();
  return [await replica(env), await replica(env)];
}

const routes = (from: number) => routesSince(gl!.requests, from);
const rawReads = (from: number) => rawReadsSince(gl!.requests, from);
const verdict = (sha: string) => gl!.state.statuses.filter((s) => s.sha === sha && s.name === 'tierguard').map((s) => ({ state: s.state, description: s.description })).at(-1);

const ROOT = `stages: [build, test]\ninclude:\n  - local: ci/build.yml\n  - local: ci/test.yml\n`;
const BUILD = `build:\n  stage: build\n  tags: [ci-general]\n  script: [make]\n`;
const TEST = (cmd: string) => `unit:\n  stage: test\n  tags: [ci-general]\n  script: [${cmd}]\n`;
const BASE = { '.gitlab-ci.yml': ROOT, 'ci/build.yml': BUILD, 'ci/test.yml': TEST('make test'), 'README.md': 'a\n' };
const N = 3;

describe('the project cache shared by replicas through Redis', () => {
  it("a second replica's first review of a project the first one reviewed reads no project, protected refs or policy file", async () => {
    gl = await startFakeGitLab();
    const [a, b] = await twoReplicas();
    const project = gl.addProject({ path: 'acme/app' });
    const mr1 = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make check') }, headPipeline: true });

    let mark = gl.requests.length;
    expect(await deliver(a, 'Merge Request Hook', mrHook(gl, mr1, { action: 'open' }))).toBe(202);
    const cold = routes(mark);
    expect(projectReads(cold)).toEqual([1, 1, 1]);
    // N files at the head; at the base the one file the MR changed and the policy file.
    expect(cold['GET /projects/:id/repository/files/:path/raw']).toBe(N + 1 + 1);
    expect(total(cold)).toBe(N + 1 + 1 + 3 + 5);

    // Replica B never saw the project; the target branch moved (a new base sha).
    const moved = { ...BASE, 'README.md': 'b\n' };
    const mr2 = gl.addMergeRequest(project.id, { base: moved, head: { ...moved, 'ci/test.yml': TEST('make bench') }, headPipeline: true });
    mark = gl.requests.length;
    expect(await deliver(b, 'Merge Request Hook', mrHook(gl, mr2, { action: 'open' }))).toBe(202);
    const second = routes(mark);
    expect(projectReads(second)).toEqual([0, 0, 0]);
    expect(rawReads(mark).some((r) => r.startsWith('.gitlab/tierguard.yml@'))).toBe(false);
    expect(second).toEqual({
      'GET /projects/:id/merge_requests/:iid': 1,
      'GET /projects/:id/merge_requests/:iid/changes': 1,
      'GET /projects/:id/repository/files/:path/raw': N + 1,
      'POST /projects/:id/statuses/:sha': 2,
      'POST /projects/:id/merge_requests/:iid/notes': 1,
    });
    expect(total(second)).toBe(N + 1 + 5);
    expect(verdict(mr2.headSha)?.state).toBe('success');
  });

  it('with live checks on, the live reads are shared too', async () => {
    gl = await startFakeGitLab();
    const [a, b] = await twoReplicas({ LIVE_CHECKS: 'on' });
    gl.addGroup('acme');
    const project = gl.addProject({ path: 'acme/app' });
    const mr1 = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    let mark = gl.requests.length;
    await deliver(a, 'Merge Request Hook', mrHook(gl, mr1, { action: 'open' }));
    const first = routes(mark);
    expect(first['GET /projects/:id/variables']).toBe(1);
    expect(first['GET /projects/:id/runners']).toBe(1);

    const mr2 = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    mark = gl.requests.length;
    await deliver(b, 'Merge Request Hook', mrHook(gl, mr2, { action: 'open' }));
    const second = routes(mark);
    for (const route of ['GET /projects/:id', 'GET /projects/:id/variables', 'GET /projects/:id/runners', 'GET /projects/:id/protected_environments', 'GET /groups/acme/variables']) expect(second[route] ?? 0, route).toBe(0);
    expect(verdict(mr2.headSha)).toEqual(verdict(mr1.headSha));
  });

  it("an invalidation on one replica is seen by the other's next review (system hook, and a merge request hook showing other settings)", async () => {
    gl = await startFakeGitLab();
    const [a, b] = await twoReplicas();
    const project = gl.addProject({ path: 'acme/app' });
    const mr1 = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make check') }, headPipeline: true });
    await deliver(a, 'Merge Request Hook', mrHook(gl, mr1, { action: 'open' }));

    // project_update on A (app/services/system_hooks_service.rb): B reads everything again.
    expect(await deliver(a, 'System Hook', { event_name: 'project_update', project_id: project.id, path_with_namespace: 'acme/app' })).toBe(200);
    const mr2 = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make bench') }, headPipeline: true });
    let mark = gl.requests.length;
    await deliver(b, 'Merge Request Hook', mrHook(gl, mr2, { action: 'open' }));
    expect(projectReads(routes(mark))).toEqual([1, 1, 1]);
    expect(rawReads(mark)).toContain(`.gitlab/tierguard.yml@${mr2.baseSha.slice(0, 7)}`);

    // The CI config path changes; a merge request hook showing it reaches A (whose own review
    // reads the project again); B's next review uses the new path without reading the project.
    gl.state.projects.get(project.id)!.ciConfigPath = 'ci/root.yml';
    const withRoot = { ...BASE, 'ci/root.yml': ROOT };
    const mr3 = gl.addMergeRequest(project.id, { base: withRoot, head: { ...withRoot, 'ci/test.yml': TEST('make lint') }, headPipeline: true });
    mark = gl.requests.length;
    await deliver(a, 'Merge Request Hook', mrHook(gl, mr3, { action: 'open' }));
    expect(routes(mark)['GET /projects/:id']).toBe(1);
    const mr4 = gl.addMergeRequest(project.id, { base: withRoot, head: { ...withRoot, 'ci/test.yml': TEST('make fmt') }, headPipeline: true });
    mark = gl.requests.length;
    await deliver(b, 'Merge Request Hook', mrHook(gl, mr4, { action: 'open' }));
    expect(routes(mark)['GET /projects/:id'] ?? 0).toBe(0);
    expect(rawReads(mark)).toContain(`ci/root.yml@${mr4.headSha.slice(0, 7)}`);
  });

  it('a settled 403 (protected tags, Developer token) is shared and comes back as the same GitLabError', async () => {
    gl = await startFakeGitLab();
    const [a, b] = await twoReplicas();
    const project = gl.addProject({ path: 'acme/app' });
    project.roles.set(gl.botUser.id, 30);
    const mr1 = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make check') }, headPipeline: true });
    let mark = gl.requests.length;
    await deliver(a, 'Merge Request Hook', mrHook(gl, mr1, { action: 'open' }));
    const first = routes(mark);
    expect(first['GET /projects/:id/protected_tags']).toBe(1);
    expect(first['GET /projects/:id/repository/tags']).toBe(1);

    const mr2 = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make bench') }, headPipeline: true });
    mark = gl.requests.length;
    await deliver(b, 'Merge Request Hook', mrHook(gl, mr2, { action: 'open' }));
    const second = routes(mark);
    expect(second['GET /projects/:id/protected_tags'] ?? 0).toBe(0);
    expect(second['GET /projects/:id/repository/tags'] ?? 0).toBe(0);
    // B fell back the same way: the summary says the tag rules were not readable.
    const summary = mr2.discussions.flatMap((d) => d.notes.map((n) => n.body)).find((t) => t.includes('<!-- tierguard:summary -->'));
    expect(summary).toContain('Protected tag rules not readable');
    expect(verdict(mr2.headSha)).toEqual(verdict(mr1.headSha));

    // The error itself: status, route and message as the adapter threw it.
    const denied = new GitLabError({ status: 403, route: 'GET /projects/:id/protected_tags', message: '403 Forbidden' });
    let calls = 0;
    const stub = { listProtectedTags: () => (calls++, Promise.reject(denied)) } as unknown as GitLabApi;
    const cached = async () => {
      const store = new RedisProjectStore({ url: REDIS_URL, prefix });
      closers.push(() => store.close());
      expect(await store.ready(2000)).toBe(true);
      return withProjectCache(stub, new ProjectCache({ shared: store }));
    };
    const one = await (await cached()).listProtectedTags(7).catch((e: unknown) => e);
    const two = await (await cached()).listProtectedTags(7).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(two).toBeInstanceOf(GitLabError);
    expect(one).toBe(denied);
    const e = two as GitLabError;
    expect([e.status, e.route, e.message, e.transient, e.ambiguous]).toEqual([denied.status, denied.route, denied.message, denied.transient, denied.ambiguous]);
  });

  it('a load that started before an invalidation does not write its answer back', async () => {
    prefix = freshPrefix();
    const storeA = new RedisProjectStore({ url: REDIS_URL, prefix });
    const storeB = new RedisProjectStore({ url: REDIS_URL, prefix });
    closers.push(() => storeA.close(), () => storeB.close());
    expect([await storeA.ready(2000), await storeB.ready(2000)]).toEqual([true, true]);
    const a = new ProjectCache({ shared: storeA });
    const b = new ProjectCache({ shared: storeB });
    const json = jsonCodec<string>();
    let release!: () => void;
    const slow = a.get(1, 'k', () => new Promise<string>((r) => (release = () => r('old'))), { shared: json });
    await new Promise((r) => setTimeout(r, 50));
    await b.invalidate(1);
    release();
    expect(await slow).toBe('old');
    expect(await b.get(1, 'k', async () => 'new', { shared: json })).toBe('new');
    expect(await a.get(1, 'k', async () => 'newer', { shared: json })).toBe('new');
  });

  it('entries are shared only within one scope (the service: GitLab URL and token)', async () => {
    prefix = freshPrefix();
    const stores = ['https://gitlab.example\0token-a', 'https://gitlab.example\0token-a', 'https://gitlab.example\0token-b'].map((scope) => new RedisProjectStore({ url: REDIS_URL, prefix, scope }));
    closers.push(...stores.map((s) => () => s.close()));
    for (const s of stores) expect(await s.ready(2000)).toBe(true);
    const json = jsonCodec<string>();
    const [same1, same2, other] = stores.map((shared) => new ProjectCache({ shared }));
    expect(await same1!.get(1, 'k', async () => 'a', { shared: json })).toBe('a');
    expect(await same2!.get(1, 'k', async () => 'again', { shared: json })).toBe('a');
    expect(await other!.get(1, 'k', async () => 'b', { shared: json })).toBe('b');
    // Only a hash of the scope is in the key, never the token.
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}:*`);
    await r.quit();
    expect(keys).toHaveLength(2);
    expect(keys.join(' ')).not.toContain('token');
  });
});

/** A "Redis" that completes the handshake and then never answers: every command times out. */
async function silentRedis(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d) => {
      const text = d.toString('latin1').toLowerCase();
      if (text.includes('client')) s.write('+OK\r\n');
      if (text.includes('info')) s.write('$11\r\nloading:0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('Redis trouble never fails a review', () => {
  it.each([['unreachable'], ['not answering']])('Redis %s: the same verdict as without Redis, and a warning', async (kind) => {
    prefix = freshPrefix();
    gl = await startFakeGitLab();
    const reference = await replica({ REDIS_URL: '' });
    const project = gl.addProject({ path: 'acme/app' });
    const mr1 = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    await deliver(reference, 'Merge Request Hook', mrHook(gl, mr1, { action: 'open' }));

    let cacheUrl = 'redis://127.0.0.1:1';
    if (kind === 'not answering') {
      const silent = await silentRedis();
      closers.push(silent.close);
      cacheUrl = silent.url;
    }
    const logs: string[] = [];
    const broken = await replica({}, { cacheUrl, logs });
    const mr2 = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const started = Date.now();
    expect(await deliver(broken, 'Merge Request Hook', mrHook(gl, mr2, { action: 'open' }))).toBe(202);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(verdict(mr2.headSha)).toEqual(verdict(mr1.headSha));
    expect(verdict(mr2.headSha)?.state).toBe('failed');
    // The process cache serves while Redis is away: a second review reads no project again.
    const mr3 = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const mark = gl.requests.length;
    await deliver(broken, 'Merge Request Hook', mrHook(gl, mr3, { action: 'open' }));
    expect(projectReads(routes(mark))).toEqual([0, 0, 0]);
    // A system hook still answers (the invalidation in Redis fails and is logged).
    expect(await deliver(broken, 'System Hook', { event_name: 'project_update', project_id: project.id, path_with_namespace: 'acme/app' })).toBe(200);

    const warnings = logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40 && l.msg.startsWith('shared project cache'));
    expect(warnings.length).toBeGreaterThan(0);
    // No token, no value in them.
    expect(logs.join('\n')).not.toContain(gl.token);
    expect(JSON.stringify(warnings)).not.toMatch(/acme\/app|pathWithNamespace/);
  });
});
