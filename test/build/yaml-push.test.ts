import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as original from 'yaml';
import { PUBLIC_GENERATORS, pushify } from '../../scripts/yaml-push.mjs';

// The CLI bundle runs the yaml package's lexer, parser and composer rewritten from generator
// methods to push methods (scripts/yaml-push.mjs), from the package's ES module build
// (yaml/browser/dist, see scripts/build-cli.mjs). Here the rewritten ES module build and the
// rewritten CommonJS build (yaml/dist) each read the same texts as the original, and every token,
// document, error and warning must be equal.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const yamlDir = path.dirname(path.dirname(require.resolve('yaml')));
let work: string;
/** The rewritten builds: CommonJS (yaml/dist) and ES modules (yaml/browser/dist, the bundle's). */
const builds: Record<'commonjs' | 'esm', typeof original> = {} as never;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'tierguard-yaml-push-'));
  cpSync(yamlDir, path.join(work, 'yaml'), { recursive: true });
  for (const dist of [['dist'], ['browser', 'dist']]) {
    for (const file of Object.keys(PUBLIC_GENERATORS)) {
      const p = path.join(work, 'yaml', ...dist, file);
      writeFileSync(p, pushify(readFileSync(p, 'utf8'), file));
    }
  }
  builds.commonjs = createRequire(path.join(work, 'index.js'))('./yaml') as typeof original;
  builds.esm = (await import(pathToFileURL(path.join(work, 'yaml', 'browser', 'dist', 'index.js')).href)) as typeof original;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    if (f === 'node_modules' || f === '.git' || f === 'dist') return [];
    return statSync(full).isDirectory() ? yamlFiles(full) : /\.ya?ml$/.test(f) ? [full] : [];
  });
}

/** Texts that exercise every lexer and parser state, valid or not. */
const EDGE_CASES: Record<string, string> = {
  'flow collections': 'a: [1, {b: c, d: [e, f]}, "g", \'h\']\n? complex key\n: value\n{x: y}: z\n',
  'block scalars': 'a: |+\n  keep\n\n b: >-\n  folded\n  text\nc: |2\n    indented\nd: >\n\n  x\n',
  'anchors, aliases, tags, merge': 'base: &b {k: 1}\njob:\n  <<: *b\n  s: !reference [.x, script]\n  t: !!str 12\n  u: !custom {a: 1}\n',
  'directives and documents': '%YAML 1.1\n%TAG ! tag:example.com,2000:\n---\na: 1\n...\n---\nb: 2\n--- |\n  text\n',
  'comments everywhere': '# top\na: 1 # trailing\n# between\nb:\n  # inside\n  - x # item\n  -   # empty\n',
  'quoted scalars': 'a: "esc \\" \\n \\t \\u263A"\nb: \'it\'\'s\'\nc: "multi\n  line"\nd: \'\'\n',
  'CRLF and BOM': '\uFEFFa: 1\r\nb:\r\n  - c\r\n',
  'tabs and odd spacing': 'a:\t1\nb:  \n  -\tc\n',
  'empty and null': '',
  'only a comment': '# nothing\n',
  'bad indentation': 'a:\n  b: 1\n c: 2\n',
  'unclosed quote': 'a: "never closed\nb: 1\n',
  'unclosed flow': 'a: [1, 2\nb: 3\n',
  'duplicate keys': 'a: 1\na: 2\n',
  'tab indentation': 'a:\n\tb: 1\n',
  'alias to nowhere': 'a: *nope\n',
  'stray document end': 'a: 1\n...\nb: 2\n',
  'deep flow nesting': 'a: ' + '['.repeat(200) + ']'.repeat(200) + '\n',
  'deep block nesting': Array.from({ length: 120 }, (_, i) => ' '.repeat(i * 2) + `k${i}:`).join('\n') + ' v\n',
  'plain multi-line': 'a: one\n  two\n  three\nb: - not a list\n',
  'explicit keys and sets': '? a\n? b\n: c\n',
  'document with only --- ': '---\n',
};

const texts = (): [string, string][] => [
  ...Object.entries(EDGE_CASES),
  ...[...yamlFiles(path.join(root, 'test')), ...yamlFiles(path.join(root, 'policies')), ...yamlFiles(path.join(root, 'helm'))].map((f): [string, string] => [path.relative(root, f), readFileSync(f, 'utf8')]),
];

