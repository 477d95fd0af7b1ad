/**
 * `rules:if` / `only:variables` expressions: lexer, parser and a three-valued evaluator.
 *
 * Mirrors GitLab's implementation (gitlabhq/gitlabhq):
 * - `lib/gitlab/ci/pipeline/expression/lexer.rb`: lexemes tried in a fixed order at the current
 *   position after skipping whitespace; "Unknown lexeme found!"; `MAX_TOKENS = 100` with a loop
 *   of `@max_tokens.times` that raises "Too many tokens!" once 100 tokens have been read (so a
 *   statement needs fewer than 100 tokens).
 * - `lib/gitlab/ci/pipeline/expression/lexeme/*.rb`: the token patterns and `evaluate` methods
 *   (Ruby truthiness for `&&`/`||`, `present?` for the final result and for `!`).
 * - `lib/gitlab/ci/pipeline/expression/parser.rb`: shunting-yard with precedences
 *   `!`=1, comparisons=10, `&&`=11, `||`=12 (lower binds tighter), left associative.
 * - `lib/gitlab/ci/pipeline/expression/statement.rb`: `truthful?` is `evaluate.present?`,
 *   any ExpressionError → false.
 *
 * The evaluator is abstract: a variable's value may be *unknown* (user-defined, attacker-chosen
 * ref names …) and the result is then 'yes' | 'no' | 'unknown' with the variables that made
 * it unknown.
 */
import { matchesAny } from '../util/glob.js';

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

export type TokenType =
  | 'lparen'
  | 'rparen'
  | 'input'
  | 'variable'
  | 'string'
  | 'pattern'
  | 'null'
  | 'boolean'
  | '=='
  | '=~'
  | '!='
  | '!~'
  | '&&'
  | '||'
  | '!';

export interface Token {
  type: TokenType;
  /** The text as written. */
  text: string;
  /** 0-based offset in the statement. */
  offset: number;
  /** 1-based column in the statement. */
  column: number;
}

/** GitLab's `Lexer::MAX_TOKENS`. */
export const MAX_TOKENS = 100;

/** A lexer or parser error; `column` is 1-based within the expression text. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** Lexeme patterns, in GitLab's `LEXEMES` order (`lexer.rb`), as sticky JS regexps. */
const LEXEMES: { type: TokenType; re: RegExp }[] = [
  { type: 'lparen', re: /\(/y },
  { type: 'rparen', re: /\)/y },
  // lexeme/input.rb
  { type: 'input', re: /\$\[\[\s*inputs\.\w+\s*\]\]/y },
  // lexeme/variable.rb: /\$(?<name>\w+)/ (so `${VAR}` is not a variable)
  { type: 'variable', re: /\$\w+/y },
  // lexeme/string.rb: /("(?<string>.*?)")|('(?<string>.*?)')/ — no escapes
  { type: 'string', re: /"[^\n]*?"|'[^\n]*?'/y },
  // lexeme/pattern.rb: %r{^\/([^\/]|\\/)+[^\\]\/[ismU]*}
  { type: 'pattern', re: /\/([^/]|\\\/)+[^\\]\/[ismU]*/y },
  // lexeme/null.rb: /null/ (no word boundary)
  { type: 'null', re: /null/y },
  // lexeme/boolean.rb: /\b(?:true|false)\b/
  { type: 'boolean', re: /\b(?:true|false)\b/y },
  { type: '==', re: /==/y },
  { type: '=~', re: /=~/y },
  { type: '!=', re: /!=/y },
  { type: '!~', re: /!~/y },
  { type: '&&', re: /&&/y },
  { type: '||', re: /\|\|/y },
  // lexeme/not.rb (scanned after `!=` and `!~`)
  { type: '!', re: /!/y },
];

export function tokenize(statement: string, maxTokens = MAX_TOKENS): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const ws = /\s+/y;
  for (let i = 0; i < maxTokens; i++) {
    ws.lastIndex = pos;
    if (ws.test(statement)) pos = ws.lastIndex;
    if (pos >= statement.length) return tokens;
    let found = false;
    for (const { type, re } of LEXEMES) {
      re.lastIndex = pos;
      const m = re.exec(statement);
      if (m && m[0].length > 0) {
        tokens.push({ type, text: m[0], offset: pos, column: pos + 1 });
        pos += m[0].length;
        found = true;
        break;
      }
    }
    if (!found) {
      const hint =
        statement[pos] === '/'
          ? ' (not a valid regex literal: GitLab needs `/pattern/flags` with at least two characters inside)'
          : statement[pos] === '$'
            ? ' (variables are written `$NAME`; `${NAME}` is not allowed here)'
            : '';
      throw new ExpressionError(`unknown lexeme at ${JSON.stringify(statement.slice(pos, pos + 12))}${hint}`, pos + 1);
    }
  }
  // lexer.rb raises once `max_tokens` tokens have been read: point at the last one
  throw new ExpressionError(`too many tokens (GitLab allows fewer than ${maxTokens})`, tokens[tokens.length - 1]?.column ?? 1);
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

