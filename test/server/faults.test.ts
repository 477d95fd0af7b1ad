/**
 * The service under faults (issue 12): long GitLab outages, lost webhooks. The outage runs on a
 * virtual clock shared by the fake GitLab, the adapter's waits and the queue's retry timers, so
 * a 25 s outage and a 15-minute retry window take milliseconds of real time. No timing is
 * asserted: only what the MR ends up with.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/server.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest } from '../support/fake-gitlab.js';
import { CLEAN_CI, SECRET, UNSAFE_CI, mrHook, policyDir } from './helpers.js';
import { defined } from '../support/defined.js';

let gl: FakeGitLab;
let server: RunningServer | undefined;
let virtual = 0;

/** Virtual time: a timer of `ms` fires at once and moves the clock on by `ms`. */
const clock = {
  now: () => virtual,
  setTimer: (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      virtual += ms;
      fn();
    }, 1);
    return { cancel: () => clearTimeout(t) };
  },
  sleep: async (ms: number) => {
    virtual += ms;
    await new Promise((r) => setImmediate(r));
  },
};

async function start(env: Record<string, string> = {}, extra: Partial<StartServerOptions> = {}): Promise<RunningServer> {
  const config = loadConfig({
    GITLAB_URL: gl.url,
    GITLAB_TOKEN: gl.token,
    WEBHOOK_SECRET: SECRET,
    POLICY_DIR: policyDir(),
    LOG_LEVEL: 'silent',
    LIVE_CHECKS: 'off',
    RECONCILE_INTERVAL_SECONDS: '0',
    ...env,
  });
  server = await startServer({
    config,
    port: 0,
    host: '127.0.0.1',
    gitlab: { retry: { retries: 2, baseMs: 500, maxMs: 2000 }, sleep: clock.sleep, random: () => 1, timeoutMs: 5000, ambiguousSettleMs: 1 },
    queue: { now: clock.now, setTimer: clock.setTimer, random: () => 1, retryBaseMs: 1000, retryMaxMs: 8000 },
    reviewer: { paceMs: 0 },
    ...extra,
  });
  return server;
}

beforeEach(async () => {
  virtual = Date.now();
  gl = await startFakeGitLab();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await gl.close();
});

