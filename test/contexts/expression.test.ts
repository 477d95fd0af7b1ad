import { describe, it, expect } from 'vitest';
import {
  evaluate,
  evaluateText,
  formatExpr,
  isRiskyRegex,
  literalShape,
  makeScope,
  parseExpression,
  regexFromValue,
  tokenize,
  translateRegex,
  type Expr,
  type VariableScope,
} from '../../src/contexts/expression.js';
import { YAML_TEXT_CHARS } from '../../src/util/bounded-memo.js';

function parse(s: string): Expr {
  const r = parseExpression(s);
  if (!r.ok) throw new Error(`${r.error.message} @${r.error.column}`);
  return r.expr;
}
function err(s: string) {
  const r = parseExpression(s);
  if (r.ok) throw new Error(`expected a parse error for ${s}`);
  return r.error;
}
function ev(s: string, scope: VariableScope) {
  return evaluate(parse(s), scope);
}
const known = (k: Record<string, string | undefined>) => makeScope({ known: k, otherwise: 'unset' });

describe('memoised parses and regex translations', () => {
  // `rules:if` expressions and their regexes are YAML an MR author writes, kept by the service
  // from review to review.
  it('are kept within YAML_TEXT_CHARS characters of expressions', () => {
    const p = parseExpression('$CI_COMMIT_BRANCH == "main"');
    const r = translateRegex('^release-.*$', '');
    expect(parseExpression('$CI_COMMIT_BRANCH == "main"')).toBe(p);
    expect(translateRegex('^release-.*$', '')).toBe(r);
    for (const c of ['a', 'b']) {
      const long = c.repeat(YAML_TEXT_CHARS / 2);
      expect(parseExpression(`$X == "${long}"`).ok).toBe(true);
      expect(translateRegex(long, '').ok).toBe(true);
    }
    expect(parseExpression('$CI_COMMIT_BRANCH == "main"')).not.toBe(p);
    expect(parseExpression('$CI_COMMIT_BRANCH == "main"')).toEqual(p);
    expect(translateRegex('^release-.*$', '')).not.toBe(r);
  });
});

describe('lexer', () => {
  it('scans every lexeme in GitLab order', () => {
    const t = tokenize('( ) $[[ inputs.env ]] $VAR "dq" \'sq\' /re+x/i null true false == =~ != !~ && || !');
    expect(t.map((x) => x.type)).toEqual([
      'lparen', 'rparen', 'input', 'variable', 'string', 'string', 'pattern', 'null', 'boolean', 'boolean',
      '==', '=~', '!=', '!~', '&&', '||', '!',
    ]);
    expect(t[3]).toMatchObject({ text: '$VAR', column: 23 });
  });

  it('has no escapes in strings and keeps regex flags i m s U', () => {
    expect(tokenize('"a\\"')[0]?.text).toBe('"a\\"');
    expect(tokenize('/ab/imsU')[0]?.text).toBe('/ab/imsU');
    expect(tokenize('/a\\/b/')[0]?.text).toBe('/a\\/b/');
  });

  it('rejects ${VAR} and unknown characters with a column', () => {
    expect(err('$A == ${B}')).toMatchObject({ column: 7 });
    expect(err('$A == ${B}').message).toMatch(/unknown lexeme/);
    expect(err('$A === "x"')).toMatchObject({ column: 6 });
    expect(err('$A > 1')).toMatchObject({ column: 4 });
  });

  it('stops at GitLab token limit: 99 tokens pass, 100 do not', () => {
    const expr = (n: number) => Array.from({ length: n }, () => '$A').join(' && ');
    // n variables + (n-1) operators
    expect(tokenize(expr(50)).length).toBe(99);
    expect(parseExpression(expr(50)).ok).toBe(true);
    const e = err(expr(50) + ' &&');
    expect(e.message).toMatch(/too many tokens/);
    expect(e.column).toBe(expr(50).length + 2); // the 100th token
  });
});