export type CompareOp = '==' | '!=' | '=~' | '!~';
export type LogicOp = '&&' | '||';

export type Expr =
  | { kind: 'variable'; name: string; column: number }
  | { kind: 'input'; name: string; column: number }
  | { kind: 'string'; value: string; column: number }
  | { kind: 'regex'; source: string; flags: string; text: string; column: number }
  | { kind: 'null'; column: number }
  | { kind: 'boolean'; value: boolean; column: number }
  | { kind: 'not'; operand: Expr; column: number }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; column: number }
  | { kind: 'logic'; op: LogicOp; left: Expr; right: Expr; column: number };

export type ParseResult =
  | { ok: true; expr: Expr; tokens: Token[] }
  | { ok: false; error: { message: string; column: number } };

/**
 * Parsed expressions by text: a pipeline repeats the same `if:` across many jobs, and each is
 * evaluated under every context. Results are immutable, so sharing them is safe.
 */
const parseCache = new Map<string, ParseResult>();
const PARSE_CACHE_MAX = 5000;

/** Parse a `rules:if` expression; never throws. */
export function parseExpression(statement: string): ParseResult {
  let r = parseCache.get(statement);
  if (!r) {
    r = parseUncached(statement);
    if (parseCache.size >= PARSE_CACHE_MAX) parseCache.clear();
    parseCache.set(statement, r);
  }
  return r;
}

function parseUncached(statement: string): ParseResult {
  try {
    const tokens = tokenize(statement);
    if (tokens.length === 0) throw new ExpressionError('empty expression', 1);
    const p = new Parser(tokens, statement.length);
    const expr = p.parseOr();
    if (!p.atEnd()) {
      const t = p.peek()!;
      throw new ExpressionError(
        t.type === 'rparen' ? 'unmatched `)`' : `unexpected ${describe(t)} after a complete expression`,
        t.column,
      );
    }
    return { ok: true, expr, tokens };
  } catch (e) {
    if (e instanceof ExpressionError) return { ok: false, error: { message: e.message, column: e.column } };
    throw e;
  }
}

/** Parse or throw ExpressionError. */
export function parseOrThrow(statement: string): Expr {
  const r = parseExpression(statement);
  if (!r.ok) throw new ExpressionError(r.error.message, r.error.column);
  return r.expr;
}

