/**
 * GitLab API calls per MR review, counted by route on the fake GitLab: a review reads each
 * file once per sha (the FileCache serves the runner-config candidates and the project policy
 * file), lists the MR's discussions once, and a recheck of the same sha reads no file again.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { createPolicyLoader } from '../../src/server/policies.js';
import type { ReviewJob } from '../../src/server/queue.js';
import { createReviewer, type Reviewer } from '../../src/server/review-mr.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest } from '../support/fake-gitlab.js';
import { CLEAN_CI, UNSAFE_CI, policyDir, pushToMr } from './helpers.js';

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

/** Calls since `from`, by route with ids and shas folded ("GET /projects/:id/repository/files/:path/raw"). */
function routes(from: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of gl.requests.slice(from)) {
    const path = r.path
      .replace(/\/projects\/\d+/, '/projects/:id')
      .replace(/\/merge_requests\/\d+/, '/merge_requests/:iid')
      .replace(/\/statuses\/[0-9a-f]{40}/, '/statuses/:sha')
      .replace(/\/files\/[^/]+\/raw/, '/files/:path/raw')
      .replace(/\/notes\/\d+/, '/notes/:nid');
    const key = `${r.method} ${path}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
const rawReads = (from: number) => gl.requests.slice(from).filter((r) => r.path.endsWith('/raw')).map((r) => `${decodeURIComponent(r.path.split('/files/')[1]?.replace(/\/raw$/, '') ?? '')}@${r.query.ref?.slice(0, 7)}`);

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
    expect(c1['GET /projects/:id/merge_requests/:iid/discussions']).toBe(1);
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
    // No CI change and no earlier tierguard discussion: one discussions listing decides it.
    expect(rawReads(mark2)).toEqual([]);
    expect(c3).toEqual({
      'GET /projects/:id/merge_requests/:iid': 1,
      'GET /projects/:id': 1,
      'POST /projects/:id/statuses/:sha': 2,
      'GET /projects/:id/merge_requests/:iid/diffs': 1,
      'GET /projects/:id/merge_requests/:iid/discussions': 1,
    });
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