describe('parser', () => {
  it('binds ! tighter than comparisons, comparisons tighter than && than ||', () => {
    expect(formatExpr(parse('$A == "1" || $B == "2" && $C'))).toBe('($A == "1" || ($B == "2" && $C))');
    expect(formatExpr(parse('!$A == "x"'))).toBe('(!$A) == "x"');
    expect(formatExpr(parse('!($A == "x")'))).toBe('!($A == "x")');
    expect(formatExpr(parse('$A && $B || $C && $D'))).toBe('(($A && $B) || ($C && $D))');
    expect(formatExpr(parse('($A || $B) && $C'))).toBe('(($A || $B) && $C)');
    expect(formatExpr(parse('$A =~ /x+y/ && $B !~ /z.a/i'))).toBe('($A =~ /x+y/ && $B !~ /z.a/i)');
  });

  it('parses all value kinds', () => {
    expect(parse('$X == null')).toMatchObject({ kind: 'compare', op: '==', right: { kind: 'null' } });
    expect(parse('$X != true')).toMatchObject({ op: '!=', right: { kind: 'boolean', value: true } });
    expect(parse("$X == 'it'")).toMatchObject({ right: { kind: 'string', value: 'it' } });
    expect(parse('$X =~ /a\\/b/m')).toMatchObject({ right: { kind: 'regex', source: 'a/b', flags: 'm' } });
    expect(parse('$[[ inputs.env ]] == "x"')).toMatchObject({ left: { kind: 'input', name: 'env' } });
  });

  it('reports errors with a column', () => {
    expect(err('')).toMatchObject({ message: 'empty expression', column: 1 });
    expect(err('$A ==')).toMatchObject({ column: 6 });
    expect(err('== $A')).toMatchObject({ column: 1 });
    expect(err('($A == "x"')).toMatchObject({ message: 'unmatched `(`', column: 1 });
    expect(err('$A == "x")')).toMatchObject({ message: 'unmatched `)`', column: 10 });
    expect(err('$A $B')).toMatchObject({ column: 4 });
    expect(err('$A && && $B')).toMatchObject({ column: 7 });
    expect(err('()')).toMatchObject({ column: 2 });
  });
});

describe('evaluator: concrete values (GitLab semantics)', () => {
  const s = known({ EMPTY: '', A: 'alpha', RX: '/^al/', PLAIN: 'xxalphaxx', T: 'true' });
  it.each([
    ['$A', 'yes'],
    ['$EMPTY', 'no'],
    ['$UNSET', 'no'],
    ['$UNSET == null', 'yes'],
    ['$EMPTY == null', 'no'],
    ['$EMPTY == ""', 'yes'],
    ['$A == "alpha"', 'yes'],
    ["$A != 'alpha'", 'no'],
    ['$A =~ /^AL/i', 'yes'],
    ['$A =~ /^AL/', 'no'],
    ['$A !~ /^be/', 'yes'],
    ['$A =~ $RX', 'yes'], // a variable with /…/ form is a regex
    ['$A =~ $PLAIN', 'yes'], // otherwise: the left text is searched in the right string
    ['$PLAIN =~ $A', 'no'],
    ['$A =~ null', 'no'],
    ['$A !~ null', 'yes'],
    ['$T == true', 'no'], // strings never equal booleans
    ['true', 'yes'],
    ['false || $A', 'yes'],
    ['!$A', 'no'],
    ['!$EMPTY', 'yes'],
    ['!($A == "beta")', 'yes'],
    ['$EMPTY && $A', 'yes'], // Ruby: "" is truthy, so && yields the right side
    ['$EMPTY || $A', 'no'], // … and || yields "", which is not present
    ['$UNSET || $A', 'yes'],
    ['$A == "x" || $A == "alpha" && $A', 'yes'],
    ['$A =~ /\\Aalpha\\z/', 'yes'],
    ['$A =~ /(?i)ALPHA/', 'yes'],
  ])('%s → %s', (expr, want) => {
    expect(ev(expr, s).result).toBe(want);
  });
});

