/**
 * GitLab API calls per MR review, counted by route on the fake GitLab: a review reads each
 * file once per sha (the FileCache serves the runner-config candidates and the project policy
 * file), lists the MR's discussions once, and a recheck of the same sha reads no file again.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { loadConfig } from '../../src/server/config.js';
import { createPolicyLoader } from '../../src/server/policies.js';
import type { ReviewJob } from '../../src/server/queue.js';
import { SUMMARY_MARKER } from '../../src/review/markers.js';
import { createReviewer, type Reviewer } from '../../src/server/review-mr.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest, projectReads, rawReadsSince, routesSince, totalCalls as total } from '../support/fake-gitlab.js';
import { CLEAN_CI, SECRET, UNSAFE_CI, mrHook, policyDir, pushToMr, deliverHook as deliver } from './helpers.js';

let gl: FakeGitLab;
let rv: Reviewer;

beforeEach(async () => {
  gl = await startFakeGitLab();
  const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 5000, ambiguousSettleMs: 1 });
  rv = createReviewer({ api, logger: pino({ level: 'silent' }), policies: createPolicyLoader(policyDir()), paceMs: 0 });
});
afterEach(async () => {
  await gl.close();
});

const job = (mr: FakeMergeRequest, reason = 'merge_request:open'): ReviewJob => ({
  projectId: mr.projectId,
  mrIid: mr.iid,
  sha: mr.headSha,
  reason,
  deliveryId: reason,
  receivedAt: Date.now(),
});

const routes = (from: number) => routesSince(gl.requests, from);
/** One job on a general runner, in a file of its own. */
const jobYaml = (name: string, cmd = `make ${name}`) => `${name}:\n  tags: [ci-general]\n  script: [${cmd}]\n`;
/** The MR's summary note, if tierguard posted one. */
const summaryOf = (mr: FakeMergeRequest) => mr.discussions.flatMap((d) => d.notes).find((n) => n.body.includes(SUMMARY_MARKER))?.body;
const rawReads = (from: number) => rawReadsSince(gl.requests, from);

