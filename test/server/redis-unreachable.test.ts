/**
 * A replica whose Redis is unreachable and that is closed at once (a failed start, a test) must
 * not leave unhandled rejections behind: BullMQ's internal connections report a failed first
 * connect through an 'error' event that nothing listens to any more once they are closed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RedisQueue } from '../../src/server/queue-redis.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

describe('RedisQueue against an unreachable Redis', () => {
  it('start, a refused enqueue and close leave no unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    const warnings: string[] = [];
    for (let i = 0; i < 60; i++) {
      const q = new RedisQueue({ url: 'redis://127.0.0.1:1', prefix: `unreachable-${i}`, onWarning: (msg) => warnings.push(msg) });
      q.start(async () => undefined);
      await expect(q.enqueue({ projectId: 1, mrIid: 1, sha: '', reason: 'merge_request:open', deliveryId: `d${i}`, receivedAt: Date.now() })).rejects.toThrow();
      await q.close();
    }
    // Failed connects surface after close, on the next I/O turns.
    await new Promise((r) => setTimeout(r, 1500));
    expect(unhandled).toEqual([]);
    expect(warnings.some((w) => w.startsWith('redis'))).toBe(true);
  });
});
