/** The org adapter (src/gitlab/org.ts) against the fake, and the fake's GitLab permissions. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitLabError } from '../../src/gitlab/errors.js';
import { createGitLabOrgApi, type GitLabOrgApi } from '../../src/gitlab/org.js';
import { startFakeGitLabOrg, type FakeGitLabOrg } from '../support/fake-gitlab-org.js';

describe('GitLabOrgApi against the fake GitLab', () => {
  let gl: FakeGitLabOrg;
  let org: GitLabOrgApi;
  beforeEach(async () => {
    gl = await startFakeGitLabOrg();
    org = createGitLabOrgApi({ url: gl.url, token: gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 } });
  });
  afterEach(async () => {
    await gl.close();
  });

  it('pages through a large group (100 per page), excludes archived projects, and caches reads per run', async () => {
    gl.addGroup('big');
    for (let i = 0; i < 130; i++) gl.addProject({ path: `big/sub${i % 3}/p${i}`, archived: i === 7, files: { 'a.txt': 'x' } });
    const list = await org.listGroupProjects('big');
    expect(list).toHaveLength(129);
    expect(list.some((p) => p.pathWithNamespace === 'big/sub1/p7')).toBe(false);
    expect(gl.requests.filter((q) => q.path === '/groups/big/projects').map((q) => [q.query.page, q.query.per_page])).toEqual([
      ['1', '100'],
      ['2', '100'],
    ]);
    expect((await org.listDescendantGroups('big')).map((g) => g.fullPath)).toEqual(['big/sub0', 'big/sub1', 'big/sub2']);
    await org.listGroupProjects('big');
    expect(gl.requests.filter((q) => q.path === '/groups/big/projects')).toHaveLength(2);
    expect(org.calls).toBe(3);
  });

  it('enforces GitLab roles: group runners for Owners, runner details for Maintainers, /runners/all for admins', async () => {
    gl.addGroup('g');
    const p = gl.addProject({ path: 'g/app', files: {} });
    const groupRunner = gl.addGroupRunner('g', { description: 'gr', tag_list: ['a'] });
    const projectRunner = gl.addProjectRunner(p.id, { description: 'pr' });
    const instance = gl.addInstanceRunner({ description: 'ir' });
    const status = (e: unknown) => (e instanceof GitLabError ? e.status : 0);

    expect(await org.listGroupRunnerIds('g', 'group_type')).toEqual([groupRunner.id]);
    await expect(org.listInstanceRunnerIds()).rejects.toSatisfy((e) => status(e) === 403);
    gl.setGroupRole('g', gl.base.botUser.id, 40);
    const fresh = createGitLabOrgApi({ url: gl.url, token: gl.token, retry: { retries: 0, baseMs: 1, maxMs: 1 } });
    await expect(fresh.listGroupRunnerIds('g', 'group_type')).rejects.toSatisfy((e) => status(e) === 403);
    expect((await fresh.getRunner(groupRunner.id)).tagList).toEqual(['a']); // Maintainer of the runner's group
    expect(await fresh.listProjectRunnerIds(p.id)).toEqual([projectRunner.id]);
    gl.setGroupRole('g', gl.base.botUser.id, 30);
    const dev = createGitLabOrgApi({ url: gl.url, token: gl.token, retry: { retries: 0, baseMs: 1, maxMs: 1 } });
    await expect(dev.getRunner(groupRunner.id)).rejects.toSatisfy((e) => status(e) === 403);
    await expect(dev.getRunner(projectRunner.id)).rejects.toSatisfy((e) => status(e) === 403);
    await expect(dev.listProjectRunnerIds(p.id)).rejects.toSatisfy((e) => status(e) === 403);
    expect((await dev.getRunner(instance.id)).isShared).toBe(true); // instance runners: any user
    // Updating a group runner takes the group's Owner.
    const put = (body: object) => fetch(`${gl.url}/api/v4/runners/${groupRunner.id}`, { method: 'PUT', headers: { 'private-token': gl.token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put({ access_level: 'ref_protected' })).status).toBe(403);
    gl.setGroupRole('g', gl.base.botUser.id, 50);
    expect((await put({ access_level: 'ref_protected' })).status).toBe(200);
    expect((await put({ run_untagged: false, tag_list: [] })).status).toBe(400);
    gl.admins.add(gl.base.botUser.id);
    const admin = createGitLabOrgApi({ url: gl.url, token: gl.token });
    expect(await admin.listInstanceRunnerIds()).toEqual([instance.id]);
    expect((await admin.currentUser()).isAdmin).toBe(true);
  });

  it('creates, finds by marker and edits issues as the author', async () => {
    gl.addGroup('g');
    const p = gl.addProject({ path: 'g/app', files: {} });
    const me = await org.currentUser();
    const created = await org.createIssue(p.id, 'T', 'body <!-- m -->');
    expect(created).toMatchObject({ iid: 1, title: 'T', authorId: me.id });
    expect((await org.findIssues(p.id, '<!-- m -->', me.id)).map((i) => i.iid)).toEqual([1]);
    expect(await org.findIssues(p.id, '<!-- other -->', me.id)).toEqual([]);
    await org.updateIssue(p.id, 1, 'T2', 'body2 <!-- m -->');
    expect(gl.issues[0]).toMatchObject({ title: 'T2', description: 'body2 <!-- m -->' });
  });
});
