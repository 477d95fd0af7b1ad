import { describe, expect, it } from 'vitest';
import { flatMap, single } from '../../src/util/array.js';

describe('flatMap', () => {
  it('gives what Array.prototype.flatMap gives: arrays spread one level, other values kept, indexes passed', () => {
    const cases: ((x: number, i: number) => unknown)[] = [
      (x) => [x, x * 10],
      (x) => x,
      (x) => (x % 2 ? [] : [x]),
      (x, i) => [[x], i],
      (x) => (x > 2 ? [[x, x]] : x),
      () => [undefined],
    ];
    for (const f of cases) for (const xs of [[], [1], [1, 2, 3, 4]]) expect(flatMap(xs, f)).toEqual(xs.flatMap(f));
  });

  it('returns a new array, leaving the input and the arrays f returns alone', () => {
    const inner = [2, 3];
    const xs = [1];
    const out = flatMap(xs, () => inner);
    out.push(4);
    expect(inner).toEqual([2, 3]);
    expect(xs).toEqual([1]);
  });
});

describe('single', () => {
  it('is the one element, else undefined', () => {
    expect(single([7])).toBe(7);
    expect(single([])).toBeUndefined();
    expect(single([1, 2])).toBeUndefined();
  });
});
