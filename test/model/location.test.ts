import { describe, expect, it } from 'vitest';
import { locate, type SourceLocation } from '../../src/model/location.js';

/**
 * locate() as it was written before its occurrences were indexed: it scans the value and the
 * lines for every call. It is the reference the indexed version must agree with, call by call.
 */
function reference(lineOf: (line: number) => string | undefined, loc: SourceLocation, value: string, index: number, length: number): SourceLocation {
  const sub = value.slice(index, index + Math.max(1, length));
  const parts = sub.split('\n');
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!first) return loc;
  let nth = 0;
  for (let i = value.indexOf(first); i >= 0 && i < index; i = value.indexOf(first, i + 1)) nth++;
  const lastLine = Math.max(loc.endLine, loc.line + value.split('\n').length);
  for (let ln = loc.line; ln <= lastLine; ln++) {
    const text = lineOf(ln);
    if (text === undefined) break;
    let col = text.indexOf(first, ln === loc.line ? loc.column - 1 : 0);
    while (col >= 0) {
      if (nth === 0) {
        if (parts.length === 1) return { file: loc.file, line: ln, column: col + 1, endLine: ln, endColumn: col + 1 + first.length };
        const endLn = ln + parts.length - 1;
        const endCol = (lineOf(endLn) ?? '').indexOf(last ?? '');
        if (endCol < 0 || !last) return loc;
        return { file: loc.file, line: ln, column: col + 1, endLine: endLn, endColumn: endCol + 1 + last.length };
      }
      nth--;
      col = text.indexOf(first, col + 1);
    }
  }
  return loc;
}

/** A deterministic pseudo-random sequence (the same cases every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('locate: the exact place of a substring of a scalar in the file', () => {
  it('agrees with the scanning reference on random scripts, repeated words, overlaps and folded lines', () => {
    const rand = rng(19);
    const words = ['curl', 'cur', 'rl', '$TOKEN', '"x"', 'aa', 'a', '|', ' ', 'sh'];
    let compared = 0;
    for (let round = 0; round < 300; round++) {
      const pieces = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => words[Math.floor(rand() * words.length)]!);
      const multi = rand() < 0.3;
      const value = pieces.join(multi && rand() < 0.5 ? '\n' : ' ');
      // As written in the file: indented under `script:`, a few lines of other YAML around it.
      const indent = '    - ';
      const valueLines = value.split('\n');
      const file = ['job:', '  script:', ...valueLines.map((l, i) => (i === 0 ? indent : '      ') + l), 'other: aa a curl'];
      const loc: SourceLocation = { file: 'f.yml', line: 3, column: indent.length + 1, endLine: 3 + valueLines.length - 1, endColumn: 80 };
      const lineOf = (n: number) => file[n - 1];
      for (let k = 0; k < 20; k++) {
        const index = Math.floor(rand() * value.length);
        const length = Math.floor(rand() * 12);
        expect(locate(lineOf, loc, value, index, length), `${JSON.stringify(value)} @${index}+${length}`).toEqual(reference(lineOf, loc, value, index, length));
        compared++;
      }
    }
    expect(compared).toBe(6000);
  });

  it('finds the nth of many equal commands on one long line', () => {
    const value = Array.from({ length: 2000 }, () => 'curl -H "x" $TOKEN').join(' | ');
    const lineOf = (n: number) => (n === 1 ? `  - '${value}'` : undefined);
    const loc: SourceLocation = { file: 'f.yml', line: 1, column: 6, endLine: 1, endColumn: 6 + value.length };
    const step = 'curl -H "x" $TOKEN | '.length;
    for (const i of [0, 1, 999, 1999]) {
      expect(locate(lineOf, loc, value, i * step + 12, '$TOKEN'.length)).toEqual({ file: 'f.yml', line: 1, column: 6 + i * step + 12, endLine: 1, endColumn: 6 + i * step + 18 });
    }
  });
});