describe('GitLab API calls per review', () => {
  it('first review of a CI change, then a recheck of the same sha, then an MR without CI change', async () => {
    const project = gl.addProject({ path: 'acme/app' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });

    const first = await rv.review(job(mr));
    expect(first.result).toBe('failed');
    const c1 = routes(0);
    // Each file once per sha: .gitlab-ci.yml at head and base (the runner-config candidate check
    // reuses both), the project policy file at base.
    expect(rawReads(0).sort()).toEqual([`.gitlab-ci.yml@${mr.baseSha.slice(0, 7)}`, `.gitlab-ci.yml@${mr.headSha.slice(0, 7)}`, `.gitlab/tierguard.yml@${mr.baseSha.slice(0, 7)}`].sort());
    // A new MR has no user note (GitLab's user_notes_count is 0): no discussion to list.
    expect(c1['GET /projects/:id/merge_requests/:iid/discussions'] ?? 0).toBe(0);
    expect(c1['GET /user']).toBe(1);
    expect(c1['POST /projects/:id/statuses/:sha']).toBe(2);
    expect(c1['POST /projects/:id/merge_requests/:iid/notes']).toBe(1);

    const mark = gl.requests.length;
    const again = await rv.review(job(mr, 'note:recheck'));
    expect(again.result).toBe('failed');
    const c2 = routes(mark);
    // Same sha: no file read, no new discussion, the summary unchanged (no edit), one status.
    expect(rawReads(mark)).toEqual([]);
    expect(c2['POST /projects/:id/merge_requests/:iid/discussions'] ?? 0).toBe(0);
    expect(c2['PUT /projects/:id/merge_requests/:iid/notes/:nid'] ?? 0).toBe(0);
    expect(c2['GET /user'] ?? 0).toBe(0);
    expect(c2['GET /projects/:id/merge_requests/:iid/discussions']).toBe(1);

    const docs = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'a\n' }, head: { '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'b\n' }, headPipeline: true });
    const mark2 = gl.requests.length;
    expect((await rv.review(job(docs))).result).toBe('no_ci_changes');
    const c3 = routes(mark2);
    // No CI change on an MR without notes: the MR, its changes and one `success`; no `running`
    // first, and no discussions listing (nothing of tierguard's can be there).
    expect(rawReads(mark2)).toEqual([]);
    expect(c3).toEqual({
      'GET /projects/:id/merge_requests/:iid': 1,
      'GET /projects/:id': 1,
      'POST /projects/:id/statuses/:sha': 1,
      'GET /projects/:id/merge_requests/:iid/changes': 1,
    });
    expect(gl.requests.filter((r) => r.method === 'POST' && r.path === `/projects/${project.id}/statuses/${docs.headSha}`).map((r) => (r.body as { state: string }).state)).toEqual(['success']);

    // Someone commented: tierguard may have discussions there too, so one listing decides it.
    gl.addNote(project.id, docs.iid, 'why no CI change?', gl.addUser('reviewer').id);
    const mark3 = gl.requests.length;
    expect((await rv.review(job(docs, 'note:recheck'))).result).toBe('no_ci_changes');
    expect(routes(mark3)['GET /projects/:id/merge_requests/:iid/discussions']).toBe(1);
  });

  it('reads head and base side by side and a file\'s local includes at once, each file still once', async () => {
    const root = `include:\n  - local: ci/a.yml\n  - local: ci/b.yml\n  - local: ci/c.yml\n`;
    const base = { '.gitlab-ci.yml': root, 'ci/a.yml': jobYaml('a', 'make a'), 'ci/b.yml': jobYaml('b', 'make b'), 'ci/c.yml': jobYaml('c', 'make c') };
    const project = gl.addProject({ path: 'acme/app' });
    // The MR changes every file: each is read at the head and at the base.
    const head = { '.gitlab-ci.yml': `${root}# head\n`, 'ci/a.yml': jobYaml('a', 'make a2'), 'ci/b.yml': jobYaml('b', 'make b2'), 'ci/c.yml': jobYaml('c', 'make check') };
    const mr = gl.addMergeRequest(project.id, { base, head, headPipeline: true });
    // Every file read answers only after 40 ms: reads that overlap were asked for together.
    gl.slowNext(/\/repository\/files\/[^/]+\/raw$/, 40, 100);
    const mark = gl.requests.length;
    expect((await rv.review(job(mr))).result).toBe('success');
    const reads = gl.requests.slice(mark).filter((r) => r.path.endsWith('/raw'));
    const at = (file: string, sha: string) => {
      const r = reads.filter((x) => decodeURIComponent(x.path).includes(`/files/${file}/raw`) && x.query.ref === sha);
      expect(r, `${file}@${sha.slice(0, 7)} read once`).toHaveLength(1);
      return r[0]!;
    };
    const overlap = (a: (typeof reads)[number], b: (typeof reads)[number]) => a.answeredBefore < b.answeredAt! && b.answeredBefore < a.answeredAt!;
    for (const sha of [mr.headSha, mr.baseSha]) {
      const [a, b, c] = ['ci/a.yml', 'ci/b.yml', 'ci/c.yml'].map((f) => at(f, sha)) as [(typeof reads)[number], (typeof reads)[number], (typeof reads)[number]];
      expect(overlap(a, b) && overlap(b, c) && overlap(a, c), `the includes at ${sha.slice(0, 7)} are read at once`).toBe(true);
    }
    expect(overlap(at('.gitlab-ci.yml', mr.headSha), at('.gitlab-ci.yml', mr.baseSha)), 'head and base are read side by side').toBe(true);
  });

  it('reads at the base only the files the MR changed, unless GitLab listed only part of the diff', async () => {
    const root = `include:\n  - local: ci/a.yml\n  - local: ci/b.yml\n`;
    const base = { '.gitlab-ci.yml': root, 'ci/a.yml': jobYaml('a', 'make a'), 'ci/b.yml': jobYaml('b', 'make b'), 'README.md': 'a\n' };
    const project = gl.addProject({ path: 'acme/app' });
    const baseReads = (from: number, mr: FakeMergeRequest) => rawReads(from).filter((r) => r.endsWith(`@${mr.baseSha.slice(0, 7)}`) && !r.startsWith('.gitlab/tierguard.yml'));

    const mr = gl.addMergeRequest(project.id, { base, head: { ...base, 'ci/b.yml': jobYaml('b', 'make check') }, headPipeline: true });
    let mark = gl.requests.length;
    expect((await rv.review(job(mr))).result).toBe('success');
    expect(baseReads(mark, mr)).toEqual([`ci/b.yml@${mr.baseSha.slice(0, 7)}`]);

    // changes_count "1000+": the list may leave changed files out, so every file is read at the base.
    const big = gl.addMergeRequest(project.id, { base, head: { ...base, 'ci/b.yml': jobYaml('b', 'make big') }, headPipeline: true });
    big.changesCount = '1000+';
    mark = gl.requests.length;
    expect((await rv.review(job(big))).result).toBe('success');
    expect(baseReads(mark, big).sort()).toEqual(['.gitlab-ci.yml', 'ci/a.yml', 'ci/b.yml'].map((f) => `${f}@${big.baseSha.slice(0, 7)}`));
    // The summary says what could not be checked.
    expect(summaryOf(big)).toContain('GitLab listed only part of this merge request');
    expect(summaryOf(mr)).not.toContain('GitLab listed only part');

    // Only a README listed, but the diff overflowed: judged, not "no CI configuration changes".
    const docs = gl.addMergeRequest(project.id, { base, head: { ...base, 'README.md': 'b\n' }, headPipeline: true });
    expect((await rv.review(job(docs))).result).toBe('no_ci_changes');
    docs.changesCount = '1000+';
    const again = await rv.review(job(docs, 'note:recheck'));
    expect(again.result).toBe('success');
    expect(gl.state.statuses.filter((st) => st.sha === docs.headSha && st.name === 'tierguard').at(-1)?.description).not.toMatch(/no CI configuration changes/);
  });

  it('a push between reading the MR and its diff: the review starts again, no sha is judged by another head\'s diff', async () => {
    const project = gl.addProject({ path: 'acme/app' });
    const base = { '.gitlab-ci.yml': CLEAN_CI, 'README.md': 'a\n' };
    // The head read first changes the CI file (a deploy job on a general runner)...
    const mr = gl.addMergeRequest(project.id, { base, head: { ...base, '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const unsafe = mr.headSha;
    // ...and a push reverting it lands just before GitLab answers for the diff.
    let reverted = '';
    gl.beforeNext(`GET /projects/${project.id}/merge_requests/${mr.iid}/changes`, () => {
      reverted = pushToMr(gl, mr, base, { ...base, 'README.md': 'b\n' }, { pipeline: true }).sha;
    });
    const mark = gl.requests.length;
    const out = await rv.review(job(mr));
    // Judged again from the MR: the reverted head has no CI change.
    expect(out).toMatchObject({ result: 'no_ci_changes', sha: reverted });
    const c = routes(mark);
    expect(c['GET /projects/:id/merge_requests/:iid']).toBe(2);
    expect(c['GET /projects/:id/merge_requests/:iid/changes']).toBe(2);
    // Nothing was said about the unsafe sha: above all not `success` from the reverted head's diff.
    expect(gl.state.statuses.filter((st) => st.sha === unsafe)).toEqual([]);
    expect(gl.state.statuses.filter((st) => st.sha === reverted).map((st) => st.state)).toEqual(['success']);

    // The same head with a new diff from another base (the target branch moved): read again too.
    const other = gl.addMergeRequest(project.id, { base, head: { ...base, '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const newBase = gl.addCommit(project.id, { ...base, 'CHANGELOG.md': 'x\n' }, other.targetBranch);
    gl.beforeNext(`GET /projects/${project.id}/merge_requests/${other.iid}/changes`, () => {
      other.baseSha = newBase;
    });
    const mark2 = gl.requests.length;
    expect(await rv.review(job(other))).toMatchObject({ result: 'failed', sha: other.headSha });
    expect(routes(mark2)['GET /projects/:id/merge_requests/:iid']).toBe(2);
    expect(rawReads(mark2)).toContain(`.gitlab-ci.yml@${newBase.slice(0, 7)}`);

    // A head that keeps moving: after two fresh starts the review fails for the queue to retry,
    // and nothing was said on any of the shas.
    const busy = gl.addMergeRequest(project.id, { base, head: { ...base, '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    const shas = [busy.headSha];
    for (let n = 0; n < 3; n++) {
      gl.beforeNext(`GET /projects/${project.id}/merge_requests/${busy.iid}/changes`, () => {
        shas.push(pushToMr(gl, busy, base, { ...base, 'README.md': `v${n}\n` }, { pipeline: true }).sha);
      });
    }
    await expect(rv.review(job(busy))).rejects.toThrow(/diff changed from .* while its files were read/);
    expect(gl.state.statuses.filter((st) => shas.includes(st.sha))).toEqual([]);
  });

  it('reads ahead at most 8 includes per file, and never past GitLab\'s 150-include limit', async () => {
    const files = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`ci/j${i}.yml`, jobYaml(`j${i}`)]));
    const root = (count: number) => `include:\n${Array.from({ length: count }, (_, i) => `  - local: ci/j${i}.yml\n`).join('')}`;
    const project = gl.addProject({ path: 'acme/app' });
    const base = { '.gitlab-ci.yml': root(40), ...files(40) };
    const mr = gl.addMergeRequest(project.id, { base, head: { ...base, 'ci/j7.yml': jobYaml('j7b') }, headPipeline: true });
    gl.slowNext(/\/repository\/files\/[^/]+\/raw$/, 5, 1000);
    let mark = gl.requests.length;
    await rv.review(job(mr));
    const outstanding = (reads: typeof gl.requests) => Math.max(...reads.map((r, i) => reads.slice(0, i).filter((q) => q.answeredAt! > r.answeredBefore).length + 1));
    let reads = gl.requests.slice(mark).filter((r) => r.path.endsWith('/raw'));
    const headReads = reads.filter((r) => r.query.ref === mr.headSha);
    const baseReads = reads.filter((r) => r.query.ref !== mr.headSha);
    expect(headReads).toHaveLength(41);
    // The head reads ahead: several of its reads out at once, never more than the 8 of the window
    // (src/model/include.ts, PREFETCH_WINDOW). How many are out together, and how many of them
    // overlap the base's, depends on how busy the machine is: only the bounds are asserted.
    expect(outstanding(headReads)).toBeGreaterThan(1);
    expect(outstanding(headReads)).toBeLessThanOrEqual(8);
    // Head and base side by side: the base's reads go out while the head's are still answered.
    expect(baseReads.length).toBeGreaterThan(0);
    expect(Math.min(...baseReads.map((r) => r.answeredBefore))).toBeLessThan(Math.max(...headReads.map((r) => r.answeredAt!)));
    expect(outstanding(reads)).toBeLessThanOrEqual(16);

    // 200 includes: GitLab stops at 150 (`Maximum of 150 nested includes`); so do the reads.
    const big = { '.gitlab-ci.yml': root(200), ...files(200) };
    const mr2 = gl.addMergeRequest(project.id, { base: big, head: { ...big, 'ci/j0.yml': jobYaml('j0b') }, headPipeline: true });
    mark = gl.requests.length;
    await rv.review(job(mr2));
    reads = gl.requests.slice(mark).filter((r) => r.path.endsWith('/raw') && r.query.ref === mr2.headSha);
    expect(reads).toHaveLength(1 + 150);
  });

  it('a CI change reverted after a review: one discussions listing serves the no-CI check and the plan', async () => {
    const project = gl.addProject({ path: 'acme/app' });
    const base = { '.gitlab-ci.yml': CLEAN_CI, 'deploy/values.yaml': 'replicas: 1\n' };
    const mr = gl.addMergeRequest(project.id, { base, head: { ...base, '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    expect((await rv.review(job(mr))).result).toBe('failed');
    const threads = mr.discussions.filter((d) => d.notes[0].position !== null).length;
    expect(threads).toBeGreaterThan(0);

    // The CI change is reverted; only a YAML file nothing includes still differs.
    pushToMr(gl, mr, base, { ...base, 'deploy/values.yaml': 'replicas: 2\n' }, { pipeline: true });
    const mark = gl.requests.length;
    expect((await rv.review(job(mr, 'merge_request:update'))).result).toBe('success');
    const c = routes(mark);
    // tierguard's own discussions exist, so the review goes on to resolve them: listed once.
    expect(c['GET /projects/:id/merge_requests/:iid/discussions']).toBe(1);
    expect(mr.discussions.filter((d) => d.notes[0].position !== null && d.notes[0].resolved).length).toBe(threads);
    // values.yaml is read at head and base as a possible runner config; the CI file once per sha
    // (the base sha's was read by the first review already).
    const raw = rawReads(mark);
    expect(raw.filter((r) => r.startsWith('deploy/values.yaml')).length).toBe(2);
    expect(raw.filter((r) => r.startsWith('.gitlab-ci.yml')).length).toBe(1);
  });
});

describe('GitLab API calls per review with live checks on', () => {
  // A release job gated by a YAML variable: whether someone may override it decides where it runs.
  const GATED = `variables:\n  RELEASE: "false"\npublish:\n  tags: [ci-deploy-prod]\n  environment: production\n  rules:\n    - if: $RELEASE == "true"\n  script: [./publish.sh]\n`;

  it('the variable assumptions and the live checks share their reads (settings, project and group variables once per TTL)', async () => {
    const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 5000, ambiguousSettleMs: 1 });
    const live = createReviewer({ api, logger: pino({ level: 'silent' }), policies: createPolicyLoader(policyDir()), paceMs: 0, live: { cacheTtlSeconds: 60 } });
    gl.addGroup('acme');
    const project = gl.addProject({ path: 'acme/app' });
    project.variables.push({ key: 'REGISTRY_USER', value: 'bot', protected: false, masked: false, environment_scope: '*' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': GATED }, headPipeline: true });

    await live.review(job(mr));
    const c1 = routes(0);
    expect(c1['GET /projects/:id/variables']).toBe(1);
    expect(c1['GET /groups/acme/variables']).toBe(1);

    const mark = gl.requests.length;
    await live.review(job(mr, 'note:recheck'));
    const c2 = routes(mark);
    expect(c2['GET /projects/:id/variables'] ?? 0).toBe(0);
    expect(c2['GET /groups/acme/variables'] ?? 0).toBe(0);
  });

  it('the service judges with them: only Maintainers may set pipeline variables, so the YAML gate holds', async () => {
    const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 5000, ambiguousSettleMs: 1 });
    const review = async (restricted: boolean) => {
      const live = createReviewer({ api, logger: pino({ level: 'silent' }), policies: createPolicyLoader(policyDir()), paceMs: 0, live: { cacheTtlSeconds: 60 } });
      const project = gl.addProject({ path: `acme/app-${restricted ? 'r' : 'o'}` });
      project.ciSettings = { restrict_user_defined_variables: restricted, ci_pipeline_variables_minimum_override_role: restricted ? 'maintainer' : 'developer' };
      const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': GATED }, headPipeline: true });
      await live.review(job(mr));
      return mr.discussions.flatMap((d) => d.notes.map((n) => n.body)).join('\n');
    };
    const open = await review(false);
    const restricted = await review(true);
    expect(open).toContain('`deploy-unprotected-ref` —');
    expect(restricted).not.toContain('`deploy-unprotected-ref` —');
  });
});

describe('GitLab API calls per review through the service (its caches)', () => {
  let s: RunningServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  const ROOT = `stages: [build, test]\ninclude:\n  - local: ci/build.yml\n  - local: ci/test.yml\n`;
  const BUILD = `build:\n  stage: build\n  tags: [ci-general]\n  script: [make]\n`;
  const TEST = (cmd: string) => `unit:\n  stage: test\n  tags: [ci-general]\n  script: [${cmd}]\n`;
  const BASE = { '.gitlab-ci.yml': ROOT, 'ci/build.yml': BUILD, 'ci/test.yml': TEST('make test'), 'README.md': 'a\n' };
  const N = 3;

  async function service(): Promise<RunningServer> {
    s = await startServer({
      config: loadConfig({ GITLAB_URL: gl.url, GITLAB_TOKEN: gl.token, WEBHOOK_SECRET: SECRET, POLICY_DIR: policyDir(), LOG_LEVEL: 'silent', LIVE_CHECKS: 'off', RECONCILE_INTERVAL_SECONDS: '0' }),
      port: 0,
      host: '127.0.0.1',
      gitlab: { retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 5000, ambiguousSettleMs: 1 },
      reviewer: { paceMs: 0 },
    });
    await s.api.currentUser();
    return s;
  }

  it('reads the project and its protected refs once per TTL, files once per sha, and no file on a recheck', async () => {
    const srv = await service();
    const project = gl.addProject({ path: 'acme/app' });
    const mr = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make check') }, headPipeline: true });

    let mark = gl.requests.length;
    expect(await deliver(srv, 'Merge Request Hook', mrHook(gl, mr, { action: 'open' }))).toBe(202);
    const cold = routes(mark);
    // A replica that never saw the project: N files at head, at base only the one the MR changed
    // (the others are the head's), the policy file at base, the project and its protected
    // branches and tags, then MR, its changes, 2 statuses, 1 note (a new MR has no user note, so no
    // discussions listing).
    const base = (f: string) => `${f}@${mr.baseSha.slice(0, 7)}`;
    expect(rawReads(mark).filter((r) => r.endsWith(mr.baseSha.slice(0, 7))).sort()).toEqual([base('.gitlab/tierguard.yml'), base('ci/test.yml')]);
    expect(cold['GET /projects/:id/repository/files/:path/raw']).toBe(N + 1 + 1);
    expect(projectReads(cold)).toEqual([1, 1, 1]);
    expect(cold['GET /user'] ?? 0).toBe(0);
    expect(cold['GET /projects/:id/merge_requests/:iid/discussions'] ?? 0).toBe(0);
    expect(total(cold)).toBe(N + 1 + 1 + 3 + 5);

    mark = gl.requests.length;
    expect(await deliver(srv, 'Note Hook', { object_kind: 'note', user: { id: 42 }, project: { id: project.id }, object_attributes: { note: '/tierguard recheck', noteable_type: 'MergeRequest', action: 'create' }, merge_request: { iid: mr.iid, target_project_id: project.id, last_commit: { id: mr.headSha } } })).toBe(202);
    const recheck = routes(mark);
    expect(rawReads(mark)).toEqual([]);
    expect(recheck).toEqual({
      'GET /projects/:id/merge_requests/:iid': 1,
      'GET /projects/:id/merge_requests/:iid/changes': 1,
      'GET /projects/:id/merge_requests/:iid/discussions': 1,
      'POST /projects/:id/statuses/:sha': 2,
    });

    // Another MR after the target branch moved (a new base sha): neither the project nor the
    // project policy file is read again within the TTL: N + 1 + 5 calls.
    const moved = { ...BASE, 'README.md': 'b\n' };
    const mr2 = gl.addMergeRequest(project.id, { base: moved, head: { ...moved, 'ci/test.yml': TEST('make bench') }, headPipeline: true });
    mark = gl.requests.length;
    await deliver(srv, 'Merge Request Hook', mrHook(gl, mr2, { action: 'open' }));
    const second = routes(mark);
    expect(projectReads(second)).toEqual([0, 0, 0]);
    expect(rawReads(mark).some((r) => r.startsWith('.gitlab/tierguard.yml@'))).toBe(false);
    expect(second['GET /projects/:id/repository/files/:path/raw']).toBe(N + 1);
    expect(total(second)).toBe(N + 1 + 5);

    // A system hook saying the project changed drops the kept policy file with the project.
    expect(await deliver(srv, 'System Hook', { event_name: 'project_update', project_id: project.id, path_with_namespace: 'acme/app' })).toBe(200);
    const moved2 = { ...moved, 'README.md': 'c\n' };
    const mr3 = gl.addMergeRequest(project.id, { base: moved2, head: { ...moved2, 'ci/test.yml': TEST('make lint') }, headPipeline: true });
    mark = gl.requests.length;
    await deliver(srv, 'Merge Request Hook', mrHook(gl, mr3, { action: 'open' }));
    expect(rawReads(mark)).toContain(`.gitlab/tierguard.yml@${mr3.baseSha.slice(0, 7)}`);
  });

  it('drops the cached project when a system hook says it changed or a merge request hook shows other settings', async () => {
    const srv = await service();
    const project = gl.addProject({ path: 'acme/app' });
    const mr = gl.addMergeRequest(project.id, { base: BASE, head: { ...BASE, 'ci/test.yml': TEST('make check') }, headPipeline: true });
    await deliver(srv, 'Merge Request Hook', mrHook(gl, mr, { action: 'open' }));

    // project_update (app/services/system_hooks_service.rb): read again on the next review.
    expect(await deliver(srv, 'System Hook', { event_name: 'project_update', project_id: project.id, path_with_namespace: 'acme/app' })).toBe(200);
    let mark = gl.requests.length;
    const push1 = pushToMr(gl, mr, BASE, { ...BASE, 'ci/test.yml': TEST('make check2') }, { pipeline: true });
    await deliver(srv, 'Merge Request Hook', mrHook(gl, mr, { action: 'update', oldrev: push1.oldrev }));
    expect(projectReads(routes(mark))).toEqual([1, 1, 1]);

    // The same settings in a merge request hook keep the cache; another CI config path drops it.
    mark = gl.requests.length;
    const push2 = pushToMr(gl, mr, BASE, { ...BASE, 'ci/test.yml': TEST('make check3') }, { pipeline: true });
    await deliver(srv, 'Merge Request Hook', mrHook(gl, mr, { action: 'update', oldrev: push2.oldrev }));
    expect(projectReads(routes(mark))).toEqual([0, 0, 0]);

    gl.state.projects.get(project.id)!.ciConfigPath = 'ci/root.yml';
    const push3 = pushToMr(gl, mr, BASE, { ...BASE, 'ci/root.yml': ROOT, 'ci/test.yml': TEST('make check4') }, { pipeline: true });
    mark = gl.requests.length;
    await deliver(srv, 'Merge Request Hook', mrHook(gl, mr, { action: 'update', oldrev: push3.oldrev }));
    expect(routes(mark)['GET /projects/:id']).toBe(1);
    expect(rawReads(mark)).toContain(`ci/root.yml@${mr.headSha.slice(0, 7)}`);
  });
});
