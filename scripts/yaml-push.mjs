// The `yaml` package's lexer, CST parser and composer without nested generators, for the CLI
// bundle (scripts/build-cli.mjs). Same library, same code, same results; only how tokens travel
// between its methods changes.
//
// Why: yaml's Lexer, Parser and Composer are written as generator methods that delegate to each
// other (`yield* this.step()` → `yield* this.blockMap()` → `yield* this.pop()` …), so every
// token is handed up through several generator frames. A CLI run is over before V8's optimizing
// compiler would make that cheap: on real-pipelines/cmake (110 KB) the cold parse is about a
// third faster with each method pushing its output into an array instead.
//
// How, mechanically, per file (dist/parse/lexer.js, dist/parse/parser.js, dist/compose/composer.js):
// - every generator method `*name(…)` becomes a plain method `__push_name(…)`;
// - `yield* this.name(…)` becomes `this.__push_name(…)` (the return value passes through as before);
// - `yield value;` (a statement) becomes `this.__out[this.__out.length] = value;`;
// - a generator method called as a bare statement, never iterated, stays a no-op;
// - the public generator methods keep their names and signatures: each runs its plain method
//   (when first iterated, as a generator does) into a fresh array and yields from it.
// - the parser reads its lexer's tokens (`for (const lexeme of this.lexer.lex(…))`) from the
//   array the lexer's plain method fills, with an index loop: no generator is resumed, and no
//   iterator result made, per token (each public generator `name` has `__all_name`, that array);
// Anything else (a `yield` used as a value, a delegation to something that is not one of these
// methods) stops the build: a new yaml release that changes these files must be looked at
// again (test/build/yaml-push.test.ts compares both builds token for token).
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The public generator methods of each transformed file (yaml's documented API). */
export const PUBLIC_GENERATORS = {
  'parse/lexer.js': ['lex'],
  'parse/parser.js': ['parse', 'next', 'end'],
  'compose/composer.js': ['compose', 'next', 'end'],
};

/**
 * Rewrite one of the three files. Throws, naming the file and line, on anything the rewrite
 * does not understand.
 */
export function pushify(source, file) {
  const publicNames = PUBLIC_GENERATORS[file];
  if (!publicNames) throw new Error(`yaml-push: ${file} is not one of ${Object.keys(PUBLIC_GENERATORS).join(', ')}`);
  const fail = (index, why) => {
    const line = source.slice(0, index).split('\n').length;
    throw new Error(`yaml-push: yaml/dist/${file}:${line}: ${why}; the yaml package changed, look at scripts/yaml-push.mjs again`);
  };
  // Comments mention `yield` too; blank them out (same length) to find the code's.
  const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));

  const names = new Set();
  for (const m of code.matchAll(/^ {4}\*([A-Za-z_$][\w$]*)\(/gm)) names.add(m[1]);
  for (const n of publicNames) if (!names.has(n)) fail(0, `no generator method ${n}()`);
  const classMatch = /^class ([A-Za-z_$][\w$]*) \{$/m.exec(code);
  if (!classMatch) fail(0, 'no class declaration');
  const className = classMatch[1];

  /** [start, end, replacement] edits on the original text, found in the comment-free copy. */
  const edits = [];
  for (const m of code.matchAll(/^( {4})\*([A-Za-z_$][\w$]*)\(/gm)) edits.push([m.index, m.index + m[0].length, `${m[1]}__push_${m[2]}(`]);
  for (const m of code.matchAll(/yield\*\s*/g)) {
    const rest = /^this\.([A-Za-z_$][\w$]*)\(/.exec(code.slice(m.index + m[0].length));
    if (!rest || !names.has(rest[1])) fail(m.index, 'a `yield*` that does not delegate to one of its own generator methods');
    edits.push([m.index, m.index + m[0].length + rest[0].length, `this.__push_${rest[1]}(`]);
  }
  // A generator method called without `yield*` only creates a generator that never runs (yaml
  // 2.9's lexer does so once, `this.pushNewline();`): as a statement without arguments it does
  // nothing, and so does its rewrite; anything else is not understood.
  for (const m of code.matchAll(/(?<!yield\*\s*)\bthis\.([A-Za-z_$][\w$]*)\(/g)) {
    if (!names.has(m[1])) continue;
    const statement = /^this\.[A-Za-z_$][\w$]*\(\);/.exec(code.slice(m.index));
    const lineStart = code.lastIndexOf('\n', m.index) + 1;
    if (!statement || code.slice(lineStart, m.index).trim() !== '') fail(m.index, `a call of the generator ${m[1]}() that is not a bare statement`);
    edits.push([m.index, m.index + statement[0].length, 'void 0; /* a generator created and never run, as in yaml */']);
  }
  for (const m of code.matchAll(/\byield\b(?!\*)/g)) {
    const before = code.slice(0, m.index).trimEnd();
    // Statement position: after a block, a statement, an `if (…)`, `else`, or a `case …:` label.
    const lastLine = before.slice(before.lastIndexOf('\n') + 1);
    if (!/(?:[{};)]|\belse)$/.test(before) && !/^\s*(?:case\b.*|default):$/.test(lastLine)) fail(m.index, 'a `yield` whose value is used');
    if (!/^yield\s+[^\s;]/.test(code.slice(m.index))) fail(m.index, 'a bare `yield`');
    edits.push([m.index, m.index + 'yield'.length, 'this.__out[this.__out.length] =']);
  }
  // The parser's one loop over its lexer's tokens (yaml's Parser#parse).
  if (file === 'parse/parser.js') {
    const loops = [...code.matchAll(/for \(const ([A-Za-z_$][\w$]*) of this\.lexer\.lex\(([^()]*)\)\)\s*\n\s*yield\* this\.next\(\1\);/g)];
    const uses = [...code.matchAll(/this\.lexer\.lex\(/g)];
    if (loops.length !== 1 || uses.length !== 1) fail(uses[0]?.index ?? 0, 'not the one `for (const lexeme of this.lexer.lex(…)) yield* this.next(lexeme);` loop');
    const m = loops[0];
    // The `yield* this.next(…)` inside is rewritten by the edit above; this one replaces the loop head.
    const head = `for (const ${m[1]} of this.lexer.lex(${m[2]}))`;
    const at = m.index;
    edits.push([at, at + head.length, `for (let __i = 0, __lexemes = this.lexer.__all_lex(${m[2]}); __i < __lexemes.length; __i++)`]);
    // The loop's body names the token: read it from the array.
    const bodyAt = code.indexOf(`(${m[1]});`, at + head.length) + 1;
    edits.push([bodyAt, bodyAt + m[1].length, '__lexemes[__i]']);
  }
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [s, e, r] of edits) {
    if (s < at) fail(s, 'overlapping rewrites');
    out += source.slice(at, s) + r;
    at = e;
  }
  out += source.slice(at);

  // The public generators, as yaml documents them, on top of the plain methods: `__all_<name>`
  // runs the plain method into a fresh array (the parser's loop reads the lexer's tokens so),
  // and the generator yields from it when first iterated.
  const wrappers = publicNames
    .map(
      (n) => `${className}.prototype.__all_${n} = function __all_${n}(...args) {
  const out = [];
  const outer = this.__out;
  this.__out = out;
  try {
    this.__push_${n}(...args);
  } finally {
    this.__out = outer;
  }
  return out;
};
${className}.prototype.${n} = function* ${n}(...args) {
  const out = this.__all_${n}(...args);
  yield* out;
};`,
    )
    .join('\n');
  // CommonJS (yaml/dist) ends with `exports.X = X;`, the ES module build (yaml/browser/dist) with `export { X };`.
  const exportAt = out.search(/^exports\.|^export \{/m);
  if (exportAt < 0) fail(source.length, 'no `exports.` or `export {` line');
  return out.slice(0, exportAt) + `// Added by tierguard's scripts/yaml-push.mjs: the public generators over the push methods.\n${wrappers}\n\n` + out.slice(exportAt);
}

/** esbuild plugin: loads the three files of the yaml package rewritten by pushify(). */
export const yamlPushPlugin = {
  name: 'yaml-push',
  setup(b) {
    const transformed = new Set();
    b.onLoad({ filter: /[\\/]node_modules[\\/]yaml[\\/](browser[\\/])?dist[\\/](parse[\\/](lexer|parser)|compose[\\/]composer)\.js$/ }, (args) => {
      const file = path.relative(path.join(args.path, '..', '..'), args.path).split(path.sep).join('/');
      transformed.add(file);
      return { contents: pushify(readFileSync(args.path, 'utf8'), file), loader: 'js', resolveDir: path.dirname(args.path) };
    });
    b.onEnd((result) => {
      // The CLI parses YAML, so all three must have been bundled (rewritten): otherwise the yaml
      // package moved its files and the bundle silently runs the generators again.
      const missing = Object.keys(PUBLIC_GENERATORS).filter((f) => !transformed.has(f));
      if (missing.length && result.errors.length === 0) result.errors.push({ text: `yaml-push: not bundled from yaml/dist: ${missing.join(', ')}` });
    });
  },
};
