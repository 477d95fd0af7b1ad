/**
 * The one scanner for variable references written in CI configuration values and scripts.
 *
 * GitLab (`doc/ci/variables/where_variables_can_be_used.md`, expansion by
 * `lib/expand_variables.rb` on the GitLab side and by the runner's shell): `$NAME` and
 * `${NAME}`, PowerShell `$env:NAME` / `${env:NAME}`, Windows cmd `%NAME%`; `$$` is an escaped
 * `$` (`doc/ci/variables/_index.md#prevent-cicd-variable-expansion`), so `$$NAME` is the text
 * `$NAME`, not a reference.
 *
 * The places that read references accept different forms (a `rules:if` expression knows only
 * `$NAME`; a script may be PowerShell or cmd), hence the options rather than several copies.
 */
import { BoundedMemo, YAML_TEXT_CHARS } from '../util/bounded-memo.js';

export interface VarRef {
  name: string;
  /** Offset of the reference (its `$` or `%`) in the text. */
  index: number;
  /** Length of the reference as written (`${NAME}` is NAME's length + 3). */
  length: number;
}

export interface VarRefOptions {
  /** `$$` is an escaped `$` (GitLab). Default true. */
  dollarEscape?: boolean;
  /** PowerShell `$env:NAME` and `${env:NAME}` (`env:` in any case). Default true. */
  powershell?: boolean;
  /** cmd `%NAME%`: names as identifiers, as `\w+` words, or not at all. Default 'identifier'. */
  percent?: 'identifier' | 'word' | false;
  /** Names after `$`: identifiers (`[A-Za-z_]\w*`, default) or any `\w+` word. */
  names?: 'identifier' | 'word';
  /** `${NAME` without its closing brace still names NAME. Default false. */
  openBrace?: boolean;
}

const IDENT = '[A-Za-z_]\\w*';
const WORD = '\\w+';

const patterns = new Map<string, RegExp>();
/** By options object: callers pass module constants, so the key below is built once per object. */
const patternOf = new WeakMap<VarRefOptions, RegExp>();

function patternFor(o: VarRefOptions): RegExp {
  // Callers scan many texts in a row with the same options: the last answer first.
  if (o === lastOptions) return lastPattern!;
  let hit = patternOf.get(o);
  if (!hit) patternOf.set(o, (hit = patternByKey(o)));
  lastOptions = o;
  lastPattern = hit;
  return hit;
}
let lastOptions: VarRefOptions | undefined;
let lastPattern: RegExp | undefined;

function patternByKey(o: VarRefOptions): RegExp {
  const escape = o.dollarEscape ?? true;
  const ps = o.powershell ?? true;
  const percent = o.percent ?? 'identifier';
  const names = o.names ?? 'identifier';
  const key = `${escape}|${ps}|${percent}|${names}|${o.openBrace ?? false}`;
  let re = patterns.get(key);
  if (!re) {
    const n = names === 'word' ? WORD : IDENT;
    // Every alternative but `$$` has exactly one capture group: the name.
    const alts: string[] = [];
    if (escape) alts.push('\\$\\$');
    if (ps) alts.push(`\\$\\{env:(${IDENT})\\}`, `\\$env:(${IDENT})`);
    alts.push(o.openBrace ? `\\$\\{(${n})\\}?` : `\\$\\{(${n})\\}`, `\\$(${n})`);
    if (percent) alts.push(`%(${percent === 'word' ? WORD : IDENT})%`);
    re = new RegExp(alts.join('|'), 'gi');
    patterns.set(key, re);
  }
  return re;
}

function scan(text: string, opts: VarRefOptions): VarRef[] {
  const out: VarRef[] = [];
  if (!text.includes('$') && !(opts.percent !== false && text.includes('%'))) return out;
  const re = patternFor(opts);
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let name: string | undefined;
    for (let g = 1; g < m.length && name === undefined; g++) name = m[g];
    if (name) out.push({ name, index: m.index, length: m[0].length });
  }
  return out;
}

const defaultCache = new BoundedMemo<VarRef[]>(20_000, YAML_TEXT_CHARS);
/** The answer for a text without `$` or `%` (shared, like every cached answer: read only). */
const NO_REFS: VarRef[] = Object.freeze([]) as unknown as VarRef[];
const DEFAULTS: VarRefOptions = {};

/**
 * The references in `text`, in text order. With the default options the result is memoised by
 * text (jobs built from anchors and `extends` repeat the same lines) and shared: read only.
 */
export function variableRefs(text: string, opts?: VarRefOptions): VarRef[] {
  if (opts) return scan(text, opts);
  // Most values reference nothing: answered without hashing them into the cache.
  if (!text.includes('$') && !text.includes('%')) return NO_REFS;
  let hit = defaultCache.get(text);
  if (!hit) defaultCache.set(text, (hit = scan(text, DEFAULTS)));
  return hit;
}

/** The names `text` references, in first-use order, each once. */
export function referencedNames(text: string, opts?: VarRefOptions): string[] {
  return [...new Set(variableRefs(text, opts).map((r) => r.name))];
}

/** Whether `text` references any variable. */
export function hasVariableRef(text: string, opts?: VarRefOptions): boolean {
  return variableRefs(text, opts).length > 0;
}

/** `text` with each reference replaced by `value(name)`, or kept as written where that is undefined. */
export function replaceVariableRefs(text: string, value: (name: string) => string | undefined, opts?: VarRefOptions): string {
  let out = '';
  let last = 0;
  for (const r of variableRefs(text, opts)) {
    const v = value(r.name);
    if (v === undefined) continue;
    out += text.slice(last, r.index) + v;
    last = r.index + r.length;
  }
  return last === 0 ? text : out + text.slice(last);
}
