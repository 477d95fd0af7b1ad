import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseUnifiedDiff, startFakeGitLab, unifiedDiff, type FakeGitLab } from '../support/fake-gitlab.js';

const BASE = ['stages: [test]', 'a:', '  script: echo a', 'b:', '  script: echo b', 'c:', '  script: echo c', 'd:', '  script: echo d', ''].join('\n');
const HEAD = ['stages: [test]', 'a:', '  script: echo a', 'b:', '  script: echo B', '  tags: [prod]', 'c:', '  script: echo c', 'd:', '  script: echo d', ''].join('\n');

describe('unifiedDiff', () => {
  it('emits hunks with correct line numbers and 3 lines of context', () => {
    expect(unifiedDiff(BASE, HEAD)).toBe(
      [
        '@@ -2,7 +2,8 @@',
        ' a:',
        '   script: echo a',
        ' b:',
        '-  script: echo b',
        '+  script: echo B',
        '+  tags: [prod]',
        ' c:',
        '   script: echo c',
        ' d:',
        '',
      ].join('\n'),
    );
  });

  it('numbers a new file from 1 and a deleted file to 0', () => {
    expect(unifiedDiff('', 'x\ny\n')).toBe('@@ -0,0 +1,2 @@\n+x\n+y\n');
    expect(unifiedDiff('x\n', '')).toBe('@@ -1,1 +0,0 @@\n-x\n');
    expect(unifiedDiff('same\n', 'same\n')).toBe('');
  });

  it('splits distant changes into separate hunks that parse back to the right lines', () => {
    const old = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join('\n');
    const neu = old.replace('l2\n', 'L2\n').replace('l18', 'L18');
    const diff = unifiedDiff(old, neu);
    expect(diff.match(/^@@/gm)).toHaveLength(2);
    const lines = parseUnifiedDiff(diff);
    expect(lines.find((l) => l.text === 'L18')).toEqual({ type: 'added', oldLine: null, newLine: 18, text: 'L18' });
    expect(lines.find((l) => l.text === 'l2')).toEqual({ type: 'removed', oldLine: 2, newLine: null, text: 'l2' });
    expect(lines.find((l) => l.text === 'l15')).toEqual({ type: 'context', oldLine: 15, newLine: 15, text: 'l15' });
    expect(lines.some((l) => l.text === 'l10')).toBe(false);
  });
});