const deliver = (s: RunningServer, body: unknown): Promise<Response> =>
  fetch(`${s.url}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET },
    body: JSON.stringify(body),
  });

const statusesOf = (sha: string) => gl.state.statuses.filter((s) => s.sha === sha && s.name === 'tierguard');
const own = (mr: FakeMergeRequest) => mr.discussions.filter((d) => d.notes[0].authorId === gl.botUser.id);
const inline = (mr: FakeMergeRequest) => own(mr).filter((d) => d.notes[0].position !== null);
const summaries = (mr: FakeMergeRequest) => own(mr).filter((d) => d.notes[0].body.includes('<!-- tierguard:summary -->'));
const fingerprints = (mr: FakeMergeRequest) => inline(mr).map((d) => /<!-- tierguard:finding fp=(\S+) -->/.exec(d.notes[0].body)?.[1]);

async function metric(s: RunningServer, name: string): Promise<number> {
  const text = await s.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

describe('retries that outlast an incident', () => {
  it('a 25 s outage right after the webhook ends with the right final status and one discussion per finding', async () => {
    const s = await start();
    await s.api.currentUser();
    const project = gl.addProject({ path: 'acme/outage' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const outageEnd = virtual + 25_000;
    gl.outage({ active: () => virtual < outageEnd });
    expect((await deliver(s, mrHook(gl, mr, { action: 'open' }))).status).toBe(202);
    await s.queue.drain();

    expect(virtual).toBeGreaterThanOrEqual(outageEnd); // the outage really was outlasted
    expect(gl.requests.filter((r) => r.status === 500).length).toBeGreaterThan(3);
    const states = statusesOf(mr.headSha).map((x) => x.state);
    expect(states.at(-1)).toBe('failed');
    expect(statusesOf(mr.headSha).at(-1)!.description).toMatch(/blocking/);
    expect(states.filter((x) => x === 'failed')).toHaveLength(1);
    const fps = fingerprints(mr);
    expect(fps.length).toBeGreaterThan(0);
    expect(new Set(fps).size).toBe(fps.length);
    expect(summaries(mr)).toHaveLength(1);
    expect(await metric(s, 'tierguard_reviews_retried_total')).toBeGreaterThan(0);
    expect(await metric(s, 'tierguard_reviews_abandoned_total')).toBe(0);
    // Failures before the MR was read count as evaluation errors too.
    expect(await metric(s, 'tierguard_evaluations_total{result="error"}')).toBeGreaterThan(0);
  });

  it('meanwhile the MR shows pending "waiting for GitLab", never failed', async () => {
    const s = await start();
    await s.api.currentUser();
    const project = gl.addProject({ path: 'acme/waiting' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': CLEAN_CI.replace('make test', 'make test lint') } });
    // Only the project cannot be read for a while: the status can be written meanwhile.
    const outageEnd = virtual + 60_000;
    gl.outage({ active: (method, path) => method === 'GET' && path === `/projects/${project.id}` && virtual < outageEnd });
    await deliver(s, mrHook(gl, mr, { action: 'open' }));
    await s.queue.drain();
    const all = statusesOf(mr.headSha);
    expect(all.map((x) => x.state)).not.toContain('failed');
    expect(all.at(-1)!.state).toBe('success');
    const posted = gl.requests.filter((r) => r.method === 'POST' && r.path === `/projects/${project.id}/statuses/${mr.headSha}` && r.status === 201);
    const bodies = posted.map((r) => r.body as { state: string; description: string });
    expect(bodies[0]).toMatchObject({ state: 'pending' });
    expect(bodies[0]?.description).toMatch(/^tierguard is waiting for GitLab \(will retry\): GET \/projects\/:id failed \(500\)/);
    expect(bodies.map((b) => b.state)).toEqual(['pending', 'running', 'success']);
  });

  it('a review that fails for the whole window ends with exactly one failed status that says so, counted', async () => {
    const s = await start({ RETRY_WINDOW_SECONDS: '120' });
    const project = gl.addProject({ path: 'acme/down' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    gl.failNext(`GET /projects/${project.id}/merge_requests/${mr.iid}/changes`, { status: 503, count: 100_000 });
    const t0 = virtual;
    await deliver(s, mrHook(gl, mr, { action: 'open' }));
    await s.queue.drain();

    expect(virtual - t0).toBeGreaterThanOrEqual(120_000);
    const failed = statusesOf(mr.headSha).filter((x) => x.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.description).toMatch(/^tierguard could not evaluate: gave up after \d+ attempts over 2 min \(GitLab kept failing\): .*503/);
    expect(statusesOf(mr.headSha).at(-1)!.state).toBe('failed');
    expect(own(mr)).toHaveLength(0);
    expect(await metric(s, 'tierguard_reviews_abandoned_total{kind="transient"}')).toBe(1);
    expect(await metric(s, 'tierguard_reviews_retried_total{kind="transient"}')).toBeGreaterThan(3);
  });

  it('a permanent error (403) is not retried: one attempt, one failed status', async () => {
    const s = await start();
    const project = gl.addProject({ path: 'acme/forbidden' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    gl.failNext(`GET /projects/${project.id}/merge_requests/${mr.iid}/changes`, { status: 403, count: 100 });
    await deliver(s, mrHook(gl, mr, { action: 'open' }));
    await s.queue.drain();
    expect(gl.requests.filter((r) => r.path.endsWith(`/merge_requests/${mr.iid}/changes`))).toHaveLength(1);
    const failed = statusesOf(mr.headSha).filter((x) => x.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.description).toMatch(/^tierguard could not evaluate: GET .*403/);
    expect(await metric(s, 'tierguard_reviews_abandoned_total{kind="permanent"}')).toBe(1);
  });

  it("a 429's Retry-After is a lower bound for the queue's next attempt", async () => {
    const s = await start();
    await s.api.currentUser();
    const project = gl.addProject({ path: 'acme/limited' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': CLEAN_CI.replace('make test', 'make test lint') } });
    // Retry-After 300 s is more than the adapter waits for itself (60 s): the queue waits instead.
    gl.failNext(`GET /projects/${project.id}/merge_requests/${mr.iid}`, { status: 429, retryAfter: 300 });
    const t0 = virtual;
    await deliver(s, mrHook(gl, mr, { action: 'open' }));
    await s.queue.drain();
    expect(virtual - t0).toBeGreaterThanOrEqual(300_000);
    expect(statusesOf(mr.headSha).at(-1)!.state).toBe('success');
  });
});

describe('catch-up (reconcile)', () => {
  it('a webhook lost while the service was down is caught up within one pass after start', async () => {
    // Two MRs opened while tierguard was down: one in a project it is a member of (Developer),
    // one in a project where it is only a Reporter (not looked at: min_access_level=30).
    const member = gl.addProject({ path: 'acme/member' });
    member.roles.set(gl.botUser.id, 30);
    const lost = gl.addMergeRequest(member.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const reporter = gl.addProject({ path: 'acme/reporter' });
    reporter.roles.set(gl.botUser.id, 20);
    const other = gl.addMergeRequest(reporter.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI } });
    // An MR already judged (final status) and an old one outside the look-back are left alone.
    const judged = gl.addMergeRequest(member.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': CLEAN_CI.replace('make test', 'make') } });
    gl.state.statuses.push({ id: 1, projectId: member.id, sha: judged.headSha, ref: judged.sourceBranch, name: 'tierguard', state: 'success', targetUrl: null, description: 'no findings', pipelineId: gl.addPipeline(member.id, judged.headSha, judged.sourceBranch).id, authorId: gl.botUser.id });
    const old = gl.addMergeRequest(member.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI } });
    old.updatedAt = new Date(Date.now() - 30 * 86_400_000).toISOString();

    const s = await start({ RECONCILE_INTERVAL_SECONDS: '600' });
    expect(s.reconciler).toBeDefined();
    await s.reconciler!.idle();
    await s.queue.drain();

    expect(statusesOf(lost.headSha).at(-1)?.state).toBe('failed');
    expect(inline(lost).length).toBeGreaterThan(0);
    expect(statusesOf(other.headSha)).toHaveLength(0);
    expect(statusesOf(judged.headSha).map((x) => x.state)).toEqual(['success']);
    expect(statusesOf(old.headSha)).toHaveLength(0);
    expect(gl.requests.some((r) => r.path === `/projects/${reporter.id}/merge_requests`)).toBe(false);
    expect(await metric(s, 'tierguard_reconcile_passes_total{result="ok"}')).toBe(1);
    expect(await metric(s, 'tierguard_reconcile_caught_up_total')).toBe(1);

    // The next pass finds nothing left to do.
    const again = await s.reconciler!.pass();
    expect(again).toMatchObject({ enqueued: 0, errors: 0 });
    expect(again.openMergeRequests).toBe(2);
  });

  it('projects webhooks came for are looked at when the member listing fails; an MR given up during an outage is tried again', async () => {
    const p = gl.addProject({ path: 'acme/hooked' });
    gl.failNext('GET /projects', { status: 500, count: 1000 });
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': CLEAN_CI.replace('make test', 'make') }, headPipeline: true });
    const s = await start({ RECONCILE_INTERVAL_SECONDS: '600' });
    expect(await s.reconciler!.pass()).toMatchObject({ projects: 0, errors: 1 });
    expect(statusesOf(mr.headSha)).toHaveLength(0);
    // A review given up: its failed status says tierguard gave up waiting for GitLab.
    gl.state.statuses.push({ id: 2, projectId: p.id, sha: mr.headSha, ref: mr.sourceBranch, name: 'tierguard', state: 'failed', targetUrl: null, description: 'tierguard could not evaluate: gave up after 9 attempts over 15 min (GitLab kept failing): GET …', pipelineId: mr.headPipelineId!, authorId: gl.botUser.id });
    await s.queue.rememberProject!(p.id);
    const r = await s.reconciler!.pass();
    expect(r).toMatchObject({ projects: 1, enqueued: 1 });
    await s.queue.drain();
    expect(statusesOf(mr.headSha).at(-1)?.state).toBe('success');
  });
});

describe('a budget per MR', () => {
  it('an MR with 150 unsafe jobs gets at most 25 inline discussions and a summary that counts the rest', async () => {
    const s = await start();
    const project = gl.addProject({ path: 'acme/flood' });
    const jobs = Array.from(
      { length: 150 },
      (_, i) => `deploy-${i}:\n  stage: deploy\n  tags: [ci-general]\n  environment: production\n  script:\n    - ./deploy.sh ${i}\n`,
    ).join('\n');
    const head = `${CLEAN_CI.replace('stages: [test]', 'stages: [test, deploy]')}\n${jobs}`;
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': head }, headPipeline: true });
    await deliver(s, mrHook(gl, mr, { action: 'open' }));
    await s.queue.drain();

    expect(statusesOf(mr.headSha).at(-1)?.state).toBe('failed');
    expect(inline(mr).length).toBeGreaterThan(0);
    expect(inline(mr).length).toBeLessThanOrEqual(25);
    expect(summaries(mr)).toHaveLength(1);
    const summary = defined(summaries(mr)[0], 'the summary').notes[0].body;
    const over = Number(/(\d+) more finding\(s\) on changed lines are listed here only/.exec(summary)?.[1]);
    expect(over).toBeGreaterThanOrEqual(125);
    expect(await metric(s, 'tierguard_findings_over_budget_total')).toBe(over);
  });
});
