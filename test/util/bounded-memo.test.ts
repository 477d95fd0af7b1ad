import { describe, expect, it } from 'vitest';
import { BoundedMemo } from '../../src/util/bounded-memo.js';

describe('BoundedMemo', () => {
  it('keeps answers until it holds its number of keys, then starts afresh', () => {
    const m = new BoundedMemo<number>(3, 1_000);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect([m.get('a'), m.get('b'), m.get('c'), m.size]).toEqual([1, 2, 3, 3]);
    m.set('d', 4);
    expect([m.get('a'), m.get('c'), m.get('d'), m.size]).toEqual([undefined, undefined, 4, 1]);
  });

  it('starts afresh before its keys would hold more characters than its budget', () => {
    const m = new BoundedMemo<string>(100, 10);
    m.set('abcd', 'x');
    m.set('efgh', 'y');
    expect(m.size).toBe(2);
    m.set('ijk', 'z'); // 4 + 4 + 3 > 10
    expect([m.get('abcd'), m.get('efgh'), m.get('ijk'), m.size]).toEqual([undefined, undefined, 'z', 1]);
    // a key longer than the whole budget is kept alone
    m.set('x'.repeat(50), 'long');
    expect([m.get('ijk'), m.get('x'.repeat(50)), m.size]).toEqual([undefined, 'long', 1]);
    m.set('q', 'next');
    expect([m.get('x'.repeat(50)), m.get('q')]).toEqual([undefined, 'next']);
  });
});
