import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi, type GitLabApiOptions } from '../../src/gitlab/client.js';
import { GitLabError, PositionRejectedError } from '../../src/gitlab/errors.js';
import { parseRetryAfter } from '../../src/gitlab/retry.js';

const URL_ = 'https://gitlab.example.com';
const TOKEN = 'glpat-SuperSecretToken42';
const PROJECT = { id: 1, path_with_namespace: 'g/app', namespace: { full_path: 'g' }, default_branch: 'main', ci_config_path: null, web_url: `${URL_}/g/app` };
const USER = { id: 9, username: 'tierguard-bot' };

let sleeps: number[];
let logs: Array<{ obj: object; msg?: string }>;
let calls: Array<[string, number]>;

function api(extra: Partial<GitLabApiOptions> = {}) {
  return createGitLabApi({
    url: URL_,
    token: TOKEN,
    retry: { retries: 3, baseMs: 10, maxMs: 1000 },
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    logger: { warn: (obj, msg) => logs.push({ obj, msg }), debug: (obj, msg) => logs.push({ obj, msg }) },
    onCall: (route, status) => calls.push([route, status]),
    ...extra,
  });
}

const gitlab = () => nock(URL_, { reqheaders: { 'private-token': TOKEN } });

beforeEach(() => {
  sleeps = [];
  logs = [];
  calls = [];
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('retries', () => {
  it('retries 500 with exponential backoff and full jitter, then succeeds', async () => {
    const scope = gitlab().get('/api/v4/projects/1').times(2).reply(500, { message: '500 Internal Server Error' }).get('/api/v4/projects/1').reply(200, PROJECT);
    const p = await api().getProject(1);
    expect(p.pathWithNamespace).toBe('g/app');
    // random() = 0.5 → half of min(maxMs, baseMs * 2^attempt)
    expect(sleeps).toEqual([5, 10]);
    expect(calls).toEqual([
      ['GET /projects/:id', 500],
      ['GET /projects/:id', 500],
      ['GET /projects/:id', 200],
    ]);
    expect(scope.isDone()).toBe(true);
  });

  it('gives up after `retries` and reports a transient GitLabError', async () => {
    gitlab().get('/api/v4/projects/1').times(4).reply(503, 'upstream down', { 'content-type': 'text/html' });
    const err = await api().getProject(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitLabError);
    expect(err).toMatchObject({ status: 503, route: 'GET /projects/:id', transient: true });
    expect((err as Error).message).toContain('upstream down');
    expect(sleeps).toHaveLength(3);
  });

  it('honours Retry-After (seconds) on 429', async () => {
    gitlab().get('/api/v4/user').reply(429, { message: 'Retry later' }, { 'retry-after': '3' }).get('/api/v4/user').reply(200, USER);
    expect(await api().currentUser()).toEqual(USER);
    expect(sleeps).toEqual([3000]);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const when = new Date(Date.now() + 5000).toUTCString();
    gitlab().get('/api/v4/user').reply(429, {}, { 'retry-after': when }).get('/api/v4/user').reply(200, USER);
    await api().currentUser();
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2000);
    expect(sleeps[0]).toBeLessThanOrEqual(5000);
  });

  it('does not wait for a Retry-After beyond maxRetryAfterMs', async () => {
    gitlab().get('/api/v4/user').reply(429, { message: 'slow down' }, { 'retry-after': '3600' });
    await expect(api().currentUser()).rejects.toMatchObject({ status: 429 });
    expect(sleeps).toEqual([]);
  });

  it('parses Retry-After forms', () => {
    expect(parseRetryAfter('12')).toBe(12_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });

  it('does not retry a 4xx', async () => {
    const scope = gitlab().get('/api/v4/projects/1').reply(404, { message: '404 Project Not Found' });
    const err = await api().getProject(1).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, route: 'GET /projects/:id', transient: false });
    expect((err as Error).message).toContain('404 Project Not Found');
    expect(sleeps).toEqual([]);
    expect(scope.isDone()).toBe(true);
  });

  it('retries a read after a network error', async () => {
    gitlab().get('/api/v4/user').replyWithError({ code: 'ECONNRESET', message: 'socket hang up' }).get('/api/v4/user').reply(200, USER);
    expect(await api().currentUser()).toEqual(USER);
    expect(calls.map((c) => c[1])).toEqual([0, 200]);
  });

  it('retries a read after a timeout', async () => {
    gitlab().get('/api/v4/user').delay(300).reply(200, USER).get('/api/v4/user').reply(200, USER);
    expect(await api({ timeoutMs: 50 }).currentUser()).toEqual(USER);
    expect(calls[0]).toEqual(['GET /user', 0]);
    expect(sleeps).toHaveLength(1);
  });
});

