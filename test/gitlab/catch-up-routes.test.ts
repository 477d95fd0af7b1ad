/** The adapter's catch-up routes (issue 12) against the fake GitLab, with pagination. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';
import { defined } from '../support/defined.js';

describe('catch-up routes', () => {
  let gl: FakeGitLab;
  let api: GitLabApi;
  beforeEach(async () => {
    // per_page defaults to 2 here: every list below needs several pages unless per_page is sent.
    gl = await startFakeGitLab({ defaultPerPage: 2 });
    api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 2000 });
  });
  afterEach(async () => {
    await gl.close();
  });

  it('lists the projects where the user is at least Developer (membership=true&min_access_level=30)', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 205; i += 1) ids.push(gl.addProject({ path: `g/p${i}` }).id);
    gl.state.projects.get(defined(ids[3]))!.roles.set(gl.botUser.id, 20); // Reporter: not listed
    const got = await api.listMemberProjects();
    expect(got.sort((a, b) => a - b)).toEqual(ids.filter((id) => id !== ids[3]));
    const reqs = gl.requests.filter((r) => r.path === '/projects');
    expect(reqs).toHaveLength(3); // 204 projects, 100 per page
    expect(reqs[0]?.query).toMatchObject({ membership: 'true', min_access_level: '30', archived: 'false', simple: 'true', per_page: '100' });
  });

  it('lists the open MRs of a project updated after a time', async () => {
    const p = gl.addProject({ path: 'g/app' });
    const a = gl.addMergeRequest(p.id, { base: { f: '1' }, head: { f: '2' } });
    const b = gl.addMergeRequest(p.id, { base: { f: '1' }, head: { f: '3' } });
    const c = gl.addMergeRequest(p.id, { base: { f: '1' }, head: { f: '4' } });
    b.updatedAt = '2020-01-01T00:00:00Z';
    c.state = 'merged';
    const got = await api.listOpenMergeRequests(p.id, new Date('2024-01-01T00:00:00Z'));
    expect(got).toEqual([{ iid: a.iid, projectId: p.id, sha: a.headSha, state: 'opened', updatedAt: a.updatedAt }]);
    expect(gl.requests.find((r) => r.path === `/projects/${p.id}/merge_requests`)?.query).toMatchObject({ state: 'opened', updated_after: '2024-01-01T00:00:00.000Z' });
  });

  it('lists the statuses of a sha with one name, oldest first, all of them (all=true)', async () => {
    const p = gl.addProject({ path: 'g/app' });
    const mr = gl.addMergeRequest(p.id, { base: { f: '1' }, head: { f: '2' }, headPipeline: true });
    for (const [name, state] of [['tierguard', 'running'], ['other', 'success'], ['tierguard', 'failed'], ['tierguard', 'running'], ['tierguard', 'success']] as const) {
      await api.setCommitStatus(p.id, mr.headSha, { state, name, pipelineId: mr.headPipelineId! });
    }
    const got = await api.listCommitStatuses(p.id, mr.headSha, 'tierguard');
    expect(got.map((s) => s.status)).toEqual(['failed', 'success']);
    expect(got.every((s) => s.name === 'tierguard' && s.authorId === gl.botUser.id)).toBe(true);
    expect(gl.requests.find((r) => r.path.endsWith('/statuses'))?.query).toMatchObject({ name: 'tierguard', all: 'true' });
    await expect(api.listCommitStatuses(p.id, 'f'.repeat(40), 'tierguard')).rejects.toMatchObject({ status: 404, transient: false });
  });
});
