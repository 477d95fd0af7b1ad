/**
 * The shared part of the project cache (src/gitlab/project-cache.ts) on Redis, for REDIS_URL
 * mode: every replica reads and fills the same entries, and an invalidation is one DEL.
 *
 * One hash per project, `<prefix>:project-cache:v<format>:<scope hash>:<project>`, where the
 * scope is what the answers depend on besides the project: the GitLab instance and the token
 * (a 403 is an answer about this token), so deployments or tokens sharing a Redis never read
 * each other's entries; only a hash of it is in the key. The format number changes when a cached
 * value changes shape, so replicas of two releases (a rolling update) do not share entries:
 *   v:<key>   the value as its codec wrote it (JSON)
 *   t:<key>   when it was written (ms, Redis's clock: replicas' clocks do not matter)
 *   epoch     a random token; a value loaded on a miss is written only while the epoch it
 *             saw is still there, so a load that started before an invalidation (DEL) cannot
 *             put the old answer back
 * Each entry is fresh for the cache's TTL after it was written; the hash expires a TTL after
 * its last write. Every operation is one key, so Redis Cluster is fine too.
 *
 * Never in the way of a review: no offline queue (while the connection is down every command
 * fails at once and the cache falls back to the process's own entries) and a short command
 * timeout (a Redis that stops answering costs at most that per read).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { SharedProjectStore } from '../gitlab/project-cache.js';

export interface RedisProjectStoreOptions {
  /** redis:// or rediss:// URL (the service's REDIS_URL). */
  url: string;
  /** Key prefix (default `tierguard`, the queue's); tests use their own per test. */
  prefix?: string;
  /** What cached answers depend on besides the project (the service: GitLab URL and token); hashed into the key. */
  scope?: string;
  /** A command not answered within this long fails (and the cache goes on without Redis); default 250 ms. */
  timeoutMs?: number;
  /** Connection trouble (the message only). */
  onWarning?: (msg: string, detail: Record<string, unknown>) => void;
}

/** Bump when a cached value (src/gitlab/types.ts, the live data, the settled answers) changes shape. */
const FORMAT = 1;

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const READ_LUA = `
-- KEYS[1] project hash; ARGV: key, ttl ms, new epoch ('' = only look)
${NOW_MS}
local h = redis.call('HMGET', KEYS[1], 'v:' .. ARGV[1], 't:' .. ARGV[1], 'epoch')
if h[1] and h[2] and now - tonumber(h[2]) < tonumber(ARGV[2]) then return {1, h[1]} end
if ARGV[3] == '' then return {0} end
if h[3] then return {0, h[3]} end
redis.call('HSET', KEYS[1], 'epoch', ARGV[3])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {0, ARGV[3]}
`;

const WRITE_LUA = `
-- KEYS[1] project hash; ARGV: key, value, ttl ms, epoch
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[4] then return 0 end
${NOW_MS}
redis.call('HSET', KEYS[1], 'v:' .. ARGV[1], ARGV[2], 't:' .. ARGV[1], now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

const DROP_IF_LUA = `
-- KEYS[1] project hash; ARGV: key, value
if redis.call('HGET', KEYS[1], 'v:' .. ARGV[1]) == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisProjectStore implements SharedProjectStore {
  private readonly redis: Redis;
  private readonly base: string;

  constructor(opts: RedisProjectStoreOptions) {
    const scope = createHash('sha256').update(opts.scope ?? '').digest('hex').slice(0, 16);
    this.base = `${opts.prefix ?? 'tierguard'}:project-cache:v${String(FORMAT)}:${scope}`;
    this.redis = new Redis(opts.url, {
      connectionName: 'tierguard-cache',
      enableOfflineQueue: false,
      commandTimeout: opts.timeoutMs ?? 250,
      maxRetriesPerRequest: 0,
    });
    this.redis.on('error', (err: Error) => opts.onWarning?.('shared project cache: redis error (reads fall back to this replica\'s own cache)', { err: err.message }));
  }

  /** Resolves when connected, or at the first connection error or after `ms` (never rejects). */
  ready(ms: number): Promise<boolean> {
    if (this.redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady).off('error', onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      this.redis.on('ready', onReady).on('error', onError);
    });
  }

  private key(project: string): string {
    return `${this.base}:${project}`;
  }

  async read(project: string, key: string, ttlMs: number): Promise<{ hit: true; value: string } | { hit: false; epoch: string }> {
    const r = (await this.redis.eval(READ_LUA, 1, this.key(project), key, ttlMs, randomBytes(8).toString('hex'))) as [number, string];
    return r[0] === 1 ? { hit: true, value: r[1] } : { hit: false, epoch: r[1] };
  }

  async write(project: string, key: string, value: string, ttlMs: number, epoch: string): Promise<void> {
    await this.redis.eval(WRITE_LUA, 1, this.key(project), key, value, ttlMs, epoch);
  }

  async peek(project: string, key: string, ttlMs: number): Promise<string | undefined> {
    const r = (await this.redis.eval(READ_LUA, 1, this.key(project), key, ttlMs, '')) as [number, string?];
    return r[0] === 1 ? r[1] : undefined;
  }

  async invalidate(project: string): Promise<void> {
    await this.redis.del(this.key(project));
  }

  async invalidateIf(project: string, key: string, value: string): Promise<void> {
    await this.redis.eval(DROP_IF_LUA, 1, this.key(project), key, value);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** `warn` at most once per `everyMs` (Redis away would otherwise log on every read), with how many were left out. */
export function throttled(warn: (msg: string, detail: Record<string, unknown>) => void, everyMs = 30_000): (msg: string, detail: Record<string, unknown>) => void {
  let last = -Infinity;
  let skipped = 0;
  return (msg, detail) => {
    const t = Date.now();
    if (t - last < everyMs) {
      skipped += 1;
      return;
    }
    last = t;
    warn(msg, skipped ? { ...detail, suppressed: skipped } : detail);
    skipped = 0;
  };
}
