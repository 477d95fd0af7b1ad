import { describe, expect, it } from 'vitest';
import { copyEntries, deepMerge } from '../../src/model/merge.js';
import type { YMap, YMapEntry, YNode } from '../../src/model/node.js';

const loc = (line: number) => ({ file: 'a.yml', line, column: 1, endLine: line, endColumn: 2 });
const scalar = (value: string, line = 1): YNode => ({ kind: 'scalar', value, loc: loc(line) });
const map = (pairs: [string, YNode][], line = 1): YMap => ({
  kind: 'map',
  entries: new Map(pairs.map(([k, value], i): [string, YMapEntry] => [k, { key: k, keyLoc: loc(line + i), value }])),
  loc: loc(line),
});

describe('copyEntries', () => {
  it('copies every entry, in order, into a map of its own', () => {
    const m = map([['b', scalar('1')], ['a', scalar('2')], ['c', scalar('3')]]);
    const copy = copyEntries(m.entries);
    expect(copy).not.toBe(m.entries);
    expect([...copy]).toEqual([...m.entries]);
    copy.delete('a');
    copy.set('d', { key: 'd', keyLoc: loc(9), value: scalar('4') });
    expect([...m.entries.keys()]).toEqual(['b', 'a', 'c']);
  });
});

describe('deepMerge', () => {
  it('keeps the left keys where they were, lets the right win, merges maps recursively and changes neither side', () => {
    const left = map([['image', scalar('alpine')], ['variables', map([['A', scalar('1')], ['B', scalar('2')]])], ['script', scalar('make')]]);
    const right = map([['variables', map([['B', scalar('20')], ['C', scalar('30')]], 5)], ['stage', scalar('test', 7)], ['image', scalar('debian', 8)]], 5);
    const before = JSON.stringify([...left.entries, ...right.entries]);
    const merged = deepMerge(left, right);
    expect([...merged.entries.keys()]).toEqual(['image', 'variables', 'script', 'stage']);
    expect(merged.entries.get('image')?.value).toEqual(scalar('debian', 8));
    const vars = merged.entries.get('variables')?.value as YMap;
    expect([...vars.entries].map(([k, e]) => [k, (e.value as { value: string }).value])).toEqual([['A', '1'], ['B', '20'], ['C', '30']]);
    expect(JSON.stringify([...left.entries, ...right.entries])).toBe(before);
  });
});
