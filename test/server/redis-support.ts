/**
 * Redis for the REDIS_URL-mode tests: the real server on 127.0.0.1:6379 (`.ci/run` starts it;
 * here too when it does not answer). No Redis → the test fails with a clear message.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const REDIS_URL = 'redis://127.0.0.1:6379';

function answers(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: 6379 });
    s.setTimeout(500);
    s.once('connect', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function ensureRedis(): Promise<void> {
  if (await answers()) return;
  try {
    execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`Redis is not answering on 127.0.0.1:6379 and redis-server could not be started (${(err as Error).message}); install Redis or run .ci/run`, { cause: err });
  }
  for (let i = 0; i < 50; i += 1) {
    if (await answers()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('redis-server was started but 127.0.0.1:6379 does not answer');
}

/** A key prefix of its own per test, so tests never see each other's jobs. */
export const freshPrefix = (): string => `tgtest-${randomBytes(5).toString('hex')}`;

export async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
