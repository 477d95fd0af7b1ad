import type { SourceLocation } from './location.js';
import { blank } from '../util/table.js';

/**
 * The positioned value tree every part of tierguard reads. It is built from the `yaml`
 * package's AST with GitLab's loader semantics (Psych, YAML 1.1) and keeps, for every value,
 * the file/line/column it was written at and how it reached where it is now.
 */
export type YNode = YMap | YSeq | YScalar | YRef;

/** How a value reached its place: through an include, `extends`, `default:`, `!reference`, … */
export interface Provenance {
  kind: 'include' | 'extends' | 'default' | 'reference' | 'merge-key' | 'alias' | 'top-level';
  /** What it came from: a hidden job name, an include target, an anchor name. */
  from: string;
  /** Where the mechanism was written (the `extends:` entry, the `!reference` tag …). */
  loc?: SourceLocation;
}

interface YBase {
  loc: SourceLocation;
  /** Outermost last: e.g. [{extends .base}, {extends .deploy_base}]. Empty when written in place. */
  via?: Provenance[];
}

type Scalar = string | number | boolean | null;

export interface YScalar extends YBase {
  kind: 'scalar';
  value: Scalar;
  /** YAML tag if one was written (e.g. `!!str`). */
  tag?: string;
  /**
   * Set when this scalar stands in for a script item GitLab rejects (a mapping, a number, a
   * boolean, `null`): `value` is then the item's source text as written, so the script rules
   * still read it, and the model reports `ci-config-invalid` at it.
   */
  invalidScriptItem?: 'map' | 'seq' | 'number' | 'boolean' | 'null' | 'reference';
  /**
   * Ruby's `to_s` of `value` where it differs from JavaScript's `String(value)`: a float (`1.0`,
   * `1.0e+20`) or an integer past 2^53. Read a scalar as text with `scalarText`.
   */
  text?: string;
}

export interface YSeq extends YBase {
  kind: 'seq';
  items: YNode[];
}

export interface YMapEntry {
  key: string;
  keyLoc: SourceLocation;
  value: YNode;
}

export interface YMap extends YBase {
  kind: 'map';
  /** Insertion-ordered; a duplicate key replaces the value but keeps the first position (Ruby Hash). */
  entries: Map<string, YMapEntry>;
}

/** An unresolved `!reference [job, key, …]` (resolved by the model after `extends`). */
interface YRef extends YBase {
  kind: 'reference';
  path: string[];
}

export function isMap(n: YNode | undefined): n is YMap {
  return n?.kind === 'map';
}
export function isSeq(n: YNode | undefined): n is YSeq {
  return n?.kind === 'seq';
}
export function isScalar(n: YNode | undefined): n is YScalar {
  return n?.kind === 'scalar';
}

/**
 * Follow a key path through maps (and numeric indexes through sequences). Up to four steps as
 * plain parameters: every rule calls this for every job, and a rest parameter allocates an array
 * per call where V8 does not optimise (the CLI runs without TurboFan, bin/tierguard.js).
 */
export function get(node: YNode | undefined, a: string | number, b?: string | number, c?: string | number, d?: string | number): YNode | undefined {
  let cur = step(node, a);
  if (b === undefined || !cur) return cur;
  cur = step(cur, b);
  if (c === undefined || !cur) return cur;
  cur = step(cur, c);
  if (d === undefined || !cur) return cur;
  return step(cur, d);
}

function step(cur: YNode | undefined, p: string | number): YNode | undefined {
  if (!cur) return undefined;
  if (typeof p === 'number') return cur.kind === 'seq' ? cur.items[p] : undefined;
  return cur.kind === 'map' ? cur.entries.get(p)?.value : undefined;
}

export function entry(node: YNode | undefined, key: string): YMapEntry | undefined {
  return node?.kind === 'map' ? node.entries.get(key) : undefined;
}

/** A scalar as a string (numbers and booleans stringified like Ruby's to_s), else undefined. */
export function str(node: YNode | undefined): string | undefined {
  if (!node || node.kind !== 'scalar' || node.value === null) return undefined;
  return scalarText(node);
}

/** A non-null scalar's value as GitLab's Ruby prints it (`to_s`): `1.0` stays `1.0`. */
export function scalarText(node: Pick<YScalar, 'value' | 'text'>): string {
  return node.text ?? String(node.value);
}

/** A string or a list of strings (`tags`, `extends`, `needs` names …) as an array. */
export function strList(node: YNode | undefined): string[] {
  if (!node) return [];
  if (node.kind === 'scalar') return node.value === null ? [] : [scalarText(node)];
  if (node.kind === 'seq') {
    const out: string[] = [];
    for (let i = 0; i < node.items.length; i++) {
      const it = node.items[i]!;
      if (it.kind === 'scalar' && it.value !== null) out.push(scalarText(it));
      else if (it.kind === 'seq') out.push(...strList(it));
    }
    return out;
  }
  return [];
}

/** Plain JS value (references become `{ '!reference': [...] }`). */
export function toJS(node: YNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toJS);
    case 'reference':
      return { '!reference': node.path };
    case 'map': {
      // No prototype: a YAML key `__proto__` is a key like any other.
      const o = blank<unknown>();
      for (const [k, e] of node.entries) o[k] = toJS(e.value);
      return o;
    }
  }
}