describe('pagination', () => {
  const branch = (n: number) => ({ id: n, name: `release-${n}`, allow_force_push: false });

  it('follows same-origin Link rel="next" across pages', async () => {
    const next = `${URL_}/api/v4/projects/1/protected_branches?page=2&per_page=100`;
    gitlab()
      .get('/api/v4/projects/1/protected_branches')
      .query({ per_page: '100' })
      .reply(200, [branch(1), branch(2)], { link: `<${next}>; rel="next"`, 'x-next-page': '2' })
      .get('/api/v4/projects/1/protected_branches')
      .query({ page: '2', per_page: '100' })
      .reply(200, [branch(3)]);
    const out = await api().listProtectedBranches(1);
    expect(out.map((b) => b.name)).toEqual(['release-1', 'release-2', 'release-3']);
  });

  it('does not follow a next link on another origin', async () => {
    const evil = nock('https://evil.example').get(/.*/).reply(200, []);
    gitlab()
      .get('/api/v4/projects/1/protected_branches')
      .query(true)
      .reply(200, [branch(1)], { link: '<https://evil.example/api/v4/projects/1/protected_branches?page=2>; rel="next"' });
    const out = await api().listProtectedBranches(1);
    expect(out).toHaveLength(1);
    expect(evil.isDone()).toBe(false);
    expect(logs.some((l) => /another origin/.test(l.msg ?? ''))).toBe(true);
  });

  it('does not follow redirects (the token would go with them)', async () => {
    const elsewhere = nock('https://elsewhere.example').get(/.*/).reply(200, PROJECT);
    gitlab().get('/api/v4/projects/1').reply(302, '', { location: 'https://elsewhere.example/api/v4/projects/1' });
    await expect(api().getProject(1)).rejects.toMatchObject({ status: 302 });
    expect(elsewhere.isDone()).toBe(false);
  });
});

describe('writes', () => {
  const pos = { baseSha: 'a'.repeat(40), startSha: 'a'.repeat(40), headSha: 'b'.repeat(40), oldPath: '.gitlab-ci.yml', newPath: '.gitlab-ci.yml', newLine: 12 };

  it('treats a "Cannot transition status" 400 as already in that state', async () => {
    gitlab()
      .post('/api/v4/projects/1/statuses/' + 'b'.repeat(40), (body) => body.state === 'running' && body.name === 'tierguard' && body.pipeline_id === 77)
      .reply(400, { message: 'Cannot transition status via :run from :running (Reason(s): Status cannot transition via "run")' });
    const out = await api().setCommitStatus(1, 'b'.repeat(40), { state: 'running', name: 'tierguard', pipelineId: 77 });
    expect(out).toBe('unchanged');
  });

  it('still throws other commit status 400s', async () => {
    gitlab().post(`/api/v4/projects/1/statuses/${'b'.repeat(40)}`).reply(400, { error: 'state does not have a valid value' });
    await expect(api().setCommitStatus(1, 'b'.repeat(40), { state: 'success', name: 'tierguard' })).rejects.toMatchObject({
      status: 400,
      route: 'POST /projects/:id/statuses/:sha',
    });
  });

  it('retries a commit status on 5xx (repeating it is harmless)', async () => {
    gitlab().post(`/api/v4/projects/1/statuses/${'b'.repeat(40)}`).reply(502, 'Bad Gateway').post(`/api/v4/projects/1/statuses/${'b'.repeat(40)}`).reply(201, { id: 1 });
    expect(await api().setCommitStatus(1, 'b'.repeat(40), { state: 'success', name: 'tierguard' })).toBe('created');
  });

  it('throws PositionRejectedError for a line outside the diff', async () => {
    gitlab()
      .post('/api/v4/projects/1/merge_requests/3/discussions')
      .reply(400, { message: '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}' });
    const err = await api().createDiscussion(1, 3, 'finding', pos).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PositionRejectedError);
    expect(err).toMatchObject({ status: 400, route: 'POST /projects/:id/merge_requests/:iid/discussions' });
    expect((err as Error).message).toContain('line_code');
  });

  it('sends the position as position[...] form fields', async () => {
    let sent = '';
    gitlab()
      .post('/api/v4/projects/1/merge_requests/3/discussions', (body) => {
        sent = typeof body === 'string' ? body : JSON.stringify(body);
        return true;
      })
      .reply(201, { id: 'd1', notes: [{ id: 5 }] });
    expect(await api().createDiscussion(1, 3, 'finding', pos)).toEqual({ id: 'd1', noteId: 5 });
    expect(sent).toContain('name="position[new_line]"');
    expect(sent).toContain('name="position[position_type]"');
    expect(sent).not.toContain('old_line');
  });

  it('an ambiguous create (500) returns the note that landed instead of posting twice', async () => {
    const marker = '<!-- tierguard:summary -->';
    const post = gitlab().post('/api/v4/projects/1/merge_requests/3/notes').once().reply(500, { message: '500 Internal Server Error' });
    gitlab()
      .get('/api/v4/user')
      .reply(200, USER)
      .get('/api/v4/projects/1/merge_requests/3/discussions')
      .query(true)
      .reply(200, [
        { id: 'x', individual_note: true, notes: [{ id: 40, body: `spoof ${marker}`, author: { id: 1 } }] },
        { id: 'y', individual_note: true, notes: [{ id: 41, body: `Summary ${marker}`, author: { id: 9 } }] },
      ]);
    const note = await api().createNote(1, 3, `Summary ${marker}`, { idempotencyMarker: marker });
    expect(note).toEqual({ id: 41 });
    expect(post.isDone()).toBe(true);
    // nock would fail a second POST (no interceptor left, net connect disabled)
    expect(calls.filter(([r]) => r.startsWith('POST')).length).toBe(1);
  });

  it('an ambiguous create without a marker is thrown, not retried', async () => {
    gitlab().post('/api/v4/projects/1/merge_requests/3/notes').reply(504, 'Gateway Timeout');
    const err = await api().createNote(1, 3, 'hello').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 504, ambiguous: true });
    expect(sleeps).toEqual([]);
  });

  it('rejects a marker that is not in the body', async () => {
    await expect(api().createNote(1, 3, 'hello', { idempotencyMarker: '<!-- m -->' })).rejects.toThrow(/idempotencyMarker/);
  });
});

