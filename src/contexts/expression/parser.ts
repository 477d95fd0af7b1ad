/**
 * The parser of `rules:if` expressions, with a cache by text.
 *
 * Mirrors `lib/gitlab/ci/pipeline/expression/parser.rb` (gitlabhq/gitlabhq): shunting-yard with
 * precedences `!`=1, comparisons=10, `&&`=11, `||`=12 (lower binds tighter), left associative;
 * and `lib/gitlab/ci/pipeline/expression/lexeme/pattern.rb` for regex literals.
 */
import { ExpressionError, tokenize, type Token } from './lexer.js';
import { BoundedMemo, YAML_TEXT_CHARS } from '../../util/bounded-memo.js';

type CompareOp = '==' | '!=' | '=~' | '!~';
type LogicOp = '&&' | '||';

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
const parseCache = new BoundedMemo<ParseResult>(5000, YAML_TEXT_CHARS);

/** Parse a `rules:if` expression; never throws. */
export function parseExpression(statement: string): ParseResult {
  let r = parseCache.get(statement);
  if (!r) {
    r = parseUncached(statement);
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
        return { kind: 'input', name: /inputs\.(\w+)/.exec(t.text)?.[1] ?? '', column: t.column };
      case 'string':
        return { kind: 'string', value: t.text.slice(1, -1), column: t.column };
      case 'pattern': {
        // lexeme/pattern.rb: `\/` → `/`, then RubySyntax %r{^/(?<regexp>.*)/(?<flags>[ismU]*)$}
        const text = t.text.replace(/\\\//g, '/');
        const m = /^\/(.*)\/([ismU]*)$/s.exec(text)!;
        return { kind: 'regex', source: m[1] ?? '', flags: m[2] ?? '', text: t.text, column: t.column };
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
