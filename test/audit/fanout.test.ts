/** REDIS_URL fan-out: the projects of one audit are judged by several workers, one report is assembled. */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAuditWorker } from '../../src/audit/fanout.js';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { createGitLabOrgApi } from '../../src/gitlab/org.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { REDIS_URL, ensureRedis } from '../server/redis-support.js';
import { auditOf, startScenario, type Scenario } from './scenario.js';

describe('audit fan-out over Redis', () => {
  let s: Scenario;
  let workers: Array<{ close(): Promise<void> }> = [];
  let prefix: string;
  beforeAll(async () => {
    await ensureRedis();
  });
  beforeEach(async () => {
    s = await startScenario();
    prefix = `tg-audit-test-${randomBytes(6).toString('hex')}`;
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
    await s.gl.close();
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  });

  const worker = (name: string, seen: string[]) => {
    const deps = {
      api: createGitLabApi({ url: s.gl.url, token: s.gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 } }),
      org: createGitLabOrgApi({ url: s.gl.url, token: s.gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 } }),
      policyFor: () => builtinPolicy(),
    };
    const w = startAuditWorker({
      redisUrl: REDIS_URL,
      prefix,
      concurrency: 1,
      deps: { ...deps, api: { ...deps.api, getRawFile: async (...a: Parameters<typeof deps.api.getRawFile>) => (seen.push(name), deps.api.getRawFile(...a)) } },
    });
    workers.push(w);
  };

  it('assembles the same report as a local run from the projects the workers judged', async () => {
    const seen: string[] = [];
    worker('a', seen);
    worker('b', seen);
    const local = await auditOf(s);
    const fanned = await auditOf(s, { fanout: { redisUrl: REDIS_URL, prefix } });
    expect(fanned.projects.map((p) => p.path)).toEqual(local.projects.map((p) => p.path));
    expect(fanned.problems.map((p) => p.id)).toEqual(local.problems.map((p) => p.id));
    expect(fanned.problems).toHaveLength(4);
    // Every project's CI file was read by a worker, not by the coordinator.
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });

  it('runs an audit worker in each service replica with AUDIT_SCHEDULE and REDIS_URL', async () => {
    const config = loadConfig({ GITLAB_URL: s.gl.url, GITLAB_TOKEN: s.gl.token, WEBHOOK_SECRET: 'x'.repeat(20), REDIS_URL, AUDIT_SCHEDULE: '0 6 * * 1', AUDIT_GROUPS: 'acme', LIVE_CHECKS: 'off' });
    const server = await startServer({ config, port: 0, host: '127.0.0.1', logDestination: { write: () => undefined }, redisQueue: { prefix } });
    try {
      // A coordinator elsewhere (the CLI with --fan-out) enqueues; the replica's worker judges.
      s.gl.requests.length = 0;
      const r = await auditOf(s, { fanout: { redisUrl: REDIS_URL } });
      expect(r.problems).toHaveLength(4);
      expect(s.gl.requests.filter((q) => q.path.endsWith('/raw')).length).toBeGreaterThanOrEqual(5);
    } finally {
      await server.close();
    }
  });
});
