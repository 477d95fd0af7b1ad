import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { GitLabConfigSource, hostAllowed } from '../../src/gitlab/config-source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { lintPipeline } from '../../src/rules/run.js';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';

let gl: FakeGitLab;
let remote: Server;
let remoteUrl: string;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  gl = await startFakeGitLab();
  remote = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/ci.yml') return res.writeHead(200, { 'content-type': 'text/plain' }).end('remote_job:\n  script: [echo remote]\n');
    if (req.url === '/big.yml') return res.writeHead(200).end('x'.repeat(5000));
    if (req.url === '/away.yml') return res.writeHead(302, { location: 'http://example.invalid/ci.yml' }).end();
    if (req.url === '/here.yml') return res.writeHead(302, { location: '/ci.yml' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  remoteUrl = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await gl.close();
  await new Promise((r) => remote.close(r));
});

function source(projectId: number, sha: string, allowedHosts: string[] = [], maxBytes?: number) {
  const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 0 } });
  return new GitLabConfigSource({ api, projectId, sha, remote: { allowedHosts, timeoutMs: 2000, ...(maxBytes ? { maxBytes } : {}) } });
}

describe('GitLabConfigSource', () => {
  it('reads local files from the target project at the sha, other projects at their ref or default branch', async () => {
    const lib = gl.addProject({ path: 'acme/ci-lib', defaultBranch: 'trunk', files: { 'deploy.yml': 'from trunk' } });
    gl.addCommit(lib.id, { 'deploy.yml': 'from v1' }, 'v1');
    const app = gl.addProject({ path: 'acme/app' });
    const sha = gl.addCommit(app.id, { '.gitlab-ci.yml': 'root', 'ci/a.yml': 'a', 'ci/sub/b.yml': 'b', 'ci/c.txt': 'c' });
    const src = source(app.id, sha);
    expect(await src.read({ kind: 'local', path: '/ci/a.yml' })).toEqual({ status: 'ok', text: 'a' });
    expect(await src.read({ kind: 'local', path: 'nope.yml' })).toEqual({ status: 'missing' });
    expect(await src.read({ kind: 'project', project: 'acme/ci-lib', path: 'deploy.yml' })).toEqual({ status: 'ok', text: 'from trunk' });
    expect(await src.read({ kind: 'project', project: 'acme/ci-lib', ref: 'v1', path: '/deploy.yml' })).toEqual({ status: 'ok', text: 'from v1' });
    // A nested local include inside a project include resolves in that project.
    expect(await src.read({ kind: 'local', project: 'acme/ci-lib', ref: 'v1', path: 'deploy.yml' })).toEqual({ status: 'ok', text: 'from v1' });
    expect(await src.read({ kind: 'project', project: 'acme/unknown', path: 'x.yml' })).toEqual({ status: 'missing' });
    expect(await src.glob('ci/**/*.yml')).toEqual(['ci/a.yml', 'ci/sub/b.yml']);
    expect(await src.glob('ci/*.yml')).toEqual(['ci/a.yml']);
    const reads = gl.requests.filter((r) => r.path.startsWith(`/projects/${app.id}/repository/files/`));
    expect(reads.every((r) => r.query.ref === sha)).toBe(true);
  });

  it('caches files by project, sha and path', async () => {
    const app = gl.addProject({ path: 'acme/cached' });
    const sha = gl.addCommit(app.id, { 'a.yml': 'a' });
    const src = source(app.id, sha);
    await src.read({ kind: 'local', path: 'a.yml' });
    await src.read({ kind: 'local', path: 'a.yml' });
    expect(gl.requests.filter((r) => r.path === `/projects/${app.id}/repository/files/a.yml/raw`)).toHaveLength(1);
  });

  it('with sameAs, reads this project\'s files the diff does not list at that sha, the listed ones and odd paths at its own', async () => {
    const app = gl.addProject({ path: 'acme/same' });
    const base = gl.addCommit(app.id, { 'a.yml': 'a', 'ci/b.yml': 'b0', 'ci/c.yml': 'c' });
    const head = gl.addCommit(app.id, { 'a.yml': 'a', 'ci/b.yml': 'b1', 'ci/c.yml': 'c' });
    const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 0 } });
    const src = new GitLabConfigSource({ api, projectId: app.id, sha: base, remote: { allowedHosts: [] }, sameAs: { sha: head, changed: new Set(['ci/b.yml']) } });
    const mark = gl.requests.length;
    expect(await src.read({ kind: 'local', path: '/a.yml' })).toEqual({ status: 'ok', text: 'a' });
    expect(await src.read({ kind: 'local', path: 'ci/b.yml' })).toEqual({ status: 'ok', text: 'b0' });
    // `ci//c.yml` is not how the diff names a path: read at the base itself.
    await src.read({ kind: 'local', path: 'ci//c.yml' });
    const refs = gl.requests.slice(mark).map((r) => `${decodeURIComponent(r.path.replace(/^.*\/files\/(.*)\/raw$/, '$1'))}@${r.query.ref === head ? 'head' : r.query.ref === base ? 'base' : r.query.ref}`);
    expect(refs).toEqual(['a.yml@head', 'ci/b.yml@base', 'ci//c.yml@base']);
  });

  it('reads components from templates/<name>.yml or templates/<name>/template.yml at the version, and templates by name', async () => {
    gl.addProject({ path: 'comp/lib', files: {} });
    const lib = [...gl.state.projects.values()].find((p) => p.pathWithNamespace === 'comp/lib')!;
    gl.addCommit(lib.id, { 'templates/one.yml': 'one', 'templates/two/template.yml': 'two' }, '1.0.0');
    gl.state.templates.set('Bash', 'bash template');
    const app = gl.addProject({ path: 'acme/comp-user' });
    const src = source(app.id, gl.addCommit(app.id, {}));
    const comp = (name: string) => ({ kind: 'component' as const, address: `gitlab.example.com/comp/lib/${name}@1.0.0`, project: 'comp/lib', name, version: '1.0.0' });
    expect(await src.read(comp('one'))).toEqual({ status: 'ok', text: 'one' });
    expect(await src.read(comp('two'))).toEqual({ status: 'ok', text: 'two' });
    expect(await src.read(comp('three'))).toEqual({ status: 'missing' });
    expect(await src.read({ kind: 'template', name: 'Bash.gitlab-ci.yml' })).toEqual({ status: 'ok', text: 'bash template' });
    expect(await src.read({ kind: 'template', name: 'Nope.gitlab-ci.yml' })).toEqual({ status: 'missing' });
  });

  it('fetches include:remote only from allowlisted hosts, without the GitLab token', async () => {
    const app = gl.addProject({ path: 'acme/remote' });
    const sha = gl.addCommit(app.id, {});
    const denied = source(app.id, sha, ['ci.example.com']);
    expect(await denied.read({ kind: 'remote', url: `${remoteUrl}/ci.yml` })).toEqual({ status: 'unavailable', reason: 'host not allowlisted' });
    expect(seen).toHaveLength(0);

    const allowed = source(app.id, sha, ['127.0.0.1'], 1000);
    expect(await allowed.read({ kind: 'remote', url: `${remoteUrl}/ci.yml` })).toEqual({ status: 'ok', text: 'remote_job:\n  script: [echo remote]\n' });
    expect(await allowed.read({ kind: 'remote', url: `${remoteUrl}/here.yml` })).toMatchObject({ status: 'ok' });
    expect(await allowed.read({ kind: 'remote', url: `${remoteUrl}/away.yml` })).toEqual({ status: 'unavailable', reason: 'redirect to another host refused' });
    expect(await allowed.read({ kind: 'remote', url: `${remoteUrl}/big.yml` })).toEqual({ status: 'unavailable', reason: 'larger than 1000 bytes' });
    expect(await allowed.read({ kind: 'remote', url: `${remoteUrl}/gone.yml` })).toEqual({ status: 'missing' });
    expect(seen.length).toBeGreaterThan(0);
    for (const h of seen) {
      expect(h.authorization).toBeUndefined();
      expect(h['private-token']).toBeUndefined();
      expect(JSON.stringify(h)).not.toContain(gl.token);
    }
  });

  it('matches allowlisted hosts exactly or by *.suffix', () => {
    expect(hostAllowed('gitlab.example.com', ['gitlab.example.com'])).toBe(true);
    expect(hostAllowed('evil-gitlab.example.com', ['gitlab.example.com'])).toBe(false);
    expect(hostAllowed('a.example.com', ['*.example.com'])).toBe(true);
    expect(hostAllowed('example.com', ['*.example.com'])).toBe(false);
    expect(hostAllowed('example.com.evil.io', ['example.com'])).toBe(false);
  });

  it('an evaluation over the API records a non-allowlisted remote include as unresolved', async () => {
    const app = gl.addProject({ path: 'acme/eval' });
    const sha = gl.addCommit(app.id, {
      '.gitlab-ci.yml': `include:\n  - local: ci/test.yml\n  - remote: ${remoteUrl}/ci.yml\n`,
      'ci/test.yml': 'test:\n  tags: [ci-general]\n  script: [make test]\n',
    });
    const seenBefore = seen.length;
    const ev = await lintPipeline(source(app.id, sha), '.gitlab-ci.yml', { policy: builtinPolicy() });
    expect(ev.pipeline.files.map((f) => f.name)).toEqual(['.gitlab-ci.yml', 'ci/test.yml']);
    expect(ev.pipeline.jobs.map((j) => j.name)).toEqual(['test']);
    expect(ev.notes.join('\n')).toMatch(/host not allowlisted/);
    expect(seen.length).toBe(seenBefore);
  });
});
