/**
 * Graceful drain as Kubernetes sees it: a real `bin/tierguard.js serve` child process against the
 * fake GitLab, SIGTERM while a slow review is in flight. `npm test` builds dist/ first (pretest).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';
import { CLEAN_CI, SECRET, UNSAFE_CI, mrHook, policyDir } from './helpers.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');
let gl: FakeGitLab | undefined;

afterEach(async () => {
  await gl?.close();
  gl = undefined;
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('graceful drain (SIGTERM)', () => {
  it('answers /readyz 503 "draining" at once, keeps listening, finishes the review in flight, exits 0', async () => {
    gl = await startFakeGitLab();
    const project = gl.addProject({ path: 'acme/drain' });
    const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': UNSAFE_CI }, headPipeline: true });
    // The review will wait 1.5 s on the MR's changes: SIGTERM arrives meanwhile.
    gl.slowNext(`GET /projects/${project.id}/merge_requests/${mr.iid}/changes`, 1500);

    const port = await freePort();
    const child = spawn(process.execPath, [path.join(root, 'bin', 'tierguard.js'), 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        GITLAB_URL: gl.url,
        GITLAB_TOKEN: gl.token,
        WEBHOOK_SECRET: SECRET,
        POLICY_DIR: policyDir(),
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        LIVE_CHECKS: 'off',
        RECONCILE_INTERVAL_SECONDS: '0',
        SHUTDOWN_TIMEOUT_SECONDS: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout.on('data', (b: Buffer) => (logs += b.toString()));
    child.stderr.on('data', (b: Buffer) => (logs += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      await until(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 'ready');
      const hook = (body: unknown) =>
        fetch(`${base}/webhooks/gitlab`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET },
          body: JSON.stringify(body),
        });
      expect((await hook(mrHook(gl, mr, { action: 'open' }))).status).toBe(202);
      await until(() => gl!.requests.some((r) => r.path.endsWith(`/merge_requests/${mr.iid}/changes`)), 'the review reached the slow call');

      child.kill('SIGTERM');
      await until(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 503, 'readyz 503');
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining' });
      // Still listening: liveness answers, a new delivery gets 503 (in-memory queue: GitLab redelivers).
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const late = await hook(mrHook(gl, mr, { action: 'update' }));
      expect(late.status).toBe(503);
      expect(late.headers.get('retry-after')).toBe('5');

      expect(await exited).toBe(0);
      // The review in flight finished before the exit.
      const statuses = gl.state.statuses.filter((s) => s.sha === mr.headSha && s.name === 'tierguard');
      expect(statuses.at(-1)?.state).toBe('failed');
      expect(statuses.at(-1)?.description).toMatch(/blocking/);
      expect(mr.discussions.some((d) => d.notes[0].position !== null)).toBe(true);
      expect(logs).toContain('shutting down: draining work in progress');
      expect(logs).toContain('"msg":"stopped"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
