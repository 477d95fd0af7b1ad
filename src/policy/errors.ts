import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import { MAX_YAML_DEPTH, parseDocumentChecked } from '../util/yaml-depth.js';
import type { $ZodIssue } from 'zod/v4/core';
import { firstLine as firstTextLine } from '../util/text.js';

/** One problem in a policy file, resolved to a position. */
export interface PolicyIssue {
  file: string;
  /** 1-based; 0 when the problem is not inside a file (e.g. a bad group path). */
  line: number;
  column: number;
  /** Key path such as `rules.untagged-job.severity` or `exceptions[0].expires` ('' for the root). */
  path: string;
  message: string;
}

/**
 * An invalid policy file (or policy directory / group path). The CLI exits 2 on it, the
 * service refuses to start: there is never a silent fallback to defaults.
 * `message` is `file:line:col: key.path: what is wrong` (one line per issue).
 */
export class PolicyError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  /** Every issue found in the file, first one first (the fields above repeat the first). */
  readonly issues: PolicyIssue[];

  constructor(issues: PolicyIssue[]) {
    const first = issues[0] ?? { file: '', line: 0, column: 0, path: '', message: 'invalid policy' };
    const list = issues.length > 0 ? issues : [first];
    super(list.map(formatIssue).join('\n'));
    this.name = 'PolicyError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.issues = list;
  }

  static at(file: string, line: number, column: number, path: string, message: string): PolicyError {
    return new PolicyError([{ file, line, column, path, message }]);
  }
}

export function formatIssue(i: PolicyIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export type PathSeg = string | number;

function formatPath(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** A parsed policy YAML file: its plain value, plus what is needed to point into it. */
export class PolicyDocument {
  readonly file: string;
  readonly value: unknown;
  private readonly doc: Document;
  private readonly lc: LineCounter;

  private constructor(file: string, doc: Document, lc: LineCounter, value: unknown) {
    this.file = file;
    this.doc = doc;
    this.lc = lc;
    this.value = value;
  }

  /**
   * Parses YAML 1.2 (core schema: `off`, `no` and `2026-12-31` stay strings). Syntax errors,
   * duplicate keys, several documents, unknown tags and alias bombs are PolicyErrors.
   */
  static parse(file: string, text: string): PolicyDocument {
    const lc = new LineCounter();
    // Nesting that would exhaust the composer's stack is refused unread (see util/yaml-depth.ts).
    const parsed = parseDocumentChecked(text, lc, { uniqueKeys: true, strict: true });
    if ('deep' in parsed) throw PolicyError.at(file, parsed.deep.line, parsed.deep.col, '', `the YAML is nested too deeply (over ${MAX_YAML_DEPTH} levels)`);
    const { doc } = parsed;
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new PolicyError(
        problems.map((e) => {
          const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
          return { file, line: pos.line, column: pos.col, path: '', message: firstLine(e.message) };
        }),
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw PolicyError.at(file, 1, 1, '', `cannot read YAML: ${firstLine((e as Error).message)}`);
    }
    const pd = new PolicyDocument(file, doc, lc, value);
    if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
      throw new PolicyError([pd.issue([], `a policy file must be a map of keys, got ${describe(value)}`)]);
    }
    return pd;
  }

  /** The plain value with an empty (or comment-only) file read as an empty layer. */
  get object(): Record<string, unknown> {
    return (this.value ?? {}) as Record<string, unknown>;
  }

  /** An issue at `path`: the value there (or the key itself with `at: 'key'`), else the nearest ancestor. */
  issue(path: readonly PathSeg[], message: string, at: 'key' | 'value' = 'value'): PolicyIssue {
    const { line, column } = this.position(path, at);
    return { file: this.file, line, column, path: formatPath(path), message };
  }

  position(path: readonly PathSeg[], at: 'key' | 'value' = 'value'): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let best: Node | null = this.doc.contents ?? null;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: unknown;
      let keyNode: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
        if (pair) {
          keyNode = pair.key;
          next = pair.value;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      const last = i === path.length - 1;
      if (last && at === 'key' && keyNode) return this.pos(keyNode as Node);
      if (next === undefined || next === null) {
        // A key with no value (`reason:`) points at the key; a missing key at its parent.
        if (keyNode) best = keyNode as Node;
        break;
      }
      node = next;
      best = next as Node;
    }
    return best ? this.pos(best) : { line: 1, column: 1 };
  }

  private pos(node: Node): { line: number; column: number } {
    const offset = node.range?.[0] ?? 0;
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function firstLine(s: string): string {
  return firstTextLine(s).replace(/ at line \d+, column \d+:?$/, '');
}

/** A short, safe description of a value for "got …" (strings truncated, never a whole map). */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object') return 'a map';
  return typeof v;
}

function typeName(t: string): string {
  switch (t) {
    case 'object':
    case 'record':
      return 'a map';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'number':
      return 'a number';
    default:
      return t;
  }
}

function valueAt(root: unknown, path: readonly PathSeg[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** zod issues → positioned policy issues with administrator-readable messages. */
export function zodIssues(pd: PolicyDocument, issues: readonly $ZodIssue[], base: readonly PathSeg[] = []): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const iss of issues) {
    const path = [...base, ...(iss.path as PathSeg[])];
    const got = valueAt(pd.value, path);
    switch (iss.code) {
      case 'unrecognized_keys':
        for (const k of iss.keys) out.push(pd.issue([...path, k], `unknown key "${k}"`, 'key'));
        break;
      case 'invalid_key':
        // A bad key in a map of free keys (a rule id): point at the key itself.
        out.push(pd.issue(path, iss.issues[0]?.message ?? iss.message, 'key'));
        break;
      case 'invalid_value':
        out.push(
          pd.issue(path, `expected ${iss.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${describe(got)}`),
        );
        break;
      case 'invalid_type':
        if (got === undefined && valueAt(pd.value, path.slice(0, -1)) !== undefined)
          out.push(pd.issue(path, `missing required key "${String(path[path.length - 1])}"`));
        else out.push(pd.issue(path, `expected ${typeName(iss.expected)}, got ${describe(got)}`));
        break;
      case 'invalid_union': {
        // A rule entry: a bare severity, or a map with severity/options. Explain the branch
        // that matches the kind of value written.
        const branches = iss.errors;
        if (typeof got === 'string' && branches[0]) out.push(...zodIssues(pd, branches[0], path));
        else if (got !== null && typeof got === 'object' && !Array.isArray(got) && branches[1])
          out.push(...zodIssues(pd, branches[1], path));
        else
          out.push(
            pd.issue(path, `expected a severity ("error" | "warning" | "off") or a map with "severity"/"options", got ${describe(got)}`),
          );
        break;
      }
      default:
        out.push(pd.issue(path, iss.message));
    }
  }
  return out;
}

/** Orders issues by position so the first one reported is the first one in the file. */
export function sortIssues(issues: PolicyIssue[]): PolicyIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}