function describe(t: Token): string {
  switch (t.type) {
    case 'lparen':
      return '`(`';
    case 'rparen':
      return '`)`';
    case 'variable':
    case 'input':
      return `variable \`${t.text}\``;
    case 'string':
      return `string ${t.text}`;
    case 'pattern':
      return `regex ${t.text}`;
    case 'null':
    case 'boolean':
      return `\`${t.text}\``;
    default:
      return `operator \`${t.text}\``;
  }
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  private endColumn(): number {
    return this.length + 1;
  }

  parseOr(): Expr {
    let left = this.parseAnd();
    for (let t = this.peek(); t?.type === '||'; t = this.peek()) {
      this.i++;
      const right = this.parseAnd();
      left = { kind: 'logic', op: '||', left, right, column: t.column };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseCompare();
    for (let t = this.peek(); t?.type === '&&'; t = this.peek()) {
      this.i++;
      const right = this.parseCompare();
      left = { kind: 'logic', op: '&&', left, right, column: t.column };
    }
    return left;
  }

  private parseCompare(): Expr {
    let left = this.parseUnary();
    for (let t = this.peek(); t && (t.type === '==' || t.type === '!=' || t.type === '=~' || t.type === '!~'); t = this.peek()) {
      this.i++;
      const right = this.parseUnary();
      left = { kind: 'compare', op: t.type, left, right, column: t.column };
    }
    return left;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t?.type === '!') {
      this.i++;
      return { kind: 'not', operand: this.parseUnary(), column: t.column };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    if (!t) throw new ExpressionError('expression ends where a value was expected', this.endColumn());
    this.i++;
    switch (t.type) {
      case 'lparen': {
        const inner = this.parseOr();
        const close = this.peek();
        if (close?.type !== 'rparen') {
          throw new ExpressionError(
            close ? `expected \`)\` but found ${describe(close)}` : 'unmatched `(`',
            close ? close.column : t.column,
          );
        }
        this.i++;
        return inner;
      }
      case 'variable':
        return { kind: 'variable', name: t.text.slice(1), column: t.column };
      case 'input':
        return { kind: 'input', name: /inputs\.(\w+)/.exec(t.text)![1], column: t.column };
      case 'string':
        return { kind: 'string', value: t.text.slice(1, -1), column: t.column };
      case 'pattern': {
        // lexeme/pattern.rb: `\/` → `/`, then RubySyntax %r{^/(?<regexp>.*)/(?<flags>[ismU]*)$}
        const text = t.text.replace(/\\\//g, '/');
        const m = /^\/(.*)\/([ismU]*)$/s.exec(text)!;
        return { kind: 'regex', source: m[1], flags: m[2], text: t.text, column: t.column };
      }
      case 'null':
        return { kind: 'null', column: t.column };
      case 'boolean':
        return { kind: 'boolean', value: t.text === 'true', column: t.column };
      default:
        throw new ExpressionError(
          t.type === 'rparen' ? 'unexpected `)` where a value was expected' : `${describe(t)} needs a value on its left`,
          t.column,
        );
    }
  }
}

/** The expression back as text (canonical, fully parenthesised where it matters). */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'variable':
      return `$${e.name}`;
    case 'input':
      return `$[[ inputs.${e.name} ]]`;
    case 'string':
      return JSON.stringify(e.value);
    case 'regex':
      return e.text;
    case 'null':
      return 'null';
    case 'boolean':
      return String(e.value);
    case 'not':
      return `!${wrap(e.operand)}`;
    case 'compare':
      return `${wrapNot(e.left)} ${e.op} ${wrapNot(e.right)}`;
    case 'logic':
      return `(${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)})`;
  }
}
function wrapNot(e: Expr): string {
  return e.kind === 'not' ? `(${formatExpr(e)})` : wrap(e);
}
function wrap(e: Expr): string {
  return e.kind === 'compare' || e.kind === 'logic' ? `(${formatExpr(e)})` : formatExpr(e);
}

/** Every variable name an expression reads. */
export function variablesOf(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'variable':
      out.add(e.name);
      break;
    case 'not':
      variablesOf(e.operand, out);
      break;
    case 'compare':
    case 'logic':
      variablesOf(e.left, out);
      variablesOf(e.right, out);
      break;
    default:
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Regex translation (RE2 / Ruby syntax → JS)
// ---------------------------------------------------------------------------------------------

export type RegexTranslation = { ok: true; re: RegExp } | { ok: false; reason: string };

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  blank: ' \\t',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
};

const translateCache = new Map<string, RegexTranslation>();

/**
 * Translate a GitLab (RE2 via `Gitlab::UntrustedRegexp::RubySyntax`, flags prepended as
 * `(?flags)`) regex to a JS RegExp. Anything JS cannot express is reported, not thrown.
 */
export function translateRegex(source: string, flags: string): RegexTranslation {
  const key = `${flags}/${source}`;
  const hit = translateCache.get(key);
  if (hit) return hit;
  const r = doTranslate(source, flags);
  if (translateCache.size > 5000) translateCache.clear();
  translateCache.set(key, r);
  return r;
}