/** A document's data as JSON, or what reading it threw (an alias to nowhere). */
function plain(read: () => unknown): string {
  try {
    return JSON.stringify(read(), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  } catch (e) {
    return `threw ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Everything a parse produced, as plain data (functions and classes left out). */
function documents(y: typeof original, text: string, opts: original.ParseOptions & original.DocumentOptions & original.SchemaOptions) {
  const lineCounter = new y.LineCounter();
  const docs = y.parseAllDocuments(text, { ...opts, lineCounter });
  const list = Array.isArray(docs) ? docs : [];
  return {
    empty: !Array.isArray(docs) || list.length === 0,
    docs: list.map((d) => ({
      js: plain(() => d.toJS({ maxAliasCount: -1 })),
      text: d.errors.length ? null : plain(() => String(d)),
      range: d.range,
      errors: d.errors.map((e) => ({ code: e.code, message: e.message, pos: e.pos, linePos: e.linePos })),
      warnings: d.warnings.map((e) => ({ code: e.code, message: e.message, pos: e.pos })),
      directives: d.directives?.toString(),
    })),
    lines: lineCounter.lineStarts,
  };
}

describe.each(['commonjs', 'esm'] as const)('the yaml package with push methods (%s build) reads like the original', (build) => {
  const dist = build === 'esm' ? ['browser', 'dist'] : ['dist'];
  let pushed: typeof original;
  beforeAll(() => {
    pushed = builds[build];
  });

  it('rewrites all three files and leaves no generator delegation behind', () => {
    for (const file of Object.keys(PUBLIC_GENERATORS)) {
      const out = pushify(readFileSync(path.join(yamlDir, ...dist, file), 'utf8'), file);
      const code = out.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
      // Only the public wrappers still yield (from their array).
      expect(code.match(/yield\*? [^;\n]*/g)).toEqual(PUBLIC_GENERATORS[file]!.map(() => 'yield* out'));
      expect(code).not.toMatch(/^ {4}\*/m);
    }
  });

  it('same lexemes, CST tokens and documents for every YAML text in the repository and the edge cases', () => {
    const all = texts();
    expect(all.length).toBeGreaterThan(40);
    for (const [name, text] of all) {
      expect([...new pushed.Lexer().lex(text)], name).toEqual([...new original.Lexer().lex(text)]);
      expect([...new pushed.Parser().parse(text)], name).toEqual([...new original.Parser().parse(text)]);
      for (const opts of [{ version: '1.1', uniqueKeys: false, merge: false, strict: false, prettyErrors: false } as const, {}]) {
        expect(documents(pushed, text, opts), name).toEqual(documents(original, text, opts));
      }
      const single = (y: typeof original) => {
        const d = y.parseDocument(text);
        return { js: plain(() => d.toJS({ maxAliasCount: -1 })), errors: d.errors.map((e) => e.message) };
      };
      expect(single(pushed), name).toEqual(single(original));
    }
  });

  it('incremental use: next() chunk by chunk, end(), and the composer fed token by token', () => {
    const text = readFileSync(path.join(root, 'test', 'fixtures', 'golden', 'monorepo.yml'), 'utf8');
    const run = (y: typeof original) => {
      const lines: number[] = [];
      const parser = new y.Parser((n) => lines.push(n));
      const tokens: unknown[] = [];
      for (let i = 0; i < text.length; i += 97) tokens.push(...parser.next(text.slice(i, i + 97)));
      tokens.push(...parser.end());
      const composer = new y.Composer();
      const docs: unknown[] = [];
      for (const t of tokens as Parameters<typeof composer.next>[0][]) for (const d of composer.next(t)) docs.push(d.toJS());
      for (const d of composer.end()) docs.push(d.toJS());
      return { tokens, docs, lines, incomplete: [...new y.Lexer().lex('a: [1, 2', true)] };
    };
    expect(run(pushed)).toEqual(run(original));
  });

  it('nesting too deep fails the same way in both', () => {
    const text = 'a: ' + '['.repeat(20000) + ']'.repeat(20000);
    // The composer catches the stack overflow as RESOURCE_EXHAUSTION; how many nested levels
    // report it depends on the stack left at that moment, so the kinds of error are compared
    // (tierguard reports the first: "nested too deeply").
    const outcome = (y: typeof original) => {
      try {
        const docs = y.parseAllDocuments(text);
        return Array.isArray(docs) ? docs.map((d) => [...new Set(d.errors.map((e) => e.code))]) : 'empty';
      } catch (e) {
        return e instanceof Error ? e.constructor.name : 'thrown';
      }
    };
    expect(outcome(pushed)).toEqual(outcome(original));
    expect(outcome(pushed)).toEqual([['RESOURCE_EXHAUSTION']]);
  });

});

describe('the push rewrite', () => {
  it('refuses a file it does not know and a yield whose value is used', () => {
    expect(() => pushify('class A {\n    *x() { yield 1; }\n}\nexports.A = A;\n', 'nodes/Node.js')).toThrow(/not one of/);
    const lexer = 'class Lexer {\n    *lex(s) {\n        const got = yield s;\n    }\n}\nexports.Lexer = Lexer;\n';
    expect(() => pushify(lexer, 'parse/lexer.js')).toThrow(/yaml\/dist\/parse\/lexer\.js:3: a `yield` whose value is used/);
    const other = 'class Lexer {\n    *lex(s) {\n        yield* other(s);\n    }\n}\nexports.Lexer = Lexer;\n';
    expect(() => pushify(other, 'parse/lexer.js')).toThrow(/lexer\.js:3: a `yield\*` that does not delegate/);
  });
});
