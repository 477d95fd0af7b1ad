import { describe, expect, it } from 'vitest';
import { LiveCache } from '../../src/live/cache.js';
import { referencesVariable } from '../../src/live/jobs.js';
import { evaluate } from './helpers.js';

describe('referencesVariable', () => {
  it('matches $KEY, ${KEY} and %KEY%, not a longer name', async () => {
    const ev = await evaluate(
      [
        'a:\n  script: echo $DEPLOY_TOKEN_STAGING',
        'b:\n  script: echo ${DEPLOY_TOKEN}',
        'c:\n  script: echo %DEPLOY_TOKEN%',
        'd:\n  variables:\n    T: $DEPLOY_TOKEN\n  script: echo $T',
        'e:\n  script: echo "$DEPLOY_TOKEN."',
        '',
      ].join('\n'),
    );
    expect(ev.pipeline.jobs.map((j) => [j.name, referencesVariable(j, 'DEPLOY_TOKEN')])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
      ['d', true],
      ['e', true],
    ]);
  });
});

describe('LiveCache', () => {
  it('shares one load between concurrent callers and expires after the TTL', async () => {
    let t = 0;
    let loads = 0;
    const cache = new LiveCache({ ttlMs: 100, now: () => t });
    const load = async () => ++loads;
    const [a, b] = await Promise.all([cache.get(1, 'runners', load), cache.get(1, 'runners', load)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    expect(await cache.get(2, 'runners', load)).toBe(2); // per project
    t = 99;
    expect(await cache.get(1, 'runners', load)).toBe(1);
    t = 100;
    expect(await cache.get(1, 'runners', load)).toBe(3);
    await cache.invalidate(1);
    expect(await cache.get(1, 'runners', load)).toBe(4);
  });

  it('drops failed loads, evicts the oldest project, rejects a bad TTL, and ttl 0 caches nothing', async () => {
    const cache = new LiveCache({ ttlMs: 1000, maxProjects: 2, now: () => 0 });
    await expect(cache.get(1, 'k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.get(1, 'k', async () => 'ok')).toBe('ok');
    await cache.get(2, 'k', async () => 'two');
    await cache.get(3, 'k', async () => 'three');
    expect(cache.size).toBe(2);
    expect(await cache.get(1, 'k', async () => 'reloaded')).toBe('reloaded');
    expect(() => new LiveCache({ ttlMs: -1 })).toThrow(/ttlMs/);
    const none = new LiveCache({ ttlMs: 0 });
    let n = 0;
    await none.get(1, 'k', async () => ++n);
    await none.get(1, 'k', async () => ++n);
    expect(n).toBe(2);
  });
});