describe('secrets', () => {
  it('never puts the token in error messages or logs', async () => {
    gitlab().get('/api/v4/projects/1').reply(403, { message: `403 Forbidden - token ${TOKEN} lacks scope` });
    gitlab().get('/api/v4/user').times(4).reply(500, `boom ${TOKEN}`, { 'content-type': 'text/plain' });
    const a = api();
    const e1 = (await a.getProject(1).catch((e: unknown) => e)) as GitLabError;
    const e2 = (await a.currentUser().catch((e: unknown) => e)) as GitLabError;
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(GitLabError);
      expect(e.message).toContain('[REDACTED]');
      expect(`${e.message}${e.stack}${JSON.stringify(e)}`).not.toContain(TOKEN);
    }
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
    expect(logs.length).toBeGreaterThan(0);
  });

  it('never returns CI/CD variable values', async () => {
    gitlab()
      .get('/api/v4/projects/1/variables')
      .query(true)
      .reply(200, [{ key: 'K', value: 's3cr3t-value', protected: false, masked: true, environment_scope: '*', variable_type: 'env_var' }]);
    const vars = await api().listProjectVariables(1);
    expect(vars[0]).not.toHaveProperty('value');
    expect(JSON.stringify(vars)).not.toContain('s3cr3t-value');
  });

  it('reads the MR changes: the head sha, the files, and from changes_count and overflow whether the list is whole', async () => {
    const diff = { old_path: 'a.yml', new_path: 'a.yml', new_file: false, renamed_file: false, deleted_file: false, diff: '@@ -1 +1 @@\n-x\n+y\n' };
    const answer = (changes: string | null | undefined, overflow?: boolean) => ({
      iid: 2, project_id: 1, sha: 'a'.repeat(40), changes: [diff],
      ...(changes === undefined ? {} : { changes_count: changes }),
      ...(overflow === undefined ? {} : { overflow }),
    });
    const seen: (boolean | null)[] = [];
    for (const [c, o] of [['12', false], ['1000+', false], ['12', true], [null, undefined], [undefined, undefined]] as const) {
      gitlab().get('/api/v4/projects/1/merge_requests/2/changes').reply(200, answer(c, o));
      const got = await api().getMergeRequestChanges(1, 2);
      expect(got.sha).toBe('a'.repeat(40));
      expect(got.diffs.map((d) => d.newPath)).toEqual(['a.yml']);
      seen.push(got.complete);
    }
    // "1000+": GitLab stored only part of the diff (Gitlab::Git::DiffCollection#real_size);
    // overflow: the listed collection was cut at its limits.
    expect(seen).toEqual([true, false, false, null, null]);
  });

  it('rejects a response that does not match the schema with a clear error', async () => {
    gitlab().get('/api/v4/projects/1/merge_requests/2').reply(200, { iid: 'two' });
    await expect(api().getMergeRequest(1, 2)).rejects.toThrow(/GET \/projects\/:id\/merge_requests\/:iid .*unexpected response: iid/);
  });
});
