import { locate, type SourceLocation } from '../../model/location.js';
import { get, type YMap, type YNode } from '../../model/node.js';
import { RESERVED_KEYS, type Pipeline } from '../../model/pipeline.js';
import { readVariables, type VariableDef } from '../../model/variables.js';
import { variableRefs, type VarRef } from '../../model/var-refs.js';
import { memoByText, onLines, type HasText, type TextMemo } from '../line-facts.js';
import type { ScriptLine } from '../types.js';
import { scriptLineLists } from '../engine.js';
import { BoundedMemo, YAML_TEXT_CHARS } from '../../util/bounded-memo.js';

/**
 * Text helpers shared by the script-reading pipeline rules: exact positions inside scalar
 * values, variable references, a small POSIX-shell tokeniser (quotes, operators) and the
 * places where `variables:` and scripts are written.
 */

// ---------------------------------------------------------------------------------------------
// Positions inside values

const rawCache = new WeakMap<Pipeline, Map<string, string[]>>();

/** The raw (unmasked) lines of a file the pipeline read. */
export function rawLines(pipeline: Pipeline, file: string): string[] {
  let m = rawCache.get(pipeline);
  if (!m) {
    m = new Map();
    rawCache.set(pipeline, m);
  }
  let lines = m.get(file);
  if (!lines) {
    lines = (pipeline.files.find((f) => f.name === file)?.text ?? '').split(/\r?\n/);
    m.set(file, lines);
  }
  return lines;
}

/** `locate` (the one locator, src/model/location.ts) over the pipeline's raw file text. */
export function locateInScalar(pipeline: Pipeline, loc: SourceLocation, value: string, index: number, length: number): SourceLocation {
  const lines = rawLines(pipeline, loc.file);
  return locate((n) => lines[n - 1], loc, value, index, length);
}

// ---------------------------------------------------------------------------------------------
// Variable references

/**
 * `$NAME`, `${NAME}`, PowerShell `$env:NAME` / `${env:NAME}`, cmd `%NAME%`; `$$` is an escaped
 * `$` (the model's scanner, `src/model/var-refs.ts`, with its default options). Memoised by text
 * (`varRefs.of(line)` for a script line): read only.
 */
export const varRefs: TextMemo<VarRef[]> = onLines((text) => variableRefs(text));
export type { VarRef };

// ---------------------------------------------------------------------------------------------
// Memoising by text (src/rules/line-facts.ts)

export { memoByText };

// ---------------------------------------------------------------------------------------------
// Shell tokenising

export type Quote = 'none' | 'single' | 'double';

/** The quote state of every character of `text` for a POSIX shell (`'…'`, `"…"`, `$'…'`, `\`). */
export function quoteStates(text: string): Quote[] {
  const out = new Array<Quote>(text.length);
  let state: Quote = 'none';
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (state === 'single') {
      out[i] = 'single';
      if (c === "'") state = 'none';
      continue;
    }
    if (c === '\\' && i + 1 < text.length) {
      out[i] = state;
      out[i + 1] = state;
      i++;
      continue;
    }
    if (state === 'double') {
      out[i] = 'double';
      if (c === '"') state = 'none';
      continue;
    }
    if (c === "'") {
      out[i] = 'single';
      state = 'single';
    } else if (c === '"') {
      out[i] = 'double';
      state = 'double';
    } else out[i] = 'none';
  }
  return out;
}

export interface Word {
  /** The word as written (quotes included). */
  raw: string;
  start: number;
  end: number;
}

export interface Segment {
  words: Word[];
  start: number;
  end: number;
  /** The operator that ends it (`|`, `&&`, `;`, newline …), '' at the end. */
  op: string;
}

/**
 * Split shell text into simple commands (at unquoted `;`, `&`, `&&`, `||`, `|`, newlines and
 * parentheses) made of words. Quotes and backslashes are honoured; `$(…)`, `<(…)` and
 * backquotes stay inside their word.
 *
 * Memoised by text (several rules tokenise the same lines, and pipelines repeat lines through
 * anchors and `extends`; `segments.of(line)` for a script line). The result is shared: callers
 * only read it.
 */
export const segments: TextMemo<Segment[]> = memoByText(tokenize);