function doTranslate(source: string, flagsIn: string): RegexTranslation {
  const flags = new Set(flagsIn.split('').filter(Boolean));
  let src = source;
  // Leading inline flag groups `(?i)`, `(?sm)` …
  for (;;) {
    const m = /^\(\?([imsU]+)\)/.exec(src);
    if (!m) break;
    for (const f of m[1]) flags.add(f);
    src = src.slice(m[0].length);
  }
  const ungreedy = flags.has('U');
  const multiline = flags.has('m');
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) return { ok: false, reason: 'trailing backslash' };
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 1;
        continue;
      }
      if (!inClass) {
        if (n === 'A') {
          out += multiline ? '(?<![\\s\\S])' : '^';
          i++;
          continue;
        }
        if (n === 'z') {
          out += multiline ? '(?![\\s\\S])' : '$';
          i++;
          continue;
        }
        if (n === 'Z') {
          out += '(?=\\n?(?![\\s\\S]))';
          i++;
          continue;
        }
      }
      if (n === 'h') {
        out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
        i++;
        continue;
      }
      if (n === 'p' || n === 'P') {
        // \pL → \p{L}
        if (src[i + 2] !== '{' && src[i + 2] !== undefined) {
          out += `\\${n}{${src[i + 2]}}`;
          i += 2;
          continue;
        }
      }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
        if (m) {
          const cls = POSIX_CLASSES[m[2]];
          if (!cls || m[1]) return { ok: false, reason: `POSIX class [:${m[1]}${m[2]}:]` };
          out += cls;
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      if (src[i + 2] === 'P' && src[i + 3] === '<') {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^\(\?[imsU-]+[:)]/.test(src.slice(i))) return { ok: false, reason: 'inline flag group inside the pattern' };
      out += c;
      continue;
    }
    if (ungreedy && (c === '*' || c === '+' || c === '?' || c === '{')) {
      let q = c;
      if (c === '{') {
        const m = /^\{\d+(,\d*)?\}/.exec(src.slice(i));
        if (!m) {
          out += c;
          continue;
        }
        q = m[0];
      } else if (c === '?' && isQuantifierTarget(out) === false) {
        out += c;
        continue;
      }
      i += q.length - 1;
      if (src[i + 1] === '?') {
        out += q; // lazy in U mode → greedy
        i++;
      } else out += q + '?';
      continue;
    }
    out += c;
  }
  let jsFlags = '';
  if (flags.has('i')) jsFlags += 'i';
  if (flags.has('m')) jsFlags += 'm';
  if (flags.has('s')) jsFlags += 's';
  for (const f of flags) if (!'imsU'.includes(f)) return { ok: false, reason: `flag ${f}` };
  try {
    return { ok: true, re: new RegExp(out, jsFlags + 'u') };
  } catch {
    try {
      return { ok: true, re: new RegExp(out, jsFlags) };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }
}

function isQuantifierTarget(out: string): boolean {
  return out.length > 0 && !out.endsWith('(') && !out.endsWith('|');
}

function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * GitLab runs these regexes on RE2 (linear time); JS backtracks. A pattern with a quantified
 * group that itself contains a quantifier or an alternation (`(a+)+`, `(a|a)*`), a
 * backreference, or a huge repetition count could take exponential time on a crafted value,
 * and the YAML author controls both the pattern and the values.
 */
export function isRiskyRegex(source: string): boolean {
  if (/\\[1-9]|\\k</.test(source)) return true;
  if (/\{\s*\d{4,}/.test(source)) return true;
  const stack: { inner: boolean }[] = [];
  let inClass = false;
  let lastGroupInner = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    let closedGroup = false;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ inner: false });
    else if (c === ')') {
      lastGroupInner = stack.pop()?.inner ?? false;
      closedGroup = true;
      if (lastGroupInner && stack.length) stack[stack.length - 1].inner = true;
    } else if (c === '|' || c === '*' || c === '+' || c === '{' || c === '?') {
      if (stack.length && !(c === '?' && source[i - 1] === '(')) stack[stack.length - 1].inner = true;
    }
    if (closedGroup && lastGroupInner && /[*+{]/.test(source[i + 1] ?? '')) return true;
  }
  return false;
}

/** Longest text a risky pattern is still run on (2^16 steps at worst). */
const RISKY_TEXT_LIMIT = 16;

/** Run a translated regex, or give up (`undefined`) when that could hang. */
export function safeRegexTest(re: RegExp, source: string, text: string): boolean | undefined {
  if (text.length > RISKY_TEXT_LIMIT && isRiskyRegex(source)) return undefined;
  return re.test(text);
}

