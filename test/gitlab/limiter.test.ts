import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/gitlab/limiter.js';
import { createProgress } from '../../src/audit/progress.js';

describe('RateLimiter (one per audit run)', () => {
  it('spaces requests to the rate and holds every caller back after a Retry-After', async () => {
    let now = 0;
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      now += ms;
    };
    const l = new RateLimiter({ perMinute: 600, now: () => now, sleep });
    await l.acquire();
    await l.acquire();
    await l.acquire();
    expect(waits).toEqual([100, 100]);
    l.pause(5000);
    waits.length = 0;
    await l.acquire();
    expect(waits).toEqual([5000]);
    expect(l.pausedMs).toBe(5000);
  });

  it('without a rate, only pauses', async () => {
    const now = 1000;
    const waits: number[] = [];
    const l = new RateLimiter({ perMinute: 0, now: () => now, sleep: async (ms) => void waits.push(ms) });
    await l.acquire();
    await l.acquire();
    expect(waits).toEqual([]);
    l.pause(2000);
    l.pause(500); // a shorter pause does not shorten the longer one
    await l.acquire();
    expect(waits).toEqual([2000]);
  });
});

describe('RateLimiter pause accounting', () => {
  it('counts a pause in full when the clock ticks while it is recorded', () => {
    // A clock that moves one millisecond at every read, like Date.now() across a slow call.
    let t = 0;
    const l = new RateLimiter({ perMinute: 0, now: () => t++, sleep: async () => undefined });
    l.pause(1000);
    expect(l.pausedMs).toBe(1000);
  });
});

describe('audit progress', () => {
  it('writes a bar on a terminal and sparse lines otherwise', () => {
    let t = 0;
    const tty = { out: '', isTTY: true, columns: 100, write(s: string) { this.out += s; } };
    const p = createProgress({ stream: tty, now: () => t });
    p.update(0, 10);
    t = 10_000;
    p.update(5, 10);
    expect(tty.out).toContain('\raudit [');
    expect(tty.out).toMatch(/5\/10 projects, ETA 10s/);
    const log = { out: '', write(s: string) { this.out += s; } };
    const q = createProgress({ stream: log, now: () => t });
    for (let i = 0; i <= 100; i++) q.update(i, 100);
    q.finish(100, 100);
    const lines = log.out.trim().split('\n');
    expect(lines.length).toBe(12);
    expect(lines[0]).toBe('audit: 0/100 projects (0%), ETA ?');
    expect(lines.at(-1)).toBe('audit: 100/100 projects in 0s');
  });
});