function tokenize(text: string): Segment[] {
  const q = quoteStates(text);
  const out: Segment[] = [];
  let words: Word[] = [];
  let segStart = 0;
  let wordStart = -1;
  let depth = 0;
  const endWord = (i: number) => {
    if (wordStart >= 0) words.push({ raw: text.slice(wordStart, i), start: wordStart, end: i });
    wordStart = -1;
  };
  const endSeg = (i: number, op: string, next: number) => {
    endWord(i);
    out.push({ words, start: segStart, end: i, op });
    words = [];
    segStart = next;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (q[i] !== 'none') {
      if (wordStart < 0) wordStart = i;
      continue;
    }
    if (c === '\\') {
      if (text[i + 1] === '\n') {
        endWord(i);
        i++;
        continue;
      }
      if (wordStart < 0) wordStart = i;
      i++;
      continue;
    }
    if ((c === '$' || c === '<' || c === '>') && text[i + 1] === '(') {
      if (wordStart < 0) wordStart = i;
      depth++;
      i++;
      continue;
    }
    if (depth > 0) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
      continue;
    }
    if (c === '`') {
      if (wordStart < 0) wordStart = i;
      const close = text.indexOf('`', i + 1);
      i = close < 0 ? text.length - 1 : close;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      endWord(i);
      continue;
    }
    if (c === '\n' || c === ';' || c === '(' || c === ')') {
      endSeg(i, c, i + 1);
      continue;
    }
    if (c === '|' || c === '&') {
      const two = text[i + 1] === c;
      if (c === '&' && (text[i - 1] === '>' || text[i + 1] === '>')) {
        if (wordStart < 0) wordStart = i;
        continue;
      }
      endSeg(i, two ? c + c : c, i + (two ? 2 : 1));
      if (two) i++;
      continue;
    }
    if (wordStart < 0) wordStart = i;
  }
  endSeg(text.length, '', text.length);
  return out.filter((s) => s.words.length > 0);
}

/** A word's text without its quotes; '' for a word past the end of a command. */
export function wordText(w: Word | undefined): string {
  return w ? unquote(w.raw) : '';
}

const unquoteCache = new BoundedMemo<string>(50_000, YAML_TEXT_CHARS);

