/** AUDIT_SCHEDULE: cron validation, slots claimed once across replicas, the issue kept up to date. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isValidSchedule, nextRun } from '../../src/audit/cron.js';
import { startAuditSchedule, type AuditSchedule } from '../../src/audit/schedule.js';
import { createGitLabOrgApi } from '../../src/gitlab/org.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { RUNNER_TOML, auditOf, startScenario, type Scenario } from './scenario.js';

const BASE_ENV = { GITLAB_URL: 'https://gitlab.example.com', GITLAB_TOKEN: 't0ken-value', WEBHOOK_SECRET: 'x'.repeat(20) };

describe('AUDIT_SCHEDULE configuration', () => {
  it('accepts five-field cron in UTC and needs AUDIT_GROUPS with it', () => {
    expect(nextRun('0 6 * * 1', new Date('2026-12-04T12:00:00Z')).toISOString()).toBe('2026-12-07T06:00:00.000Z');
    expect(isValidSchedule('*/15 * * * *')).toBe(true);
    expect(isValidSchedule('0 6 * *')).toBe(false);
    expect(isValidSchedule('61 * * * *')).toBe(false);
    const c = loadConfig({ ...BASE_ENV, AUDIT_SCHEDULE: '0 6 * * 1', AUDIT_GROUPS: 'acme, /other/sub/', AUDIT_ISSUE_PROJECT: 'acme/platform' });
    expect([c.AUDIT_SCHEDULE, c.AUDIT_GROUPS, c.AUDIT_ISSUE_PROJECT]).toEqual(['0 6 * * 1', ['acme', 'other/sub'], 'acme/platform']);
    expect(loadConfig(BASE_ENV).AUDIT_SCHEDULE).toBeUndefined();
    const err = (() => {
      try {
        loadConfig({ ...BASE_ENV, AUDIT_SCHEDULE: 'every monday', AUDIT_GROUPS: 'acme' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.problems).toEqual(['AUDIT_SCHEDULE must be a five-field cron expression (UTC), e.g. "0 6 * * 1"']);
    expect(() => loadConfig({ ...BASE_ENV, AUDIT_SCHEDULE: '0 6 * * 1' })).toThrow(/AUDIT_GROUPS is required with AUDIT_SCHEDULE/);
  });
});

describe('scheduled audit', () => {
  let s: Scenario;
  let sched: AuditSchedule | undefined;
  beforeEach(async () => {
    s = await startScenario();
  });
  afterEach(async () => {
    sched?.stop();
    await s.gl.close();
  });

  it('runs each group once per slot across replicas and keeps one issue up to date', async () => {
    const claimed = new Set<string>();
    const claim = async (slot: string) => (claimed.has(slot) ? false : (claimed.add(slot), true));
    const logs: string[] = [];
    const logger = { info: (_: object, m?: string) => logs.push(m ?? ''), warn: (_: object, m?: string) => logs.push(`warn ${m}`) };
    const common = {
      schedule: '0 6 * * 1',
      groups: ['acme'],
      issueProject: 'acme/web',
      gitlabUrl: s.gl.url,
      token: s.gl.token,
      policyFor: () => builtinPolicy(),
      logger,
      toolVersion: 'test',
      claim,
      now: () => new Date('2026-12-04T12:00:00Z'),
      audit: (o: Parameters<typeof auditOf>[1]) => auditOf(s, { ...o, runnerConfigs: [{ file: 'runners/build.toml', text: RUNNER_TOML(true) }] }),
      org: createGitLabOrgApi({ url: s.gl.url, token: s.gl.token }),
    };
    sched = startAuditSchedule(common);
    const other = startAuditSchedule(common);
    expect(sched.next().toISOString()).toBe('2026-12-07T06:00:00.000Z');
    const slot = sched.next().toISOString();
    const [mine, theirs] = await Promise.all([sched.runSlot(slot), other.runSlot(slot)]);
    other.stop();
    expect(mine.length + theirs.length).toBe(1);
    expect(s.gl.issues).toHaveLength(1);
    expect(s.gl.issues[0]?.title).toBe('tierguard audit: acme (4 errors, 0 warnings)');
    expect(logs).toContain('scheduled audit taken by another replica');
    // The next slot edits the same issue.
    await sched.runSlot('2026-12-14T06:00:00.000Z');
    expect(s.gl.issues).toHaveLength(1);
    expect(logs.filter((l) => l === 'audit issue')).toHaveLength(2);
  });

  it('logs a failed group and goes on with the next', async () => {
    const logs: string[] = [];
    sched = startAuditSchedule({
      schedule: '0 6 * * 1',
      groups: ['missing', 'acme'],
      gitlabUrl: s.gl.url,
      token: s.gl.token,
      policyFor: () => builtinPolicy(),
      logger: { info: (_, m) => logs.push(m ?? ''), warn: (o, m) => logs.push(`${m} ${JSON.stringify(o)}`) },
      toolVersion: 'test',
      audit: (o) => auditOf(s, o),
    });
    const reports = await sched.runSlot('slot');
    expect(reports.map((r) => r.group)).toEqual(['acme']);
    expect(logs.some((l) => l.startsWith('scheduled audit failed') && l.includes('"group":"missing"') && l.includes('404'))).toBe(true);
    expect(logs.join('\n')).not.toContain(s.gl.token);
  });
});

describe('the service with AUDIT_SCHEDULE', () => {
  it('schedules the audit at start, logs the next slot without the token, and stops it on close', async () => {
    const s = await startScenario();
    let logs = '';
    try {
      const config = loadConfig({ GITLAB_URL: s.gl.url, GITLAB_TOKEN: s.gl.token, WEBHOOK_SECRET: 'x'.repeat(20), AUDIT_SCHEDULE: '0 6 * * 1', AUDIT_GROUPS: 'acme', LIVE_CHECKS: 'off' });
      const server = await startServer({ config, port: 0, host: '127.0.0.1', logDestination: { write: (x: string) => void (logs += x) } });
      await server.close();
      const scheduled = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; next?: string; groups?: string[] }).find((l) => l.msg === 'audit scheduled');
      expect(scheduled).toMatchObject({ groups: ['acme'], next: expect.stringMatching(/T06:00:00.000Z$/) });
      expect(logs).not.toContain(s.gl.token);
    } finally {
      await s.gl.close();
    }
  });
});

