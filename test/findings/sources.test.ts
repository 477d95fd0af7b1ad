import { describe, expect, it } from 'vitest';
import { SourceFiles } from '../../src/findings/sources.js';

const at = (file: string, line: number, column: number, value: string) => ({ file, line, column, endLine: line, endColumn: column + value.length });

describe('SourceFiles: secrets are masked in every text and line handed out', () => {
  it('masks every occurrence of every secret, whatever their shared prefixes, and leaves other text alone', () => {
    const tokens = Array.from({ length: 300 }, (_, i) => `glrt-${String(i).padStart(20, '0')}`);
    const s = new SourceFiles();
    s.add('config.toml', tokens.map((t) => `token = "${t}"`).join('\n'));
    tokens.forEach((t, i) => s.addSecret(at('config.toml', i + 1, 10, t)));
    const text = `runner 7 uses ${tokens[7]} and ${tokens[299]}, again ${tokens[7]}; glrt-0000 is not one`;
    expect(s.maskText(text)).toBe('runner 7 uses glrt************ and glrt************, again glrt************; glrt-0000 is not one');
    expect(s.line('config.toml', 8)).toBe(`token = "${'*'.repeat(tokens[7]!.length)}"`);
    expect(s.line('config.toml', 1)).toBe(`token = "${'*'.repeat(tokens[0]!.length)}"`);
  });

  it('the longest secret wins where two start at the same place; a secret added after masking is masked too', () => {
    const s = new SourceFiles();
    s.add('a.yml', 'x: abcdSECRET\ny: abcdSECRET-and-more\nz: zzzz-late-secret\n');
    s.addSecret(at('a.yml', 1, 4, 'abcdSECRET'));
    s.addSecret(at('a.yml', 2, 4, 'abcdSECRET-and-more'));
    // maskValue keeps a 4-character hint only of values longer than 12 characters.
    expect(s.maskText('[abcdSECRET-and-more] [abcdSECRET]')).toBe('[abcd************] [**********]');
    expect(s.maskText('zzzz-late-secret')).toBe('zzzz-late-secret');
    s.addSecret(at('a.yml', 3, 4, 'zzzz-late-secret'));
    expect(s.maskText('zzzz-late-secret')).toBe('zzzz************');
    expect(s.line('a.yml', 3)).toBe('z: ****************');
  });

  it('secrets of an absorbed evaluation are masked under its prefix, and short values (under 4 characters) only in lines', () => {
    const inner = new SourceFiles();
    inner.add('ci.yml', 'k: abc\nt: glpat-1234567890abcdef\n');
    inner.addSecret(at('ci.yml', 1, 4, 'abc'));
    inner.addSecret(at('ci.yml', 2, 4, 'glpat-1234567890abcdef'));
    const outer = new SourceFiles();
    expect(outer.maskText('glpat-1234567890abcdef')).toBe('glpat-1234567890abcdef');
    outer.absorb(inner, 'sub/');
    expect(outer.maskText('abc glpat-1234567890abcdef')).toBe('abc glpa************');
    expect(outer.line('sub/ci.yml', 1)).toBe('k: ***');
    expect(outer.line('ci.yml', 1)).toBeUndefined();
  });

  it('two evaluations of the same text share its lines, not its secrets', () => {
    const text = 'a: glpat-1234567890abcdef\r\nb: plain\n';
    const first = new SourceFiles();
    const second = new SourceFiles();
    first.add('ci.yml', text);
    second.add('ci.yml', text);
    first.addSecret(at('ci.yml', 1, 4, 'glpat-1234567890abcdef'));
    expect(first.line('ci.yml', 1)).toBe(`a: ${'*'.repeat(22)}`);
    expect(second.line('ci.yml', 1)).toBe('a: glpat-1234567890abcdef');
    expect(second.rawLine('ci.yml', 2)).toBe('b: plain');
    expect(first.rawLine('ci.yml', 1)).toBe('a: glpat-1234567890abcdef');
    expect(first.line('ci.yml', 3)).toBe('');
    expect(first.line('ci.yml', 4)).toBeUndefined();
  });
});
