/**
 * The three-valued evaluator of `rules:if` expressions.
 *
 * Mirrors GitLab's implementation (gitlabhq/gitlabhq):
 * - `lib/gitlab/ci/pipeline/expression/lexeme/*.rb`: the `evaluate` methods (Ruby truthiness
 *   for `&&`/`||`, `present?` for the final result and for `!`).
 * - `lib/gitlab/ci/pipeline/expression/statement.rb`: `truthful?` is `evaluate.present?`,
 *   any ExpressionError → false.
 *
 * The evaluator is abstract: a variable's value may be *unknown* (user-defined, attacker-chosen
 * ref names …) and the result is then 'yes' | 'no' | 'unknown' with the variables that made
 * it unknown.
 */
import { matchesAny } from '../../util/glob.js';
import { parseExpression, type Expr } from './parser.js';
import { literalShape, regexFromValue, safeRegexTest, translateRegex } from './regex.js';

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
  const v = c.matching?.length === 1 ? c.matching[0] : undefined;
  if (v !== undefined && !/[*?]/.test(v)) return strCanBe(c, v) ? v : undefined;
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
  const first = results[0];
  if (first === undefined) return 'no';
  return results.every((r) => r === first) ? first : 'unknown';
}
