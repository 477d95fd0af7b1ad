import { describe, it, expect } from 'vitest';
import * as TOML from 'smol-toml';
import { pathKey, scanTomlPositions, type KeyPath } from '../../src/runner/positions.js';

function at(text: string, path: KeyPath, part: 'key' | 'value' | 'inner' = 'value') {
  const p = scanTomlPositions(text).get(pathKey(path));
  if (!p) return undefined;
  const r = p[part] ?? p.value;
  return [r.start.line, r.start.column, r.end.line, r.end.column];
}

describe('TOML position scanner', () => {
  const text = [
    'concurrent = 4', // 1
    '[[runners]]', // 2
    '  name = "a"', // 3
    '  [runners.docker]', // 4
    '    volumes = ["/cache",', // 5
    '      # a comment, with ] and "quotes"', // 6
    '      "/x:/y" ]', // 7
    '[[runners]]', // 8
    "  'name' = 'b'", // 9
    '  kubernetes.namespace = "ns" # dotted', // 10
    '  [[runners.kubernetes.volumes.host_path]]', // 11
    '    host_path = "/a"', // 12
    '  [[runners.kubernetes.volumes.host_path]]', // 13
    '    host_path = "/b"', // 14
    '  cache = { Type = "s3", s3 = { BucketName = "c" } }', // 15
    '  [runners."quoted.key"]', // 16
    '    multi = """', // 17
    'x', // 18
    '"""', // 19
    '    after = 1979-05-27 07:32:00Z', // 20
    '    n = 3 # c', // 21
  ].join('\n');

  it('maps top-level keys and array-of-tables headers', () => {
    expect(at(text, ['concurrent'])).toEqual([1, 14, 1, 15]);
    expect(at(text, ['concurrent'], 'key')).toEqual([1, 1, 1, 11]);
    expect(at(text, ['runners', 0], 'key')).toEqual([2, 1, 2, 12]);
    expect(at(text, ['runners', 1], 'key')).toEqual([8, 1, 8, 12]);
  });

  it('maps keys in tables under the right array element', () => {
    expect(at(text, ['runners', 0, 'name'])).toEqual([3, 10, 3, 13]);
    expect(at(text, ['runners', 0, 'name'], 'inner')).toEqual([3, 11, 3, 12]);
    expect(at(text, ['runners', 0, 'docker'], 'key')).toEqual([4, 3, 4, 19]);
    expect(at(text, ['runners', 1, 'name'])).toEqual([9, 12, 9, 15]);
    expect(at(text, ['runners', 1, 'name'], 'key')).toEqual([9, 3, 9, 9]);
  });

  it('maps inline arrays spanning lines, element by element, past comments', () => {
    expect(at(text, ['runners', 0, 'docker', 'volumes'])).toEqual([5, 15, 7, 16]);
    expect(at(text, ['runners', 0, 'docker', 'volumes', 0])).toEqual([5, 16, 5, 24]);
    expect(at(text, ['runners', 0, 'docker', 'volumes', 1])).toEqual([7, 7, 7, 14]);
  });

  it('maps dotted keys, nested arrays of tables and inline tables', () => {
    expect(at(text, ['runners', 1, 'kubernetes', 'namespace'])).toEqual([10, 26, 10, 30]);
    expect(at(text, ['runners', 1, 'kubernetes', 'namespace'], 'key')).toEqual([10, 3, 10, 23]);
    expect(at(text, ['runners', 1, 'kubernetes', 'volumes', 'host_path', 0, 'host_path'])).toEqual([12, 17, 12, 21]);
    expect(at(text, ['runners', 1, 'kubernetes', 'volumes', 'host_path', 1, 'host_path'])).toEqual([14, 17, 14, 21]);
    // after a [[…host_path]] header, keys belong to that element
    const hp1 = ['runners', 1, 'kubernetes', 'volumes', 'host_path', 1];
    expect(at(text, [...hp1, 'cache', 'Type'])).toEqual([15, 20, 15, 24]);
    expect(at(text, [...hp1, 'cache', 's3', 'BucketName'])).toEqual([15, 46, 15, 49]);
    const parsed = TOML.parse(text) as any;
    expect(parsed.runners[1].kubernetes.volumes.host_path[1].cache.s3.BucketName).toBe('c');
  });

  it('handles quoted keys, multi-line strings, dates and trailing comments', () => {
    expect(at(text, ['runners', 1, 'quoted.key'], 'key')).toEqual([16, 3, 16, 25]);
    expect(at(text, ['runners', 1, 'quoted.key', 'multi'])).toEqual([17, 13, 19, 4]);
    expect(at(text, ['runners', 1, 'quoted.key', 'after'])).toEqual([20, 13, 20, 33]);
    expect(at(text, ['runners', 1, 'quoted.key', 'n'])).toEqual([21, 9, 21, 10]);
  });

  it('never throws or hangs on garbage', () => {
    for (const junk of ['[[', '= = =', 'a = [', 'a = {', '"', "'''", '[a.\n', 'a."b', '\u0000[[]]]]', 'x = """']) {
      expect(() => scanTomlPositions(junk)).not.toThrow();
    }
  });
});