describe('evaluator: three-valued', () => {
  const s = makeScope({
    known: { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_TAG: undefined, CI_DEFAULT_BRANCH: 'main' },
    unknown: {
      CI_COMMIT_BRANCH: { mayBeUnset: false, mayBeEmpty: false, notMatching: ['main', 'release/*'] },
      SRC: { mayBeUnset: false, mayBeEmpty: false, oneOf: ['web', 'api', 'trigger'] },
    },
  });

  it('unknown user variables make it unknown and are listed', () => {
    expect(ev('$DEPLOY == "true"', s)).toEqual({ result: 'unknown', unknownVariables: ['DEPLOY'] });
    expect(ev('$DEPLOY', s).result).toBe('unknown');
    expect(ev('$DEPLOY == null', s).result).toBe('unknown');
  });

  it('short-circuits: no && unknown = no, yes || unknown = yes', () => {
    expect(ev('$CI_PIPELINE_SOURCE == "schedule" && $DEPLOY', s)).toEqual({ result: 'no', unknownVariables: [] });
    expect(ev('$DEPLOY && $CI_PIPELINE_SOURCE == "schedule"', s).result).toBe('no');
    expect(ev('$CI_PIPELINE_SOURCE == "push" || $DEPLOY', s).result).toBe('yes');
    expect(ev('$DEPLOY == "1" || $CI_PIPELINE_SOURCE == "push"', s).result).toBe('yes');
    expect(ev('$CI_PIPELINE_SOURCE == "push" && $DEPLOY == "1"', s)).toEqual({ result: 'unknown', unknownVariables: ['DEPLOY'] });
    expect(ev('!($DEPLOY == "1")', s).result).toBe('unknown');
  });

  it('an attacker-chosen branch name never equals a protected name', () => {
    expect(ev('$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH == "main"', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH == "release/1.0"', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH', s).result).toBe('yes');
    expect(ev('$CI_COMMIT_BRANCH', s).result).toBe('yes');
    expect(ev('$CI_COMMIT_BRANCH == null', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH == "feature"', s)).toEqual({ result: 'unknown', unknownVariables: ['CI_COMMIT_BRANCH'] });
  });

  it('regexes against constrained names: literal and prefix shapes decide, others stay unknown', () => {
    expect(ev('$CI_COMMIT_BRANCH =~ /^feature/', s).result).toBe('unknown');
    expect(ev('$CI_COMMIT_BRANCH =~ /^main$/', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH =~ /^release\\//', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH =~ /^release\\/.*$/', s).result).toBe('no');
    expect(ev('$CI_COMMIT_BRANCH =~ /^(main|release)/', s).result).toBe('unknown');
    expect(ev('$CI_COMMIT_BRANCH =~ /^main|x/', s).result).toBe('unknown');
    expect(ev('$CI_COMMIT_BRANCH !~ /^main$/', s).result).toBe('yes');
  });

  it('one-of values', () => {
    expect(ev('$SRC == "push"', s).result).toBe('no');
    expect(ev('$SRC == "web"', s).result).toBe('unknown');
    expect(ev('$SRC =~ /^(web|api|trigger)$/', s).result).toBe('yes');
    expect(ev('$SRC =~ /sched/', s).result).toBe('no');
  });

  it('symbols: same symbol is equal, different symbols differ', () => {
    const sym = makeScope({
      unknown: {
        CI_PROJECT_ID: { mayBeUnset: false, mayBeEmpty: false, symbol: 'p' },
        CI_MERGE_REQUEST_PROJECT_ID: { mayBeUnset: false, mayBeEmpty: false, symbol: 'p' },
        CI_MERGE_REQUEST_SOURCE_PROJECT_ID: { mayBeUnset: false, mayBeEmpty: false, symbol: 'fork' },
      },
    });
    expect(ev('$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID', sym).result).toBe('no');
    expect(ev('$CI_MERGE_REQUEST_PROJECT_ID == $CI_PROJECT_ID', sym).result).toBe('yes');
  });

  it('a regex JS cannot compile is unknown, not a crash', () => {
    const r = ev('$CI_PIPELINE_SOURCE =~ /a(?i:b)c/', s);
    expect(r.result).toBe('unknown');
    expect(r.notes?.[0]).toMatch(/cannot be evaluated/);
    const r2 = ev('$CI_PIPELINE_SOURCE =~ /(ab/', s);
    expect(r2.result).toBe('unknown');
  });

  it('evaluateText returns parse errors', () => {
    expect(evaluateText('$A ==', s)).toEqual({ error: { message: expect.any(String), column: 6 } });
  });
});

describe('regex translation', () => {
  it('handles \\A \\z \\Z, inline flags, (?P<n>), POSIX classes and U', () => {
    const t = (src: string, flags = '') => {
      const r = translateRegex(src, flags);
      if (!r.ok) throw new Error(r.reason);
      return r.re;
    };
    expect(t('\\Av1\\z').test('v1')).toBe(true);
    expect(t('\\Av1\\z').test('v1\n')).toBe(false);
    expect(t('v1\\Z').test('v1\n')).toBe(true);
    expect(t('(?i)main').test('MAIN')).toBe(true);
    expect(t('(?P<major>\\d+)\\.x').test('12.x')).toBe(true);
    expect(t('^[[:digit:]]+$').test('123')).toBe(true);
    expect(t('^[[:digit:]]+$').test('12a')).toBe(false);
    expect(t('^a.+?b', 'U').exec('axbxb')![0]).toBe('axbxb');
    expect(t('^a.+b', 'U').exec('axbxb')![0]).toBe('axb');
    expect(translateRegex('a(?i:b)', '').ok).toBe(false);
  });

  it('recognises variable values of /…/ form', () => {
    expect(regexFromValue('/^v\\d+/i')).toEqual({ source: '^v\\d+', flags: 'i' });
    expect(regexFromValue('plain')).toBeUndefined();
  });

  it('finds literal and prefix shapes', () => {
    expect(literalShape('^main$', '')).toEqual({ exact: 'main' });
    expect(literalShape('\\Arelease\\/\\z', '')).toEqual({ exact: 'release/' });
    expect(literalShape('^release\\/', '')).toEqual({ prefix: 'release/' });
    expect(literalShape('^v1?', '')).toEqual({ prefix: 'v' });
    expect(literalShape('^v?', '')).toBeUndefined();
    expect(literalShape('^main$', 'i')).toBeUndefined();
    expect(literalShape('main', '')).toBeUndefined();
    expect(literalShape('^a|b', '')).toBeUndefined();
  });
});

describe('untrusted regexes never hang', () => {
  it('flags nested quantifiers and backreferences as risky', () => {
    expect(isRiskyRegex('^(a+)+$')).toBe(true);
    expect(isRiskyRegex('^(a|aa)*$')).toBe(true);
    expect(isRiskyRegex('((ab)+c)*')).toBe(true);
    expect(isRiskyRegex('(a)\\1')).toBe(true);
    expect(isRiskyRegex('^v\\d+\\.\\d+(\\.\\d+)?$')).toBe(false);
    expect(isRiskyRegex('^(main|release)$')).toBe(false);
    expect(isRiskyRegex('[(a+)]+')).toBe(false);
  });

  it('a catastrophic pattern on a long known value is unknown, not a hang', () => {
    const s = known({ X: 'a'.repeat(40) + '!' });
    expect(ev('$X =~ /^(a+)+$/', s).result).toBe('unknown');
    expect(ev('$X =~ /^(a+)+!$/', known({ X: 'aaa!' })).result).toBe('yes');
  });
});
