/**
 * What an operator sees at the door: a rejected GITLAB_TOKEN turns /readyz to 503 with the
 * reason and logs one error line; an oversized webhook body gets its 413 on an open connection
 * (the sender reads the answer instead of a reset).
 */
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';
import { SECRET, policyDir } from './helpers.js';

let gl: FakeGitLab;
let server: RunningServer | undefined;
let logs = '';
beforeEach(async () => {
  gl = await startFakeGitLab();
  logs = '';
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await gl.close();
});

async function start(token: string): Promise<RunningServer> {
  server = await startServer({
    config: loadConfig({ GITLAB_URL: gl.url, GITLAB_TOKEN: token, WEBHOOK_SECRET: SECRET, POLICY_DIR: policyDir(), LOG_LEVEL: 'info' }),
    port: 0,
    host: '127.0.0.1',
    logDestination: { write: (s: string) => void (logs += s) },
    gitlab: { retry: { retries: 0 }, timeoutMs: 5000 },
  });
  return server;
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
}

describe('a rejected GITLAB_TOKEN', () => {
  it('/readyz answers 503 with the reason, and one error line says so (never the token)', async () => {
    const s = await start('glpat-revoked-0000000000');
    await until(async () => (await fetch(`${s.url}/readyz`)).status === 503 && logs.includes('rejected'));
    const r = await fetch(`${s.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^GitLab rejected GITLAB_TOKEN \(401 Unauthorized on GET \/(user|projects)\)$/) });
    const errors = logs.split('\n').filter((l) => l.includes('"level":50'));
    expect(errors.filter((l) => l.includes('GitLab rejected GITLAB_TOKEN'))).toHaveLength(1);
    expect(logs).not.toContain('glpat-revoked-0000000000');
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('a valid token is ready', async () => {
    const s = await start(gl.token);
    await until(async () => (await fetch(`${s.url}/readyz`)).status === 200);
    expect(await (await fetch(`${s.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });
});

describe('an oversized webhook body', () => {
  it('is read to the end and answered 413 on an open connection (the sender gets the answer, not EPIPE)', async () => {
    const s = await start(gl.token);
    const body = Buffer.alloc(3 * 1024 * 1024, 'x');
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${s.url}/webhooks/gitlab`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Merge Request Hook', 'content-length': body.length } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      // Write in small pieces, as a slow sender would: the server must not cut the connection.
      let off = 0;
      const pump = (): void => {
        while (off < body.length) {
          const ok = req.write(body.subarray(off, off + 64 * 1024));
          off += 64 * 1024;
          if (!ok) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text).error).toBe('body larger than 1048576 bytes');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/tierguard_webhook_events_total\{event="Merge Request Hook",result="too_large"\} 1/);
  });
});
