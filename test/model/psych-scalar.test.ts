import { describe, expect, it } from 'vitest';
import { psychScalar, rubyFloatToS } from '../../src/model/psych-scalar.js';

// Ruby's `Float#to_s` (`numeric.c`, `flo_to_s`): fixed notation while the decimal point falls
// within 16 digits and no more than 3 zeros follow it, else `d.ddde±XX`; a whole number keeps `.0`.
describe('rubyFloatToS', () => {
  it('prints a float as Ruby does', () => {
    const cases: [number, string][] = [
      [1, '1.0'], [100, '100.0'], [2.5, '2.5'], [-0.5, '-0.5'], [3.1, '3.1'], [0, '0.0'], [-0, '-0.0'],
      [1e15, '1000000000000000.0'], [1e16, '1.0e+16'], [1.5e20, '1.5e+20'], [1e100, '1.0e+100'],
      [0.0001, '0.0001'], [0.00001, '1.0e-05'], [1.5e-5, '1.5e-05'], [123456789.123, '123456789.123'],
      [0.1 + 0.2, '0.30000000000000004'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [NaN, 'NaN'],
    ];
    expect(cases.map(([x]) => rubyFloatToS(x))).toEqual(cases.map(([, s]) => s));
  });
});

describe('psychScalar', () => {
  it('counts characters as Ruby does: a word of up to five may be a boolean or null, longer ones are text', () => {
    expect(psychScalar('Off')).toEqual({ value: false });
    expect(psychScalar('offf')).toEqual({ value: 'offf' });
    expect(psychScalar('a😀😀😀😀')).toEqual({ value: 'a😀😀😀😀' });
    // a text that spans lines (a folded plain scalar with an empty line): Ruby's `^` and `$` match at each line
    expect(psychScalar('a\nyes')).toEqual({ value: 'a\nyes' });
    expect(psychScalar('n\nno')).toEqual({ value: false });
  });

  it('keeps integers exact up to 400 characters, and longer ones as written (base conversion grows faster than the text)', () => {
    const hex = 'f'.repeat(96);
    expect(psychScalar('0x' + hex)).toEqual({ value: Number('0x' + hex), text: BigInt('0x' + hex).toString() });
    const long = '0x' + 'f'.repeat(1_000_000);
    expect(psychScalar(long)).toEqual({ value: NaN, text: long });
    const digits = '9'.repeat(2_000_000);
    expect(psychScalar(digits)).toEqual({ value: Infinity, text: digits });
    const hours = '1'.repeat(500) + ':30';
    expect(psychScalar(hours)).toEqual({ value: NaN, text: hours });
  });

  it('refuses dates and times, which GitLab\'s loader does not permit, only where Psych makes one', () => {
    expect(psychScalar('2024-01-02')).toEqual({ refused: 'Date' });
    expect(psychScalar('2024-1-2')).toEqual({ refused: 'Date' });
    expect(psychScalar('2001-12-14t21:59:43.10-05:00')).toEqual({ refused: 'Time' });
    expect(psychScalar('2024-13-02')).toEqual({ value: '2024-13-02' });
    expect(psychScalar('v2024-01-02')).toEqual({ value: 'v2024-01-02' });
  });
});
