/** The real adapter (gitbeaker + our requester) end to end against the loopback fake. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi, type GitLabApiOptions } from '../../src/gitlab/client.js';
import { GitLabError, PositionRejectedError } from '../../src/gitlab/errors.js';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';
import { defined } from '../support/defined.js';

const BASE = 'build:\n  script: make\n';
const HEAD = 'build:\n  script: make\n  tags: [prod]\n';

describe('createGitLabApi against the fake GitLab', () => {
  let gl: FakeGitLab;
  let api: GitLabApi;
  const make = (extra: Partial<GitLabApiOptions> = {}): GitLabApi =>
    createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 3, baseMs: 1, maxMs: 5 }, timeoutMs: 2000, ...extra });

  beforeEach(async () => {
    gl = await startFakeGitLab();
    api = make();
    gl.addProject({ path: 'group/sub/app', ciConfigPath: 'ci/main.yml' });
    gl.addMergeRequest(1, {
      base: { '.gitlab-ci.yml': BASE, 'ci/jobs.yml': 'a: 1\n' },
      head: { '.gitlab-ci.yml': HEAD, 'ci/jobs.yml': 'a: 2\n' },
      headPipeline: true,
    });
  });
  afterEach(async () => {
    await gl.close();
  });

  it('reads project, merge request, diffs and raw files', async () => {
    expect(await api.currentUser()).toEqual({ id: gl.botUser.id, username: 'tierguard-bot' });
    expect(await api.getProject('group/sub/app')).toEqual({
      id: 1,
      pathWithNamespace: 'group/sub/app',
      namespaceFullPath: 'group/sub',
      defaultBranch: 'main',
      ciConfigPath: 'ci/main.yml',
      webUrl: `${gl.url}/group/sub/app`,
      visibility: 'private',
    });
    const mr = await api.getMergeRequest(1, 1);
    expect(mr.authorId).toBe(gl.getMergeRequest(1, 1).authorId);
    const fake = gl.getMergeRequest(1, 1);
    expect(mr).toMatchObject({ iid: 1, projectId: 1, sha: fake.headSha, headPipelineId: fake.headPipelineId, state: 'opened' });
    expect(mr.diffRefs).toEqual({ baseSha: fake.baseSha, headSha: fake.headSha, startSha: fake.startSha });
    const changes = await api.getMergeRequestChanges(1, 1);
    expect(changes).toMatchObject({ sha: fake.headSha, complete: true });
    const { diffs } = changes;
    expect(diffs.map((d) => d.newPath)).toEqual(['.gitlab-ci.yml', 'ci/jobs.yml']);
    expect(diffs[0]?.diff).toBe('@@ -1,2 +1,3 @@\n build:\n   script: make\n+  tags: [prod]\n');
    expect(await api.getRawFile(1, 'ci/jobs.yml', fake.headSha)).toBe('a: 2\n');
    expect(await api.getRawFile(1, 'ci/missing.yml', fake.headSha)).toBeNull();
    expect(gl.requests.some((r) => r.path === '/projects/1/repository/files/ci%2Fjobs.yml/raw')).toBe(true);
  });

  it('lists the blobs of a repository tree with the pagination GitLab accepts (regression: `pagination=offset` got a 400)', async () => {
    const fake = gl.getMergeRequest(1, 1);
    expect(await api.listRepositoryTree(1, fake.headSha, { recursive: true })).toEqual(['.gitlab-ci.yml', 'ci/jobs.yml']);
    const tree = gl.requests.find((r) => r.path === '/projects/1/repository/tree');
    expect(tree?.query).toMatchObject({ ref: fake.headSha, recursive: 'true', per_page: '100' });
    expect(tree?.query.pagination).toBeUndefined();
  });

  it('protected tags need Maintainer; repository tags (with `protected`) and members are readable by a Developer', async () => {
    const p = gl.state.projects.get(1)!;
    p.protectedTags = ['v*'];
    p.repoTags = ['v1.0', 'nightly'];
    p.roles.set(gl.botUser.id, 30);
    await expect(api.listProtectedTags(1)).rejects.toMatchObject({ status: 403, transient: false });
    expect(await api.listRepositoryTags(1)).toEqual([
      { name: 'v1.0', protected: true },
      { name: 'nightly', protected: false },
    ]);
    const alice = gl.addUser('alice');
    p.roles.set(alice.id, 20);
    expect(await api.getProjectMember(1, alice.id)).toEqual({ id: alice.id, accessLevel: 20 });
    p.roles.set(alice.id, 0);
    expect(await api.getProjectMember(1, alice.id)).toBeNull();
    expect(gl.requests.some((r) => r.path === `/projects/1/members/all/${alice.id}`)).toBe(true);
    p.roles.set(gl.botUser.id, 40);
    expect(await api.listProtectedTags(1)).toEqual([{ name: 'v*' }]);
  });

  it('follows pagination across pages (per_page=100)', async () => {
    const p = gl.state.projects.get(1)!;
    p.protectedBranches = Array.from({ length: 130 }, (_, i) => `release-${i}`);
    expect(await api.listProtectedBranches(1)).toHaveLength(130);
    const pages = gl.requests.filter((r) => r.path === '/projects/1/protected_branches');
    expect(pages.map((r) => [r.query.page ?? '1', r.query.per_page])).toEqual([
      ['1', '100'],
      ['2', '100'],
    ]);
  });

  it('reads an MR diff of 130 files, and its head sha, in one answer', async () => {
    const head: Record<string, string> = {};
    for (let i = 0; i < 130; i += 1) head[`f${i}.yml`] = `v: ${i}\n`;
    const mr = gl.addMergeRequest(1, { base: {}, head });
    const mark = gl.requests.length;
    const changes = await api.getMergeRequestChanges(1, mr.iid);
    expect(changes).toMatchObject({ sha: mr.headSha, complete: true });
    expect(changes.diffs).toHaveLength(130);
    expect(gl.requests.slice(mark).map((r) => r.path)).toEqual([`/projects/1/merge_requests/${mr.iid}/changes`]);
  });

  it('creates an inline discussion on an added line, and rejects a line outside the diff', async () => {
    const mr = await api.getMergeRequest(1, 1);
    const refs = mr.diffRefs!;
    const at = { ...refs, oldPath: '.gitlab-ci.yml', newPath: '.gitlab-ci.yml' };
    const created = await api.createDiscussion(1, 1, 'tags: [prod] on an MR job', { ...at, newLine: 3 });
    const stored = defined(gl.getMergeRequest(1, 1).discussions[0], 'the stored discussion');
    expect(created).toEqual({ id: stored.id, noteId: stored.notes[0].id });
    expect(stored.notes[0].position).toMatchObject({ new_line: 3, old_line: null, position_type: 'text' });

    const err = await api.createDiscussion(1, 1, 'x', { ...at, newLine: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PositionRejectedError);
    expect((err as PositionRejectedError).route).toBe('POST /projects/:id/merge_requests/:iid/discussions');
    expect(gl.getMergeRequest(1, 1).discussions).toHaveLength(1);
  });

  it('lists, replies to, resolves discussions and edits notes', async () => {
    const d = await api.createDiscussion(1, 1, 'finding <!-- tg:1 -->');
    await api.replyToDiscussion(1, 1, d.id, 'fixed');
    await api.resolveDiscussion(1, 1, d.id, true);
    const note = await api.createNote(1, 1, 'summary v1');
    await api.editNote(1, 1, note.id, 'summary v2');
    const list = await api.listDiscussions(1, 1);
    expect(list).toHaveLength(2);
    expect(list[0]?.notes.map((n) => [n.body, n.resolved, n.authorId])).toEqual([
      ['finding <!-- tg:1 -->', true, gl.botUser.id],
      ['fixed', true, gl.botUser.id],
    ]);
    expect(list[1]).toMatchObject({ individualNote: true, notes: [{ id: note.id, body: 'summary v2', resolvable: false }] });
  });

  it('treats "Cannot transition status" as unchanged and attaches to the head pipeline', async () => {
    const mr = await api.getMergeRequest(1, 1);
    const input = { state: 'running' as const, name: 'tierguard', pipelineId: mr.headPipelineId! };
    expect(await api.setCommitStatus(1, mr.sha, input)).toBe('created');
    expect(await api.setCommitStatus(1, mr.sha, input)).toBe('unchanged');
    expect(
      await api.setCommitStatus(1, mr.sha, { ...input, state: 'failed', description: 'x'.repeat(300), targetUrl: 'https://gl/note' }),
    ).toBe('created');
    const statuses = gl.state.statuses;
    expect(statuses).toHaveLength(1);
    expect(statuses[0]).toMatchObject({ state: 'failed', pipelineId: mr.headPipelineId, targetUrl: 'https://gl/note' });
    expect(statuses[0]?.description).toHaveLength(255);
    await expect(api.setCommitStatus(1, '0'.repeat(40), input)).rejects.toMatchObject({ status: 404 });
  });

  it('never duplicates a note when the create lands but the answer is lost', async () => {
    const marker = '<!-- tierguard:summary -->';
    gl.failNext('POST /projects/1/merge_requests/1/notes', { status: 502, apply: true });
    const note = await api.createNote(1, 1, `summary ${marker}`, { idempotencyMarker: marker });
    const notes = gl.getMergeRequest(1, 1).discussions.flatMap((d) => d.notes);
    expect(notes).toHaveLength(1);
    expect(note.id).toBe(notes[0]?.id);
    expect(gl.requests.filter((r) => r.method === 'POST').length).toBe(1);
  });

  it('re-posts after an ambiguous failure that did not land, ignoring a marker spoofed by someone else', async () => {
    const marker = '<!-- tierguard:fp=abc -->';
    const mallory = gl.addUser('mallory');
    gl.addNote(1, 1, `copy ${marker}`, mallory.id);
    gl.failNext('POST /projects/1/merge_requests/1/discussions', { status: 500 });
    const d = await api.createDiscussion(1, 1, `finding ${marker}`, undefined, { idempotencyMarker: marker });
    const mine = gl.getMergeRequest(1, 1).discussions.filter((x) => x.notes[0].authorId === gl.botUser.id);
    expect(mine).toHaveLength(1);
    expect(d.id).toBe(mine[0]?.id);
    expect(gl.requests.filter((r) => r.method === 'POST').length).toBe(2);
  });

  it('a timed-out create that landed is found by its marker, not posted twice', async () => {
    const fast = make({ timeoutMs: 150 });
    const marker = '<!-- tierguard:timeout -->';
    gl.failNext('POST /projects/1/merge_requests/1/notes', { status: 201, apply: true, delayMs: 600 });
    await fast.createNote(1, 1, `body ${marker}`, { idempotencyMarker: marker });
    // Give the delayed handler time to finish before counting.
    await new Promise((r) => setTimeout(r, 700));
    expect(gl.getMergeRequest(1, 1).discussions.flatMap((d) => d.notes).filter((n) => n.body.includes(marker))).toHaveLength(1);
  });

  it('without a marker an ambiguous create is thrown, not retried', async () => {
    gl.failNext('POST /projects/1/merge_requests/1/notes', { status: 500, apply: true });
    const err = await api.createNote(1, 1, 'plain').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitLabError);
    expect(err).toMatchObject({ status: 500, ambiguous: true });
    expect(gl.requests.filter((r) => r.method === 'POST').length).toBe(1);
  });

  it('retries a 429 on a create (safe: not processed) and honours Retry-After', async () => {
    const sleeps: number[] = [];
    const a = make({ sleep: async (ms) => void sleeps.push(ms) });
    gl.failNext('POST /projects/1/merge_requests/1/notes', { status: 429, retryAfter: 2 });
    await a.createNote(1, 1, 'after limit');
    expect(sleeps).toEqual([2000]);
    expect(gl.getMergeRequest(1, 1).discussions).toHaveLength(1);
  });

  it('reads protected refs, templates, runners, environments, variables (without values), status checks', async () => {
    const p = gl.state.projects.get(1)!;
    p.protectedTags = ['v*'];
    p.protectedEnvironments = [{ name: 'production', deploy_access_levels: [{ access_level: 40 }], required_approval_count: 1 }];
    p.variables = [{ key: 'DEPLOY_TOKEN', value: 'hunter2-secret', protected: true, masked: true, environment_scope: 'production' }];
    p.externalStatusChecks = [{ id: 7, name: 'tierguard', external_url: 'https://tg.example/check' }];
    gl.state.templates.set('Jobs/SAST', 'sast:\n  script: x\n');
    gl.addRunner(1, { description: 'prod-deployer', tag_list: ['prod'], run_untagged: false, access_level: 'ref_protected' });
    gl.addRunner(null, { description: 'shared', paused: true });

    expect(await api.listProtectedBranches(1)).toEqual([{ name: 'main' }]);
    expect(await api.listProtectedTags(1)).toEqual([{ name: 'v*' }]);
    expect(await api.getCiTemplate('Jobs/SAST')).toBe('sast:\n  script: x\n');
    expect(await api.getCiTemplate('Nope')).toBeNull();
    const runners = await api.listProjectRunners(1);
    expect(runners.map((r) => [r.description, r.tagList, r.runUntagged, r.accessLevel, r.isShared, r.paused])).toEqual([
      ['prod-deployer', ['prod'], false, 'ref_protected', false, false],
      ['shared', [], true, 'not_protected', true, true],
    ]);
    expect(await api.listProtectedEnvironments(1)).toEqual([
      { name: 'production', deployAccessLevels: [{ accessLevel: 40, userId: null, groupId: null }], requiredApprovalCount: 1 },
    ]);
    const vars = await api.listProjectVariables(1);
    expect(vars).toEqual([
      { key: 'DEPLOY_TOKEN', variableType: 'env_var', protected: true, masked: true, hidden: false, raw: false, environmentScope: 'production' },
    ]);
    expect(JSON.stringify(vars)).not.toContain('hunter2');
    expect(await api.listExternalStatusChecks(1)).toEqual([{ id: 7, name: 'tierguard', externalUrl: 'https://tg.example/check' }]);
    const mr = gl.getMergeRequest(1, 1);
    await api.postStatusCheckResponse(1, 1, { sha: mr.headSha, externalStatusCheckId: 7, status: 'failed' });
    expect(mr.statusCheckResponses).toEqual([{ sha: mr.headSha, external_status_check_id: 7, status: 'failed' }]);
  });

  it('reports 401 as a GitLabError without the token', async () => {
    const bad = createGitLabApi({ url: gl.url, token: 'glpat-wrong-token-123' });
    const err = await bad.getProject(1).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, route: 'GET /projects/:id' });
    expect((err as Error).message).not.toContain('glpat-wrong-token-123');
  });
});
