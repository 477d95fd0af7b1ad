/**
 * The lexer of `rules:if` / `only:variables` expressions.
 *
 * Mirrors GitLab's implementation (gitlabhq/gitlabhq):
 * - `lib/gitlab/ci/pipeline/expression/lexer.rb`: lexemes tried in a fixed order at the current
 *   position after skipping whitespace; "Unknown lexeme found!"; `MAX_TOKENS = 100` with a loop
 *   of `@max_tokens.times` that raises "Too many tokens!" once 100 tokens have been read (so a
 *   statement needs fewer than 100 tokens).
 * - `lib/gitlab/ci/pipeline/expression/lexeme/*.rb`: the token patterns.
 */

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
