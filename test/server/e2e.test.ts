/**
 * End to end: the real server on loopback against the fake GitLab on loopback, driven by
 * webhook payloads shaped like GitLab's samples.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest } from '../support/fake-gitlab.js';
import { CLEAN_CI, FIXED_CI, SECRET, UNSAFE_CI, mrHook, noteHook, policyDir, pushToMr } from './helpers.js';

let gl: FakeGitLab;
let server: RunningServer;
let logs: string;

async function start(env: Record<string, string> = {}): Promise<void> {
  logs = '';
  const config = loadConfig({
    GITLAB_URL: gl.url,
    GITLAB_TOKEN: gl.token,
    WEBHOOK_SECRET: SECRET,
    POLICY_DIR: policyDir(),
    LOG_LEVEL: 'debug',
    CONCURRENCY: '2',
    // These scenarios judge the YAML; live checks against GitLab state: test/server/live-review.test.ts.
    LIVE_CHECKS: 'off',
    // Webhook-driven scenarios: the catch-up at start is tested in faults.test.ts.
    RECONCILE_INTERVAL_SECONDS: '0',
    ...env,
  });
  server = await startServer({
    config,
    port: 0,
    host: '127.0.0.1',
    logDestination: { write: (s: string) => void (logs += s) },
    gitlab: { retry: { retries: 3, baseMs: 1, maxMs: 5 }, timeoutMs: 5000, ambiguousSettleMs: 1 },
    queue: { retryBaseMs: 1, retryMaxMs: 5, maxAttempts: 3 },
    reviewer: { paceMs: 0 },
  });
}

beforeEach(async () => {
  gl = await startFakeGitLab();
});
afterEach(async () => {
  await server?.close();
  await gl.close();
});

async function deliver(event: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': SECRET, ...headers },
    body: JSON.stringify(body),
  });
}

const statusesOf = (sha: string) => gl.state.statuses.filter((s) => s.sha === sha && s.name === 'tierguard');
const tierguardNotes = (mr: FakeMergeRequest) => mr.discussions.filter((d) => d.notes[0].authorId === gl.botUser.id);
const summaries = (mr: FakeMergeRequest) => tierguardNotes(mr).filter((d) => d.notes[0].body.includes('<!-- tierguard:summary -->'));
const inline = (mr: FakeMergeRequest) => tierguardNotes(mr).filter((d) => d.notes[0].position !== null);

function setup(base: Record<string, string>, head: Record<string, string>, headPipeline = true) {
  const project = gl.addProject({ path: 'acme/app' });
  const mr = gl.addMergeRequest(project.id, { base, head, headPipeline });
  return { project, mr };
}

describe('tierguard serve end to end', () => {
  it('a clean MR touching CI: running then success on the head pipeline, one summary note, no inline discussion', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': CLEAN_CI.replace('make test', 'make test lint') });
    const res = await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'queued' });
    await server.queue.drain();

    const st = statusesOf(mr.headSha);
    expect(st.map((s) => s.state)).toEqual(['success']);
    expect(st[0]?.pipelineId).toBe(mr.headPipelineId);
    const posted = gl.requests.filter((r) => r.method === 'POST' && r.path === `/projects/1/statuses/${mr.headSha}`);
    expect(posted.map((r) => (r.body as Record<string, string>).state)).toEqual(['running', 'success']);
    expect(posted.every((r) => String((r.body as Record<string, string>).pipeline_id) === String(mr.headPipelineId))).toBe(true);
    expect(summaries(mr)).toHaveLength(1);
    expect(inline(mr)).toHaveLength(0);
    expect(st[0]?.targetUrl).toBe(`${gl.url}/acme/app/-/merge_requests/1#note_${summaries(mr)[0]?.notes[0].id}`);
  });

  it('an MR touching no CI configuration gets a fast success and no note', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'a\n' }, { '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'b\n' });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();
    const st = statusesOf(mr.headSha);
    expect(st).toHaveLength(1);
    expect(st[0]).toMatchObject({ state: 'success', description: 'no CI configuration changes' });
    expect(mr.discussions).toHaveLength(0);
    // No configuration file was read.
    expect(gl.requests.some((r) => r.path.includes('/repository/files/'))).toBe(false);
  });

  it('an unsafe deploy job fails the status with inline discussions; the pushed fix resolves them and edits the summary in place', async () => {
    await start();
    const base = { '.gitlab-ci.yml': CLEAN_CI };
    const { mr } = setup(base, { '.gitlab-ci.yml': UNSAFE_CI });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();

    const first = statusesOf(mr.headSha);
    expect(first).toHaveLength(1);
    expect(first[0]?.state).toBe('failed');
    expect(first[0]?.description).toMatch(/^2 blocking/);
    expect(first[0]?.pipelineId).toBe(mr.headPipelineId);
    const threads = inline(mr);
    expect(threads.length).toBeGreaterThanOrEqual(2);
    expect(threads.every((d) => d.notes[0].position!.new_path === '.gitlab-ci.yml' && !d.notes[0].resolved)).toBe(true);
    // Each thread says how to fix it (from the rule's metadata).
    expect(threads.every((d) => d.notes[0].body.includes('**How to fix:**'))).toBe(true);
    expect(summaries(mr)).toHaveLength(1);
    const summaryId = summaries(mr)[0]?.notes[0].id;
    expect(first[0]?.targetUrl).toContain(`#note_${summaryId}`);

    // The fix is pushed: update with oldrev.
    const { oldrev, sha } = pushToMr(gl, mr, base, { '.gitlab-ci.yml': FIXED_CI }, { pipeline: true });
    const res = await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'update', oldrev }));
    expect(res.status).toBe(202);
    await server.queue.drain();

    const second = statusesOf(sha);
    expect(second.map((s) => s.state)).toEqual(['success']);
    expect(second[0]?.pipelineId).toBe(mr.headPipelineId);
    expect(inline(mr)).toHaveLength(threads.length);
    expect(inline(mr).every((d) => d.notes.every((n) => n.resolved))).toBe(true);
    expect(summaries(mr)).toHaveLength(1);
    expect(summaries(mr)[0]?.notes[0].id).toBe(summaryId);
    expect(summaries(mr)[0]?.notes[0].body).not.toBe(threads[0]?.notes[0].body);
    expect(second[0]?.targetUrl).toContain(`#note_${summaryId}`);
  });

  it('a fork MR reads every file from the target project at the head sha', async () => {
    await start();
    const { project, mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI }, false);
    const fork = gl.addProject({ path: 'mallory/app' });
    mr.sourceProjectId = fork.id;
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();

    const reads = gl.requests.filter((r) => r.path.includes('/repository/files/'));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.path.startsWith(`/projects/${project.id}/`))).toBe(true);
    expect(reads.some((r) => r.query.ref === mr.headSha)).toBe(true);
    const st = statusesOf(mr.headSha);
    expect(st.map((s) => s.state)).toEqual(['failed']);
    expect(st[0]?.ref).toBe(`refs/merge-requests/${mr.iid}/head`);
    expect(inline(mr).length).toBeGreaterThan(0);
  });

  it('`/tierguard recheck` re-runs without duplicating notes; the bot\'s own comments are ignored', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();
    const before = tierguardNotes(mr).length;
    const statusesBefore = statusesOf(mr.headSha).length;

    const res = await deliver('Note Hook', noteHook(gl, mr, 'please\n/tierguard recheck'));
    expect(res.status).toBe(202);
    await server.queue.drain();
    expect(statusesOf(mr.headSha)).toHaveLength(statusesBefore + 1);
    expect(statusesOf(mr.headSha).at(-1)!.state).toBe('failed');
    expect(tierguardNotes(mr)).toHaveLength(before);

    const own = await deliver('Note Hook', noteHook(gl, mr, '/tierguard recheck', gl.botUser.id));
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ status: 'ignored' });
    await server.queue.drain();
    expect(statusesOf(mr.headSha)).toHaveLength(statusesBefore + 1);

    const chat = await deliver('Note Hook', noteHook(gl, mr, 'looks good to me'));
    expect(chat.status).toBe(200);
  });

  it('a duplicate delivery (same Idempotency-Key) is processed once', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    const payload = mrHook(gl, mr, { action: 'open' });
    const a = await deliver('Merge Request Hook', payload, { 'idempotency-key': 'key-1', 'x-gitlab-webhook-uuid': 'u-1' });
    const b = await deliver('Merge Request Hook', payload, { 'idempotency-key': 'key-1', 'x-gitlab-webhook-uuid': 'u-2' });
    expect(a.status).toBe(202);
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual({ status: 'duplicate' });
    await server.queue.drain();
    expect(gl.requests.filter((r) => r.method === 'GET' && r.path === '/projects/1/merge_requests/1')).toHaveLength(1);
    expect(summaries(mr)).toHaveLength(1);
    expect(logs).toContain('"deliveryId":"u-1"');
  });

  it('out-of-order deliveries: the newest head is evaluated, a stale event for the old head changes nothing', async () => {
    await start();
    const base = { '.gitlab-ci.yml': CLEAN_CI };
    const { mr } = setup(base, { '.gitlab-ci.yml': UNSAFE_CI });
    const stale = mrHook(gl, mr, { action: 'open' });
    const { oldrev, sha } = pushToMr(gl, mr, base, { '.gitlab-ci.yml': FIXED_CI }, { pipeline: true });
    // The push event arrives first, the open event (old sha) after it.
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'update', oldrev }));
    await server.queue.drain();
    await deliver('Merge Request Hook', stale);
    await server.queue.drain();
    expect(statusesOf(oldrev)).toHaveLength(0);
    expect(statusesOf(sha).map((s) => s.state)).toEqual(['success']);
    expect(inline(mr)).toHaveLength(0);
  });

  it('events for the same MR arriving together coalesce into one evaluation of the newest head', async () => {
    await start({ CONCURRENCY: '1' });
    const base = { '.gitlab-ci.yml': CLEAN_CI };
    const { mr } = setup(base, { '.gitlab-ci.yml': UNSAFE_CI });
    const first = mrHook(gl, mr, { action: 'open' });
    const { oldrev } = pushToMr(gl, mr, base, { '.gitlab-ci.yml': FIXED_CI }, { pipeline: true });
    const second = mrHook(gl, mr, { action: 'update', oldrev });
    const third = mrHook(gl, mr, { action: 'update', oldrev, sha: mr.headSha });
    await Promise.all([deliver('Merge Request Hook', first), deliver('Merge Request Hook', second), deliver('Merge Request Hook', third)]);
    await server.queue.drain();
    const mrReads = gl.requests.filter((r) => r.method === 'GET' && r.path === '/projects/1/merge_requests/1').length;
    expect(mrReads).toBeLessThanOrEqual(2);
    expect(statusesOf(oldrev)).toHaveLength(0);
    expect(statusesOf(mr.headSha).at(-1)!.state).toBe('success');
  });

  it('GitLab answering 500 and 429 is retried without posting a note twice', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    gl.failNext('GET /projects/1/merge_requests/1', { status: 429, retryAfter: 0 });
    gl.failNext('POST /projects/1/merge_requests/1/discussions', { status: 500, apply: true });
    gl.failNext('POST /projects/1/merge_requests/1/notes', { status: 502, apply: true });
    gl.failNext('GET /projects/1/merge_requests/1/changes', { status: 500 });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();

    expect(summaries(mr)).toHaveLength(1);
    const bodies = inline(mr).map((d) => d.notes[0].body);
    expect(new Set(bodies).size).toBe(bodies.length);
    expect(inline(mr).length).toBeGreaterThanOrEqual(2);
    expect(statusesOf(mr.headSha).at(-1)!.state).toBe('failed');
    expect(statusesOf(mr.headSha).at(-1)!.description).toMatch(/blocking/);
    expect(gl.requests.some((r) => r.status === 429)).toBe(true);
    expect(gl.requests.filter((r) => r.status >= 500).length).toBeGreaterThanOrEqual(3);
  });

  it('an evaluation that keeps failing fails closed with a clear description', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    gl.failNext('GET /projects/1/merge_requests/1/changes', { status: 500, count: 1000 });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();
    const last = statusesOf(mr.headSha).at(-1)!;
    expect(last.state).toBe('failed');
    expect(last.description).toMatch(/^tierguard could not evaluate: .*500/);
    expect(last.pipelineId).toBe(mr.headPipelineId);
    // Three attempts (queue), each with the adapter's own retries.
    expect(gl.requests.filter((r) => r.path === '/projects/1/merge_requests/1/changes').length).toBe(3 * 4);
    expect(mr.discussions).toHaveLength(0);
  });

  it('answers the External Status Check "tierguard" where configured', async () => {
    await start({ STATUS_CHECK_PROJECTS: '1' });
    const { project, mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    project.externalStatusChecks.push({ id: 7, name: 'other', external_url: 'https://x.example' }, { id: 9, name: 'tierguard', external_url: 'https://t.example' });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();
    expect(mr.statusCheckResponses).toEqual([{ sha: mr.headSha, external_status_check_id: 9, status: 'failed' }]);
  });

  it('never logs the GitLab token or the webhook secret, and exposes metrics', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }), { authorization: `Bearer ${gl.token}` });
    await fetch(`${server.url}/webhooks/gitlab`, { method: 'POST', headers: { 'x-gitlab-token': 'wrong', 'content-type': 'application/json' }, body: '{}' });
    await server.queue.drain();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(gl.token);
    expect(logs).not.toContain(SECRET);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/tierguard_webhook_events_total\{event="Merge Request Hook",result="queued"\} 1/);
    expect(metrics).toMatch(/tierguard_webhook_events_total\{event="unknown",result="unauthorized"\} 1/);
    expect(metrics).toMatch(/tierguard_evaluations_total\{result="failed"\} 1/);
    expect(metrics).toMatch(/tierguard_findings_total\{severity="error"\} 2/);
    expect(metrics).toMatch(/tierguard_gitlab_calls_total\{route="GET \/projects\/:id\/merge_requests\/:iid",status="200"\} 1/);
    expect(metrics).toMatch(/tierguard_evaluation_duration_seconds_count\{result="failed"\} 1/);
    expect(metrics).toMatch(/tierguard_queue_depth 0/);
  });

  it('a changed include counts as a CI change; a changed YAML file nothing includes does not', async () => {
    await start();
    const root = 'include:\n  - local: ci/deploy.yml\n' + CLEAN_CI;
    const project = gl.addProject({ path: 'acme/app' });
    const deployJob = UNSAFE_CI.slice(UNSAFE_CI.indexOf('deploy:\n'));
    const viaInclude = gl.addMergeRequest(project.id, {
      base: { '.gitlab-ci.yml': root.replace('[test]', '[test, deploy]'), 'ci/deploy.yml': '.placeholder:\n  script: [true]\n' },
      head: { '.gitlab-ci.yml': root.replace('[test]', '[test, deploy]'), 'ci/deploy.yml': deployJob },
      headPipeline: true,
    });
    const unrelated = gl.addMergeRequest(project.id, {
      base: { '.gitlab-ci.yml': CLEAN_CI, 'docs/mkdocs.yml': 'site_name: a\n' },
      head: { '.gitlab-ci.yml': CLEAN_CI, 'docs/mkdocs.yml': 'site_name: b\n' },
      headPipeline: true,
    });
    await deliver('Merge Request Hook', mrHook(gl, viaInclude, { action: 'open' }));
    await deliver('Merge Request Hook', mrHook(gl, unrelated, { action: 'open' }));
    await server.queue.drain();
    expect(statusesOf(viaInclude.headSha).at(-1)!.state).toBe('failed');
    expect(inline(viaInclude).every((d) => d.notes[0].position!.new_path === 'ci/deploy.yml')).toBe(true);
    expect(inline(viaInclude).length).toBeGreaterThan(0);
    expect(statusesOf(unrelated.headSha).map((s) => [s.state, s.description])).toEqual([['success', 'no CI configuration changes']]);
    expect(unrelated.discussions).toHaveLength(0);
  });

  it('a runner config.toml changed in the MR is judged', async () => {
    await start();
    const toml = readFileSync(new URL('../fixtures/runner/realistic-bad.toml', import.meta.url), 'utf8');
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'a\n' }, { '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'a\n', 'ops/runner/config.toml': toml });
    await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'open' }));
    await server.queue.drain();
    const last = statusesOf(mr.headSha).at(-1)!;
    expect(last.state).toBe('failed');
    expect(last.description).toMatch(/blocking/);
    expect(inline(mr).some((d) => d.notes[0].position!.new_path === 'ops/runner/config.toml')).toBe(true);
  });

  it('a target branch change is re-evaluated; closing the server drains the work in progress', async () => {
    await start();
    const { mr } = setup({ '.gitlab-ci.yml': CLEAN_CI }, { '.gitlab-ci.yml': UNSAFE_CI });
    const res = await deliver('Merge Request Hook', mrHook(gl, mr, { action: 'update', targetBranchChange: true }));
    expect(res.status).toBe(202);
    await server.close();
    expect(statusesOf(mr.headSha).at(-1)!.state).toBe('failed');
    expect(summaries(mr)).toHaveLength(1);
    const after = await fetch(`${server.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(after).toBe('refused');
  });
});