describe('fake GitLab server', () => {
  let gl: FakeGitLab;
  beforeEach(async () => {
    gl = await startFakeGitLab({ noteMaxLength: 50 });
  });
  afterEach(async () => {
    await gl.close();
  });

  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== null) headers.set('private-token', init.token ?? gl.token);
    if (init.body && typeof init.body === 'string') headers.set('content-type', 'application/json');
    return fetch(`${gl.url}/api/v4${path}`, { ...init, headers });
  };
  const json = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const res = await api(path, init);
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };

  function setup() {
    const p = gl.addProject({ path: 'group/app', files: { '.gitlab-ci.yml': BASE } });
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': BASE }, head: { '.gitlab-ci.yml': HEAD }, headPipeline: true });
    const pos = (lines: { new_line?: number; old_line?: number }) => ({
      position_type: 'text',
      base_sha: mr.baseSha,
      start_sha: mr.startSha,
      head_sha: mr.headSha,
      old_path: '.gitlab-ci.yml',
      new_path: '.gitlab-ci.yml',
      ...lines,
    });
    return { p, mr, pos };
  }

  it('rejects a missing or wrong PRIVATE-TOKEN with 401 and accepts Bearer', async () => {
    expect((await json('/user', { token: null })).status).toBe(401);
    expect((await json('/user', { token: 'nope' })).status).toBe(401);
    const ok = await json('/user', { token: null, headers: { authorization: `Bearer ${gl.token}` } });
    expect(ok.body).toMatchObject({ id: gl.botUser.id, username: 'tierguard-bot' });
  });

  it('paginates with per_page (max 100), page, Link and X-Next-Page', async () => {
    const p = gl.addProject({ path: 'g/many' });
    p.protectedBranches = Array.from({ length: 25 }, (_, i) => `b${i}`);
    const first = await json(`/projects/${p.id}/protected_branches?per_page=10`);
    expect(first.body.map((b: { name: string }) => b.name)).toEqual(p.protectedBranches.slice(0, 10));
    expect(first.headers.get('x-next-page')).toBe('2');
    expect(first.headers.get('x-total')).toBe('25');
    expect(first.headers.get('link')).toContain(`<${gl.url}/api/v4/projects/${p.id}/protected_branches?per_page=10&page=2>; rel="next"`);
    const last = await json(`/projects/${p.id}/protected_branches?per_page=10&page=3`);
    expect(last.body).toHaveLength(5);
    expect(last.headers.get('x-next-page')).toBe('');
    expect(last.headers.get('link')).not.toContain('rel="next"');
    const capped = await json(`/projects/${p.id}/protected_branches?per_page=1000`);
    expect(capped.headers.get('x-per-page')).toBe('100');
  });

  it('resolves projects by URL-encoded path and serves raw files by branch or sha', async () => {
    const { mr } = setup();
    const byPath = await json('/projects/group%2Fapp');
    expect(byPath.body).toMatchObject({ id: 1, path_with_namespace: 'group/app', namespace: { full_path: 'group' } });
    const raw = await api(`/projects/1/repository/files/.gitlab-ci.yml/raw?ref=${mr.headSha}`);
    expect(raw.headers.get('content-type')).toContain('text/plain');
    expect(await raw.text()).toBe(HEAD);
    expect(await (await api(`/projects/1/repository/files/.gitlab-ci.yml/raw?ref=${mr.targetBranch}`)).text()).toBe(BASE);
    expect((await api('/projects/1/repository/files/missing.yml/raw?ref=main')).status).toBe(404);
    expect((await api('/projects/9/merge_requests/1')).status).toBe(404);
  });

  it('accepts a diff note on an added line and on a context line given both line numbers', async () => {
    const { pos } = setup();
    const added = await json('/projects/1/merge_requests/1/discussions', { method: 'POST', body: JSON.stringify({ body: 'x', position: pos({ new_line: 6 }) }) });
    expect(added.status).toBe(201);
    expect(added.body.notes[0]).toMatchObject({ type: 'DiffNote', resolvable: true, position: { new_line: 6, old_line: null } });
    const context = await json('/projects/1/merge_requests/1/discussions', { method: 'POST', body: JSON.stringify({ body: 'x', position: pos({ old_line: 6, new_line: 7 }) }) });
    expect(context.status).toBe(201);
  });

  it('rejects a diff note position outside the diff with a line_code 400', async () => {
    const { pos } = setup();
    const cases = [
      pos({ new_line: 1 }), // unchanged line outside every hunk
      pos({ new_line: 7 }), // context line without its old_line
      pos({ new_line: 99 }),
      { ...pos({ new_line: 6 }), head_sha: 'f'.repeat(40) },
      { ...pos({ new_line: 6 }), new_path: 'other.yml', old_path: 'other.yml' },
    ];
    for (const position of cases) {
      const res = await json('/projects/1/merge_requests/1/discussions', { method: 'POST', body: JSON.stringify({ body: 'x', position }) });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}');
    }
    expect(gl.getMergeRequest(1, 1).discussions).toHaveLength(0);
  });

  it('parses multipart position[...] fields like Rack', async () => {
    const { mr } = setup();
    const form = new FormData();
    form.append('body', 'multipart');
    form.append('position[position_type]', 'text');
    form.append('position[base_sha]', mr.baseSha);
    form.append('position[start_sha]', mr.startSha);
    form.append('position[head_sha]', mr.headSha);
    form.append('position[old_path]', '.gitlab-ci.yml');
    form.append('position[new_path]', '.gitlab-ci.yml');
    form.append('position[new_line]', '5');
    const res = await fetch(`${gl.url}/api/v4/projects/1/merge_requests/1/discussions`, { method: 'POST', body: form, headers: { 'private-token': gl.token } });
    expect(res.status).toBe(201);
    expect(gl.requests.at(-1)?.body).toMatchObject({ body: 'multipart', position: { new_line: '5' } });
  });

  it('rejects a missing body and a body over the note size limit', async () => {
    setup();
    const missing = await json('/projects/1/merge_requests/1/notes', { method: 'POST', body: JSON.stringify({}) });
    expect(missing).toMatchObject({ status: 400, body: { error: 'body is missing' } });
    const big = await json('/projects/1/merge_requests/1/notes', { method: 'POST', body: JSON.stringify({ body: 'x'.repeat(51) }) });
    expect(big.status).toBe(400);
    expect(big.body.message).toContain('is too long (maximum is 50 characters)');
  });

  it('resolves and replies to discussions; only the author edits a note', async () => {
    setup();
    const d = await json('/projects/1/merge_requests/1/discussions', { method: 'POST', body: JSON.stringify({ body: 'thread' }) });
    const reply = await json(`/projects/1/merge_requests/1/discussions/${d.body.id}/notes`, { method: 'POST', body: JSON.stringify({ body: 'gone' }) });
    expect(reply.status).toBe(201);
    const resolved = await json(`/projects/1/merge_requests/1/discussions/${d.body.id}?resolved=true`, { method: 'PUT' });
    expect(resolved.body.notes.map((n: { resolved: boolean }) => n.resolved)).toEqual([true, true]);
    const human = gl.addUser('alice');
    const note = gl.addNote(1, 1, 'human', human.id);
    const edit = await json(`/projects/1/merge_requests/1/notes/${note.id}`, { method: 'PUT', body: JSON.stringify({ body: 'hijack' }) });
    expect(edit.status).toBe(403);
    const plain = gl.getMergeRequest(1, 1).discussions.find((x) => x.notes[0].id === note.id)!;
    expect((await json(`/projects/1/merge_requests/1/discussions/${plain.id}?resolved=true`, { method: 'PUT' })).status).toBe(400);
  });

  it('enforces commit status transitions and never reuses a finished status', async () => {
    const { mr } = setup();
    const post = (state: string, extra: Record<string, unknown> = {}) =>
      json(`/projects/1/statuses/${mr.headSha}`, { method: 'POST', body: JSON.stringify({ state, name: 'tierguard', ...extra }) });
    expect((await post('pending')).status).toBe(201);
    const again = await post('pending');
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/^Cannot transition status via :enqueue from :pending/);
    expect((await post('running')).status).toBe(201);
    const run2 = await post('running');
    expect(run2.body.message).toMatch(/^Cannot transition status via :run from :running/);
    expect((await post('failed')).status).toBe(201);
    expect((await post('success')).status).toBe(201);
    const mine = gl.state.statuses.filter((s) => s.name === 'tierguard');
    expect(mine.map((s) => s.state)).toEqual(['failed', 'success']);
    // No pipeline_id: the newest pipeline for the sha (the MR head pipeline here).
    expect(mine.every((s) => s.pipelineId === mr.headPipelineId)).toBe(true);
  });

  it('attaches statuses to pipeline_id, or to a new external pipeline', async () => {
    const { p, mr } = setup();
    const newer = gl.addPipeline(p.id, mr.headSha, mr.sourceBranch);
    const res = await json(`/projects/1/statuses/${mr.headSha}`, { method: 'POST', body: JSON.stringify({ state: 'success', name: 'x', pipeline_id: mr.headPipelineId }) });
    expect(res.body.pipeline_id).toBe(mr.headPipelineId);
    const latest = await json(`/projects/1/statuses/${mr.headSha}`, { method: 'POST', body: JSON.stringify({ state: 'success', name: 'y' }) });
    expect(latest.body.pipeline_id).toBe(newer.id);
    const wrong = await json(`/projects/1/statuses/${mr.baseSha}`, { method: 'POST', body: JSON.stringify({ state: 'success', name: 'x', pipeline_id: mr.headPipelineId }) });
    expect(wrong.status).toBe(400);
    const external = await json(`/projects/1/statuses/${mr.baseSha}`, { method: 'POST', body: JSON.stringify({ state: 'running', name: 'z' }) });
    expect(gl.state.pipelines.find((x) => x.id === external.body.pipeline_id)).toMatchObject({ source: 'external', sha: mr.baseSha });
    expect((await json(`/projects/1/statuses/${'0'.repeat(40)}`, { method: 'POST', body: JSON.stringify({ state: 'running' }) })).status).toBe(404);
  });

  it('injects faults: count, Retry-After, delay, and apply-then-fail', async () => {
    setup();
    gl.failNext('GET /projects/1', { status: 429, retryAfter: 7, count: 2 });
    const first = await api('/projects/1');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect((await api('/projects/1')).status).toBe(429);
    expect((await api('/projects/1')).status).toBe(200);
    gl.failNext(/^POST \/projects\/1\/merge_requests\/1\/notes$/, { status: 502, apply: true });
    const lost = await api('/projects/1/merge_requests/1/notes', { method: 'POST', body: JSON.stringify({ body: 'landed' }) });
    expect(lost.status).toBe(502);
    expect(gl.getMergeRequest(1, 1).discussions.map((d) => d.notes[0].body)).toEqual(['landed']);
    expect(gl.requests.at(-1)).toMatchObject({ method: 'POST', path: '/projects/1/merge_requests/1/notes', body: { body: 'landed' }, status: 502 });
  });
});
