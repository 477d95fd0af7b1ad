import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/serve.js';
import { startFakeGitLab } from '../support/fake-gitlab.js';
import { SECRET, policyDir } from './helpers.js';

function io(env: Record<string, string>) {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, cwd: process.cwd(), env },
    out: () => out,
    err: () => err,
  };
}

describe('tierguard serve', () => {
  it('exits 2 with every bad variable named when the environment is invalid', async () => {
    const t = io({ GITLAB_URL: 'not a url', PORT: 'x' });
    expect(await serveCommand([], t.io)).toBe(2);
    expect(t.err()).toMatch(/^tierguard serve: invalid configuration:/);
    for (const v of ['GITLAB_URL', 'GITLAB_TOKEN', 'WEBHOOK_SECRET', 'PORT']) expect(t.err()).toContain(`- ${v} `);
  });

  it('exits 2 naming the file when a policy file is invalid', async () => {
    const t = io({ GITLAB_URL: 'http://127.0.0.1:9', GITLAB_TOKEN: 'glpat-x-token', WEBHOOK_SECRET: SECRET, POLICY_DIR: policyDir('version: 1\ntiers: 3\n'), LOG_LEVEL: 'silent' });
    expect(await serveCommand([], t.io)).toBe(2);
    expect(t.err()).toMatch(/default\.yaml:2:\d+: tiers/);
  });

  it('exits 2 on an unexpected argument, 0 on --help', async () => {
    const t = io({});
    expect(await serveCommand(['--port', '1'], t.io)).toBe(2);
    expect(await serveCommand(['--help'], t.io)).toBe(0);
    expect(t.out()).toContain('WEBHOOK_SECRET');
  });

  it('serves until SIGTERM, then drains and exits 0', async () => {
    const gl = await startFakeGitLab();
    try {
      const signals = new EventEmitter();
      const t = io({ GITLAB_URL: gl.url, GITLAB_TOKEN: gl.token, WEBHOOK_SECRET: SECRET, POLICY_DIR: policyDir(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
      const running = serveCommand([], t.io, signals);
      // Listening once the signal handlers are installed.
      while (signals.listenerCount('SIGTERM') === 0) await new Promise((r) => setTimeout(r, 5));
      signals.emit('SIGTERM');
      expect(await running).toBe(0);
    } finally {
      await gl.close();
    }
  });
});
