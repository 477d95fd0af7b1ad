import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';

const ok = { GITLAB_URL: 'https://gitlab.example.com/', GITLAB_TOKEN: 'glpat-secret-token-value', WEBHOOK_SECRET: 'a-long-webhook-secret' };

describe('loadConfig', () => {
  it('applies defaults and normalises values', () => {
    const c = loadConfig(ok);
    expect(c).toMatchObject({
      GITLAB_URL: 'https://gitlab.example.com',
      PORT: 8080,
      POLICY_DIR: './policies',
      LOG_LEVEL: 'info',
      CONCURRENCY: 4,
      STATUS_CHECK_PROJECTS: [],
      BODY_LIMIT: 1024 * 1024,
    });
    expect(c.REDIS_URL).toBeUndefined();
  });

  it('parses optional settings', () => {
    const c = loadConfig({ ...ok, PORT: '9000', CONCURRENCY: '8', LOG_LEVEL: 'DEBUG', STATUS_CHECK_PROJECTS: '12, 34', REDIS_URL: 'redis://r:6379', PUBLIC_URL: 'https://tg.example.com' });
    expect(c).toMatchObject({ PORT: 9000, CONCURRENCY: 8, LOG_LEVEL: 'debug', STATUS_CHECK_PROJECTS: [12, 34], REDIS_URL: 'redis://r:6379', PUBLIC_URL: 'https://tg.example.com' });
    expect(loadConfig({ ...ok, STATUS_CHECK_PROJECTS: 'ALL' }).STATUS_CHECK_PROJECTS).toBe('all');
  });

  it('lists every bad variable in one message, never the token', () => {
    let err: unknown;
    try {
      loadConfig({ GITLAB_URL: 'ftp://x', GITLAB_TOKEN: 'glpat-secret-token-value', WEBHOOK_SECRET: 'short', PORT: '70000', CONCURRENCY: 'many', LOG_LEVEL: 'loud', STATUS_CHECK_PROJECTS: '1,x', REDIS_URL: 'http://r' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.problems.map((p) => p.split(' ')[0]).sort()).toEqual(['CONCURRENCY', 'GITLAB_URL', 'LOG_LEVEL', 'PORT', 'REDIS_URL', 'STATUS_CHECK_PROJECTS', 'WEBHOOK_SECRET']);
    expect(e.message).toMatch(/^invalid configuration:\n {2}- /);
    expect(e.message).toContain('PORT must be an integer from 0 to 65535 (got "70000")');
    expect(e.message).not.toContain('glpat-secret-token-value');
  });

  it('retries, catch-up and drain settings: defaults, values, bounds', () => {
    expect(loadConfig(ok)).toMatchObject({ RETRY_WINDOW_SECONDS: 900, RECONCILE_INTERVAL_SECONDS: 600, RECONCILE_LOOKBACK_DAYS: 14, SHUTDOWN_TIMEOUT_SECONDS: 25 });
    expect(loadConfig({ ...ok, RETRY_WINDOW_SECONDS: '1800', RECONCILE_INTERVAL_SECONDS: '0', RECONCILE_LOOKBACK_DAYS: '3', SHUTDOWN_TIMEOUT_SECONDS: '10' })).toMatchObject({
      RETRY_WINDOW_SECONDS: 1800,
      RECONCILE_INTERVAL_SECONDS: 0,
      RECONCILE_LOOKBACK_DAYS: 3,
      SHUTDOWN_TIMEOUT_SECONDS: 10,
    });
    expect(() => loadConfig({ ...ok, RECONCILE_LOOKBACK_DAYS: '0' })).toThrow(/RECONCILE_LOOKBACK_DAYS must be an integer from 1 to 365/);
    expect(() => loadConfig({ ...ok, RETRY_WINDOW_SECONDS: '-1' })).toThrow(/RETRY_WINDOW_SECONDS must be an integer/);
  });

  it('requires GITLAB_URL, GITLAB_TOKEN and WEBHOOK_SECRET', () => {
    expect(() => loadConfig({})).toThrow(/GITLAB_URL is required[\s\S]*GITLAB_TOKEN is required[\s\S]*WEBHOOK_SECRET is required/);
  });

  it('refuses credentials in GITLAB_URL', () => {
    expect(() => loadConfig({ ...ok, GITLAB_URL: 'https://user:pw@gitlab.example.com' })).toThrow(/GITLAB_URL must be an http\(s\) URL without credentials/);
  });
});