/** Parse a variable's value as a regex if it has GitLab's `/…/flags` form (RubySyntax). */
export function regexFromValue(value: string): { source: string; flags: string } | undefined {
  // lexeme/pattern.rb build: gsub(%r{\\/}, '/') then RubySyntax %r{^/(?<regexp>.*)/(?<flags>[ismU]*)$}
  const m = /^\/(.*)\/([ismU]*)$/s.exec(value.replace(/\\\//g, '/'));
  return m ? { source: m[1], flags: m[2] } : undefined;
}

/**
 * When a regex is just an anchored literal (`/^main$/`, `/\Amain\z/`) or an anchored literal
 * prefix (`/^release\//`, `/^feature-.*$/`), say so: ref-name constraints can then decide it.
 */
export function literalShape(source: string, flags: string): { exact: string } | { prefix: string } | undefined {
  if (flags.includes('i') || flags.includes('m') || /^\(\?/.test(source) || hasTopLevelAlternation(source)) return undefined;
  let i: number;
  if (source.startsWith('^')) i = 1;
  else if (source.startsWith('\\A')) i = 2;
  else return undefined;
  let lit = '';
  for (; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const n = source[i + 1];
      if (n !== undefined && /[./\\\-_^$*+?()[\]{}|#:@=!~,&%'"<> ]/.test(n)) {
        lit += n;
        i++;
        continue;
      }
      break;
    }
    if ('.*+?()[]{}|^$'.includes(c)) break;
    lit += c;
  }
  const rest = source.slice(i);
  if (/^[*+?{]/.test(rest)) {
    // a quantifier applies to the last literal char
    return lit.length > 1 ? { prefix: lit.slice(0, -1) } : undefined;
  }
  if (rest === '$' || rest === '\\z') return { exact: lit };
  if (rest === '' || rest === '.*' || rest === '.*$' || rest === '.*\\z' || rest === '.+' || rest === '.+$') {
    return lit ? { prefix: lit } : undefined;
  }
  if (lit) return { prefix: lit }; // anything after the literal only narrows further
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Abstract values and evaluation
// ---------------------------------------------------------------------------------------------

/** What is known about a string the engine cannot see (an attacker-chosen branch name …). */
export interface UnknownString {
  /** It may be unset (default true). */
  mayBeUnset?: boolean;
  /** It may be the empty string (default true). */
  mayBeEmpty?: boolean;
  /** The value certainly matches none of these globs (e.g. protected branch patterns). */
  notMatching?: string[];
  /** The value certainly matches one of these globs. */
  matching?: string[];
  /** The value is one of these (e.g. `web`, `api`, `trigger`). */
  oneOf?: string[];
  /**
   * A symbolic identity: two unknowns with the same symbol are equal, two with different
   * symbols are different (CI_PROJECT_ID vs a fork's CI_MERGE_REQUEST_SOURCE_PROJECT_ID).
   */
  symbol?: string;
}

/** A variable's value in an evaluation: a string, unset, or unknown. */
export type VarValue = { kind: 'set'; value: string } | { kind: 'unset' } | ({ kind: 'unknown' } & UnknownString);

export interface VariableScope {
  lookup(name: string): VarValue;
}

export interface ScopeInit {
  /** Known values; `undefined` = known to be unset. */
  known?: Record<string, string | undefined> | Map<string, string | undefined>;
  /** Variables whose value cannot be known (names, or names with constraints). */
  unknown?: Iterable<string> | Record<string, UnknownString>;
  /** Any other variable: 'unknown' (default) or 'unset'. */
  otherwise?: 'unknown' | 'unset';
}

export function makeScope(init: ScopeInit): VariableScope {
  const known = init.known instanceof Map ? init.known : new Map(Object.entries(init.known ?? {}));
  const unknown = new Map<string, UnknownString>();
  if (init.unknown) {
    if (typeof (init.unknown as Iterable<string>)[Symbol.iterator] === 'function') {
      for (const n of init.unknown as Iterable<string>) unknown.set(n, {});
    } else {
      for (const [n, u] of Object.entries(init.unknown as Record<string, UnknownString>)) unknown.set(n, u);
    }
  }
  return {
    lookup(name) {
      const u = unknown.get(name);
      if (u) return { kind: 'unknown', ...u };
      if (known.has(name)) {
        const v = known.get(name);
        return v === undefined ? { kind: 'unset' } : { kind: 'set', value: v };
      }
      return init.otherwise === 'unset' ? { kind: 'unset' } : { kind: 'unknown' };
    },
  };
}

export type Tri = 'yes' | 'no' | 'unknown';

export interface EvalResult {
  result: Tri;
  /** Variables whose unknown value made the result unknown (sorted, unique). */
  unknownVariables: string[];
  /** Regexes that could not be evaluated in JS. */
  notes?: string[];
}

/** An unknown runtime value: the set of value classes it may belong to. */
interface Unk {
  k: 'unk';
  vars: Set<string>;
  nil: boolean;
  fals: boolean;
  tru: boolean;
  empty: boolean;
  /** May be a non-empty string; with constraints when `str` is an object. */
  str: false | UnknownString;
}
type AVal =
  | { k: 'str'; v: string }
  | { k: 'nil' }
  | { k: 'bool'; v: boolean }
  | { k: 're'; source: string; flags: string }
  | Unk;

interface Ctx {
  scope: VariableScope;
  notes: string[];
}

/** Evaluate an expression; the result says whether GitLab's `truthful?` is true. */
export function evaluate(expr: Expr, scope: VariableScope): EvalResult {
  const ctx: Ctx = { scope, notes: [] };
  const v = ev(expr, ctx);
  const vars = v.k === 'unk' ? v.vars : new Set<string>();
  const r = present(v);
  const out: EvalResult = { result: r, unknownVariables: r === 'unknown' ? [...vars].sort() : [] };
  if (ctx.notes.length) out.notes = [...new Set(ctx.notes)];
  return out;
}

/** Parse and evaluate in one go; a parse error is returned, not thrown. */
export function evaluateText(
  statement: string,
  scope: VariableScope,
): EvalResult | { error: { message: string; column: number } } {
  const p = parseExpression(statement);
  if (!p.ok) return { error: p.error };
  return evaluate(p.expr, scope);
}

function unk(vars: Set<string>, cls: Partial<Omit<Unk, 'k' | 'vars'>>): Unk {
  return { k: 'unk', vars, nil: false, fals: false, tru: false, empty: false, str: false, ...cls };
}

function varsOf(...vals: AVal[]): Set<string> {
  const s = new Set<string>();
  for (const v of vals) if (v.k === 'unk') for (const n of v.vars) s.add(n);
  return s;
}

function ev(e: Expr, ctx: Ctx): AVal {
  switch (e.kind) {
    case 'string':
      return { k: 'str', v: e.value };
    case 'null':
      return { k: 'nil' };
    case 'boolean':
      return { k: 'bool', v: e.value };
    case 'regex':
      return { k: 're', source: e.source, flags: e.flags };
    case 'input':
      // inputs are interpolated before rules are evaluated; an input left here is unknown
      return unk(new Set([`inputs.${e.name}`]), { nil: true, empty: true, str: {} });
    case 'variable': {
      const v = ctx.scope.lookup(e.name);
      if (v.kind === 'set') return { k: 'str', v: v.value };
      if (v.kind === 'unset') return { k: 'nil' };
      const { kind: _k, ...c } = v;
      return unk(new Set([e.name]), { nil: c.mayBeUnset !== false, empty: c.mayBeEmpty !== false, str: c });
    }
    case 'not': {
      // lexeme/not.rb: !operand.evaluate.present?
      const v = ev(e.operand, ctx);
      return triToVal(not(present(v)), varsOf(v));
    }
    case 'logic': {
      const a = ev(e.left, ctx);
      const t = truthy(a);
      if (e.op === '&&') {
        // lexeme/and.rb: left && right (Ruby truthiness: only nil and false are falsy)
        if (t === 'no') return a;
        const b = ev(e.right, ctx);
        if (t === 'yes') return b;
        return union(falsyPart(a as Unk), b);
      }
      // lexeme/or.rb: left || right
      if (t === 'yes') return a;
      const b = ev(e.right, ctx);
      if (t === 'no') return b;
      return union(truthyPart(a as Unk), b);
    }
    case 'compare': {
      const a = ev(e.left, ctx);
      const b = ev(e.right, ctx);
      const vars = varsOf(a, b);
      switch (e.op) {
        case '==':
          return triToVal(equals(a, b), vars);
        case '!=':
          return triToVal(not(equals(a, b)), vars);
        case '=~':
          return triToVal(matches(a, b, ctx, false), vars);
        case '!~':
          return triToVal(matches(a, b, ctx, true), vars);
      }
    }
  }
}

function not(t: Tri): Tri {
  return t === 'yes' ? 'no' : t === 'no' ? 'yes' : 'unknown';
}

function triToVal(t: Tri, vars: Set<string>): AVal {
  if (t === 'unknown') return unk(vars, { fals: true, tru: true });
  return { k: 'bool', v: t === 'yes' };
}

function asUnk(v: AVal): Unk {
  if (v.k === 'unk') return v;
  switch (v.k) {
    case 'nil':
      return unk(new Set(), { nil: true });
    case 'bool':
      return unk(new Set(), v.v ? { tru: true } : { fals: true });
    case 're':
      return unk(new Set(), { tru: true });
    case 'str':
      return unk(new Set(), v.v === '' ? { empty: true } : { str: { oneOf: [v.v] } });
  }
}

function union(a: Unk, bIn: AVal): AVal {
  const b = asUnk(bIn);
  let str: Unk['str'] = false;
  if (a.str && b.str) {
    const ao = a.str.oneOf;
    const bo = b.str.oneOf;
    str = ao && bo ? { oneOf: [...new Set([...ao, ...bo])] } : {};
  } else str = a.str || b.str;
  return unk(new Set([...a.vars, ...b.vars]), {
    nil: a.nil || b.nil,
    fals: a.fals || b.fals,
    tru: a.tru || b.tru,
    empty: a.empty || b.empty,
    str,
  });
}

function falsyPart(a: Unk): Unk {
  return unk(a.vars, { nil: a.nil, fals: a.fals });
}
function truthyPart(a: Unk): Unk {
  return unk(a.vars, { tru: a.tru, empty: a.empty, str: a.str });
}

function tri(canYes: boolean, canNo: boolean): Tri {
  if (canYes && canNo) return 'unknown';
  return canYes ? 'yes' : 'no';
}

/** Ruby truthiness (nil and false are falsy). */
function truthy(v: AVal): Tri {
  if (v.k !== 'unk') return v.k === 'nil' || (v.k === 'bool' && !v.v) ? 'no' : 'yes';
  return tri(v.tru || v.empty || !!v.str, v.nil || v.fals);
}

/** ActiveSupport `present?`. */
function present(v: AVal): Tri {
  switch (v.k) {
    case 'nil':
      return 'no';
    case 'bool':
      return v.v ? 'yes' : 'no';
    case 'str':
      return v.v === '' ? 'no' : 'yes';
    case 're':
      return 'yes';
    case 'unk':
      return tri(v.tru || !!v.str, v.nil || v.fals || v.empty);
  }
}

/** Whether an unknown non-empty string can be exactly `s`. */
function strCanBe(c: UnknownString, s: string): boolean {
  if (c.oneOf && !c.oneOf.includes(s)) return false;
  if (c.notMatching && matchesAny(s, c.notMatching)) return false;
  if (c.matching && !matchesAny(s, c.matching)) return false;
  return true;
}

/** A single concrete string the unknown must be, if the constraints pin it. */
function strSingleton(c: UnknownString): string | undefined {
  if (c.oneOf?.length === 1) return c.oneOf[0];
  if (c.matching?.length === 1 && !/[*?]/.test(c.matching[0])) {
    const v = c.matching[0];
    return strCanBe(c, v) ? v : undefined;
  }
  return undefined;
}

function classCount(u: Unk): number {
  return +u.nil + +u.fals + +u.tru + +u.empty + +!!u.str;
}

/** Ruby `==` between evaluated values (lexeme/equals.rb). */
function equals(a: AVal, b: AVal): Tri {
  if (a.k !== 'unk' && b.k !== 'unk') return concreteEquals(a, b) ? 'yes' : 'no';
  if (a.k === 'unk' && b.k === 'unk') return unkEqualsUnk(a, b);
  const u = (a.k === 'unk' ? a : b) as Unk;
  const c = (a.k === 'unk' ? b : a) as Exclude<AVal, Unk>;
  const others = classCount(u);
  switch (c.k) {
    case 'nil':
      return u.nil ? (others > 1 ? 'unknown' : 'yes') : 'no';
    case 'bool':
      if (c.v) return u.tru ? (others > 1 ? 'unknown' : 'yes') : 'no';
      return u.fals ? (others > 1 ? 'unknown' : 'yes') : 'no';
    case 're':
      return 'no';
    case 'str': {
      if (c.v === '') return u.empty ? (others > 1 ? 'unknown' : 'yes') : 'no';
      if (!u.str || !strCanBe(u.str, c.v)) return 'no';
      if (others === 1 && strSingleton(u.str) === c.v) return 'yes';
      return 'unknown';
    }
  }
}

function concreteEquals(a: Exclude<AVal, Unk>, b: Exclude<AVal, Unk>): boolean {
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'nil':
      return true;
    case 'bool':
      return a.v === (b as { v: boolean }).v;
    case 'str':
      return a.v === (b as { v: string }).v;
    case 're':
      return a.source === (b as { source: string }).source;
  }
}

function unkEqualsUnk(a: Unk, b: Unk): Tri {
  const as = a.str;
  const bs = b.str;
  if (as && bs && as.symbol && bs.symbol) {
    // two specific values: same symbol → the same value; else distinct
    const onlyStr = classCount(a) === 1 && classCount(b) === 1;
    if (as.symbol === bs.symbol) return onlyStr ? 'yes' : 'unknown';
    if (onlyStr) return 'no';
  }
  const sa = as ? strSingleton(as) : undefined;
  const sb = bs ? strSingleton(bs) : undefined;
  if (sa !== undefined && classCount(a) === 1) return equals({ k: 'str', v: sa }, b);
  if (sb !== undefined && classCount(b) === 1) return equals(a, { k: 'str', v: sb });
  let overlap = (a.nil && b.nil) || (a.fals && b.fals) || (a.tru && b.tru) || (a.empty && b.empty);
  if (as && bs) {
    if (as.oneOf && bs.oneOf) overlap ||= as.oneOf.some((s) => strCanBe(bs, s));
    else if (as.oneOf) overlap ||= as.oneOf.some((s) => strCanBe(bs, s));
    else if (bs.oneOf) overlap ||= bs.oneOf.some((s) => strCanBe(as, s));
    else overlap = true;
  }
  return overlap ? 'unknown' : 'no';
}

/** Ruby `to_s` of a value as the text operand of `=~`. */
function textOf(v: Exclude<AVal, Unk>): string {
  switch (v.k) {
    case 'nil':
      return '';
    case 'bool':
      return String(v.v);
    case 'str':
      return v.v;
    case 're':
      return `(?-mix:${v.source})`;
  }
}

/**
 * lexeme/matches.rb / not_matches.rb: `return false unless regexp` (`true` for `!~`); the
 * right side, if a string, becomes a regex when it has `/…/` form (Pattern.build_and_evaluate),
 * else `String#scan(text)`, i.e. a substring test of the text inside the right-hand string.
 */
function matches(text: AVal, right: AVal, ctx: Ctx, negate: boolean): Tri {
  const fin = (t: Tri): Tri => (negate ? not(t) : t);
  if (right.k === 'unk') {
    const t = truthy(right);
    if (t === 'no') return negate ? 'yes' : 'no';
    if (right.str) {
      const s = strSingleton(right.str);
      if (s !== undefined && classCount(right) === 1) return matches(text, { k: 'str', v: s }, ctx, negate);
    }
    return 'unknown';
  }
  if (right.k === 'nil' || (right.k === 'bool' && !right.v)) return negate ? 'yes' : 'no';
  if (right.k === 'bool') return 'unknown'; // `=~ true`: GitLab raises a non-expression error
  let regex: { source: string; flags: string } | undefined;
  if (right.k === 're') regex = right;
  else regex = regexFromValue(right.v);
  if (!regex) {
    const hay = (right as { v: string }).v;
    return fin(mapText(text, (s) => hay.includes(s), (_c) => (hay === '' ? 'no' : 'unknown')));
  }
  const tr = translateRegex(regex.source, regex.flags);
  if (!tr.ok) {
    ctx.notes.push(`regex /${regex.source}/${regex.flags} cannot be evaluated (${tr.reason})`);
    return 'unknown';
  }
  const re = tr.re;
  const shape = literalShape(regex.source, regex.flags);
  return fin(
    mapText(
      text,
      (s) => safeRegexTest(re, regex!.source, s),
      (c) => {
        if (!shape) return 'unknown';
        if ('exact' in shape) return strCanBe(c, shape.exact) ? (strSingleton(c) === shape.exact ? 'yes' : 'unknown') : 'no';
        return prefixMatch(c, shape.prefix);
      },
    ),
  );
}

/** Does an unknown non-empty string start with `prefix`? */
function prefixMatch(c: UnknownString, prefix: string): Tri {
  if (c.oneOf) return tri(c.oneOf.some((s) => s.startsWith(prefix) && strCanBe(c, s)), c.oneOf.some((s) => !s.startsWith(prefix) && strCanBe(c, s)));
  // every value matches one of `matching`: if each of those globs forces the prefix → yes
  if (c.matching?.length && c.matching.every((g) => literalHead(g).startsWith(prefix))) return 'yes';
  // every string with this prefix is excluded (a glob `Q*` with Q a prefix of `prefix`) → no
  if (c.notMatching?.some((g) => /^[^*?]*\*$/.test(g) && prefix.startsWith(g.slice(0, -1)))) return 'no';
  if (c.matching?.length && c.matching.every((g) => { const h = literalHead(g); return !h.startsWith(prefix) && !prefix.startsWith(h); })) return 'no';
  return 'unknown';
}

/** The literal part of a glob before its first wildcard. */
function literalHead(glob: string): string {
  const i = glob.search(/[*?]/);
  return i < 0 ? glob : glob.slice(0, i);
}

/** Apply a string predicate over the possible texts of a value. */
function mapText(v: AVal, testIn: (s: string) => boolean | undefined, onStr: (c: UnknownString) => Tri): Tri {
  const test = (s: string): Tri => {
    const r = testIn(s);
    return r === undefined ? 'unknown' : r ? 'yes' : 'no';
  };
  if (v.k !== 'unk') return test(textOf(v));
  const results: Tri[] = [];
  if (v.nil || v.empty) results.push(test(''));
  if (v.fals) results.push(test('false'));
  if (v.tru) results.push(test('true'));
  if (v.str) {
    const s = v.str.oneOf;
    if (s) {
      for (const x of s) if (strCanBe(v.str, x)) results.push(test(x));
    } else results.push(onStr(v.str));
  }
  if (results.length === 0) return 'no';
  return results.every((r) => r === results[0]) ? results[0] : 'unknown';
}