/** A word without its quotes (backslash escapes removed); good enough to recognise commands. */
export function unquote(raw: string): string {
  // Most words have nothing to remove: no character-by-character copy for them (a hot path).
  if (!/['"\\]/.test(raw)) return raw;
  // The others memoised by text: every script rule unquotes the words of the same (cached) segments.
  let hit = unquoteCache.get(raw);
  if (hit === undefined) unquoteCache.set(raw, (hit = unquoteUncached(raw)));
  return hit;
}

function unquoteUncached(raw: string): string {
  let out = '';
  let state: Quote = 'none';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (state === 'single') {
      if (c === "'") state = 'none';
      else out += c;
    } else if (state === 'double') {
      if (c === '"') state = 'none';
      else if (c === '\\' && /["\\$`]/.test(raw[i + 1] ?? '')) out += raw.charAt(++i);
      else out += c;
    } else if (c === "'") state = 'single';
    else if (c === '"') state = 'double';
    else if (c === '\\' && i + 1 < raw.length) out += raw[++i];
    else out += c;
  }
  return out;
}

/** Command prefixes that run the next word as the command. */
const PREFIXES = new Set(['sudo', 'env', 'command', 'exec', 'time', 'nohup', 'nice', 'xargs', 'timeout', 'doas', 'stdbuf', 'busybox', '!']);

/**
 * Index of the word that is the command of a segment: skips `NAME=value` assignments and
 * prefixes such as `sudo`, `env`, `xargs` (with their options).
 */
export function commandIndex(words: readonly Word[], from = 0): number {
  if (from !== 0) return commandIndexFrom(words, from);
  // The words of a cached segment are shared by every rule and job that reads the line.
  let hit = commandIndexCache.get(words);
  if (hit === undefined) commandIndexCache.set(words, (hit = commandIndexFrom(words, 0)));
  return hit;
}
const commandIndexCache = new WeakMap<readonly Word[], number>();

function commandIndexFrom(words: readonly Word[], from: number): number {
  let i = from;
  while (i < words.length) {
    const w = unquote(words[i]?.raw ?? '');
    if (/^[A-Za-z_]\w*=/.test(w)) {
      i++;
      continue;
    }
    const base = w.split('/').pop() ?? w;
    if (PREFIXES.has(base)) {
      i++;
      while (i < words.length && unquote(words[i]?.raw ?? '').startsWith('-')) {
        const opt = unquote(words[i]?.raw ?? '');
        i++;
        // Options with an argument (`sudo -u user`, `timeout 10`, `xargs -I {}`).
        if (/^-(u|g|I|n|P|s|k|L)$/.test(opt) && i < words.length) i++;
      }
      if (base === 'timeout' && i < words.length && /^\d/.test(unquote(words[i]?.raw ?? ''))) i++;
      continue;
    }
    return i;
  }
  return i;
}

/** The program name of a command word (`/usr/bin/bash` → `bash`, `python3.11` stays). */
export function programName(word: Word | undefined): string {
  if (!word) return '';
  let hit = programNameCache.get(word);
  if (hit === undefined) {
    const w = unquote(word.raw);
    programNameCache.set(word, (hit = (w.split('/').pop() ?? w).replace(/\.exe$/i, '')));
  }
  return hit;
}
const programNameCache = new WeakMap<Word, string>();

// ---------------------------------------------------------------------------------------------
// Where values are written

export interface VariableSite {
  def: VariableDef;
  /** The visible job that owns it, undefined for global/default/hidden-job places. */
  job?: string;
  readonly keyPath: string[];
  /** Human description: "global variable", "variable of job `build`" … */
  where: string;
}

/** A site's key path is built when a finding needs it, not for every site. */
class DefinedVariable implements VariableSite {
  constructor(
    readonly def: VariableDef,
    readonly job: string | undefined,
    private readonly path: readonly string[],
    readonly where: string,
  ) {}
  get keyPath(): string[] {
    return [...this.path, this.def.name];
  }
}

/**
 * Every `variables:` definition the configuration writes, once per place it is written:
 * global, `workflow:rules[]`, each job and hidden job and their `rules[]`, `services[]`.
 * A value inherited through `extends` is reported under the first key that holds it.
 */
export function variableSites(p: Pipeline): readonly VariableSite[] {
  // Several rules walk the same sites: compute once per (immutable) pipeline.
  let v = variableSiteCache.get(p);
  if (!v) variableSiteCache.set(p, (v = computeVariableSites(p)));
  return v;
}
const variableSiteCache = new WeakMap<Pipeline, readonly VariableSite[]>();

function computeVariableSites(p: Pipeline): VariableSite[] {
  const out: VariableSite[] = [];
  // By the value's place and the name (two names can share a value's place: `*anchor`).
  const first = onceAt();
  // A map met again (an alias, a `!reference`) holds the same definitions: all seen already.
  const seenMaps = new Set<YNode>();
  const jobNames = new Set(p.jobs.map((j) => j.name));
  const add = (node: YNode | undefined, job: string | undefined, path: readonly string[], where: string) => {
    if (node?.kind !== 'map' || seenMaps.has(node)) return;
    seenMaps.add(node);
    for (const def of readVariables(node).values()) if (first(def.valueLoc, def.name)) out.push(new DefinedVariable(def, job, path, where));
  };
  const addRules = (rules: YNode | undefined, job: string | undefined, path: readonly string[], where: string) => {
    if (rules?.kind !== 'seq') return;
    rules.items.forEach((r, i) => {
      const vars = get(r, 'variables');
      if (vars) add(vars, job, [...path, 'rules', String(i), 'variables'], where);
    });
  };
  add(p.config?.entries.get('variables')?.value, undefined, ['variables'], 'global variable');
  addRules(get(p.workflow, 'rules'), undefined, ['workflow'], 'workflow variable');
  for (const [name, e] of p.config?.entries ?? []) {
    if (RESERVED_KEYS.has(name) || e.value.kind !== 'map') continue;
    const visible = jobNames.has(name);
    const job = visible ? name : undefined;
    const base = visible ? [] : [name];
    const where = visible ? `variable of job \`${name}\`` : `variable of \`${name}\``;
    add(get(e.value, 'variables'), job, [...base, 'variables'], where);
    addRules(get(e.value, 'rules'), job, base, where);
    const services = get(e.value, 'services');
    if (services?.kind === 'seq') services.items.forEach((s, i) => add(get(s, 'variables'), job, [...base, 'services', String(i), 'variables'], where));
  }
  return out;
}

export interface ScriptSite {
  line: ScriptLine;
  job?: string;
  readonly keyPath: string[];
}

class WrittenLine implements ScriptSite {
  constructor(
    readonly line: ScriptLine,
    readonly job: string | undefined,
    private readonly base: readonly string[],
  ) {}
  get keyPath(): string[] {
    return [...this.base, ...scriptKeyPath(this.line)];
  }
}

/**
 * Every script line the configuration writes, once per place: `default:` (and top-level
 * aliases), then jobs and hidden jobs in file order. Used by rules about what is *written*
 * (credentials), where a hidden job's script counts even if no job extends it.
 */
export function scriptSites(p: Pipeline): readonly ScriptSite[] {
  let v = scriptSiteCache.get(p);
  if (!v) scriptSiteCache.set(p, (v = computeScriptSites(p)));
  return v;
}
const scriptSiteCache = new WeakMap<Pipeline, readonly ScriptSite[]>();

function computeScriptSites(p: Pipeline): ScriptSite[] {
  const out: ScriptSite[] = [];
  const first = onceAt();
  const jobNames = new Set(p.jobs.map((j) => j.name));
  const add = (node: YMap | undefined, job: string | undefined, base: readonly string[]) => {
    if (!node) return;
    for (const lines of scriptLineLists(node)) for (const line of lines) if (first(line.loc)) out.push(new WrittenLine(line, job, base));
  };
  add(p.default, undefined, ['default']);
  for (const [name, e] of p.config?.entries ?? []) {
    if (RESERVED_KEYS.has(name) || e.value.kind !== 'map') continue;
    add(e.value, jobNames.has(name) ? name : undefined, jobNames.has(name) ? [] : [name]);
  }
  return out;
}

/**
 * Report each written place once (a `default:` value is shared by every job): true the first
 * time a place is met with `extra`. Places are kept by file, then by a number per line and
 * column (lines and columns stay far below 2^21 and 2^32 in a file the model accepts), so
 * every site of a large pipeline is checked without building a text key.
 */
export function onceAt(): (loc: SourceLocation, extra?: string) => boolean {
  // What was met at a place: one text (most places), or the list once a second one comes.
  const byFile = new Map<string, Map<number, string | string[]>>();
  return (loc, extra = '') => {
    let byPos = byFile.get(loc.file);
    if (!byPos) byFile.set(loc.file, (byPos = new Map<number, string | string[]>()));
    const k = loc.line * 0x1_0000_0000 + loc.column;
    const met = byPos.get(k);
    if (met === undefined) byPos.set(k, extra);
    else if (typeof met === 'string') {
      if (met === extra) return false;
      byPos.set(k, [met, extra]);
    } else if (met.includes(extra)) return false;
    else met.push(extra);
    return true;
  };
}

/** A script line's key path in its job: `['script', '3']`; a `hooks:pre_get_sources_script` line is `['hooks', '0']` (fingerprints key on it). */
export function scriptKeyPath(line: ScriptLine): string[] {
  return [line.key === 'pre_get_sources_script' ? 'hooks' : line.key, String(line.index)];
}

/**
 * Names a script assigns itself (`X=…`, `export X=…`, `X=$(…)`, `declare|local|readonly X=…`,
 * `read X`, `for X in …`): values the job computes, not inputs from CI/CD settings.
 */
export function scriptAssignedNames(lines: readonly HasText[]): ReadonlySet<string> {
  // Remembered per list: a job's lines are one list (`scriptLinesOf`), shared with the jobs that
  // inherit it and read by several rules. Shared: callers only read it.
  let out = assignedByList.get(lines);
  if (!out) {
    const names = new Set<string>();
    for (const line of lines) for (const name of assignedIn.of(line)) names.add(name);
    assignedByList.set(lines, (out = names));
  }
  return out;
}
const assignedByList = new WeakMap<readonly HasText[], ReadonlySet<string>>();

/** The names one script item assigns (memoised by text: jobs share their lines). */
const assignedIn = memoByText((text: string): readonly string[] => {
  const out = new Set<string>();
  for (const seg of segments(text)) {
    const w = seg.words.map((x) => unquote(x.raw));
    const [first = '', second = '', third] = w;
    let i = 0;
    if (['export', 'declare', 'local', 'readonly', 'typeset'].includes(first)) {
      i = 1;
      while (w[i]?.startsWith('-')) i++;
    }
    for (; i < w.length; i++) {
      const m = /^([A-Za-z_]\w*)\+?=/.exec(w[i] ?? '');
      if (!m?.[1]) break;
      out.add(m[1]);
    }
    if (first === 'read') for (const x of w.slice(1)) if (/^[A-Za-z_]\w*$/.test(x)) out.add(x);
    if (first === 'for' && /^[A-Za-z_]\w*$/.test(second) && third === 'in') out.add(second);
    // PowerShell `$env:X = …`
    const ps = /^\s*\$env:([A-Za-z_]\w*)\s*=/.exec(text.slice(seg.start, seg.end));
    if (ps?.[1]) out.add(ps[1]);
  }
  return [...out];
});

/**
 * Credential-like variables (policy `secretVariables`, never `CI_*`) a job reads from outside its
 * YAML: referenced in its scripts or variable values, neither defined in `variables:` nor
 * assigned by the script itself. In first-use order.
 */
export function credentialInputs(job: { variables: Map<string, VariableDef> }, lines: readonly ScriptLine[], isCredentialName: (name: string) => boolean): string[] {
  // The names the script assigns, read only for a name the other tests keep (most have none).
  let assigned: ReadonlySet<string> | undefined;
  const out = new Set<string>();
  const consider = (name: string) => {
    if (!name.startsWith('CI_') && !job.variables.has(name) && isCredentialName(name) && !(assigned ??= scriptAssignedNames(lines)).has(name)) out.add(name);
  };
  for (const line of lines) for (const r of varRefs.of(line)) consider(r.name);
  for (const def of job.variables.values()) if (def.expand) for (const r of varRefs(def.value)) if (r.name !== def.name) consider(r.name);
  return [...out];
}
