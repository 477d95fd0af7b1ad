import { describe, expect, it } from 'vitest';
import { settleAll } from '../../src/util/async.js';

const later = <T>(ms: number, v: T, fail = false) => new Promise<T>((res, rej) => setTimeout(() => (fail ? rej(new Error(String(v))) : res(v)), ms));

describe('settleAll', () => {
  it('gives the values in argument order', async () => {
    expect(await settleAll([later(20, 'a'), later(1, 2), Promise.resolve(null)])).toEqual(['a', 2, null]);
  });

  it('throws the first rejection in argument order, only once every promise has settled', async () => {
    let slowDone = false;
    const slow = later(30, 'slow').then((v) => ((slowDone = true), v));
    await expect(settleAll([slow, later(5, 'second', true), later(1, 'third', true)])).rejects.toThrow('second');
    expect(slowDone).toBe(true);
  });
});
