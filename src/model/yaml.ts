import { LineCounter, Composer, isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node as YamlNode, type ScalarTag, type Tags } from 'yaml';
import type { SourceLocation } from './location.js';
import type { Diagnostic } from './diagnostics.js';
import { scalarText, type YMap, type YMapEntry, type YNode, type YScalar } from './node.js';
import { firstLine } from '../util/text.js';
import { tokensWithinDepth } from '../util/yaml-depth.js';
import { psychScalar, type PsychScalar } from './psych-scalar.js';

/**
 * GitLab's YAML limits (`lib/gitlab/config/loader/yaml.rb`: MAX_YAML_SIZE 2 MB, MAX_YAML_DEPTH
 * 100, checked on the loaded, alias-expanded object with `Gitlab::Utils::DeepSize`). We count the
 * expanded size in nodes and bytes on our own tree, because the `yaml` package's
 * `maxAliasCount` only guards `toJS` (GITLAB-FACTS.md).
 */
export interface YamlLimits {
  maxBytes: number;
  maxDepth: number;
  /** Expanded (alias-resolved) size budget, in approximate bytes like DeepSize. */
  maxExpandedBytes: number;
}

const GITLAB_YAML_LIMITS: YamlLimits = {
  maxBytes: 2 * 1024 * 1024,
  maxDepth: 100,
  maxExpandedBytes: 2 * 1024 * 1024 * 10,
};

export interface ParsedYaml {
  /** The configuration document (the second one when the first is a `spec:` header). */
  root?: YMap;
  /** The `spec:` header document, when present. */
  header?: YMap;
  diagnostics: Diagnostic[];
  lineCounter: LineCounter;
}

class YamlLimitError extends Error {
  constructor(
    message: string,
    readonly loc: SourceLocation,
  ) {
    super(message);
  }
}

const NODE_OVERHEAD = 40;

/** A plain scalar Psych reads as a number, or as a class GitLab's loader refuses (see psych-scalar.ts). */
class PsychValue {
  constructor(readonly scalar: Exclude<PsychScalar, { value: string | boolean | null }>) {}
}

/**
 * Plain scalars (unquoted, untagged) resolved as Psych resolves them (`psych-scalar.ts`), not by
 * the `yaml` package's YAML 1.1 schema: a tag tried first that takes every plain scalar. Strings,
 * booleans and null are its values; numbers and refused classes a PsychValue the converter reads.
 * Quoted and block scalars are strings, and explicit tags (`!!int`) are resolved by name, as before.
 */
const PSYCH_PLAIN: ScalarTag = {
  identify: () => false,
  default: true,
  tag: 'tag:yaml.org,2002:str',
  test: /(?:)/,
  resolve: (text) => {
    const r = psychScalar(text);
    return 'refused' in r || typeof r.value === 'number' ? new PsychValue(r as PsychValue['scalar']) : r.value;
  },
};
function psychPlainFirst(tags: Tags): Tags {
  return [PSYCH_PLAIN, ...tags];
}

/**
 * Parse one CI YAML file into the positioned tree, with GitLab's loader semantics:
 * YAML 1.1 scalars (`yes`/`on` are booleans), duplicate keys accepted (last wins, first
 * position kept like a Ruby Hash), merge keys `<<` as Psych does them
 * (`ruby/psych` `lib/psych/visitors/to_ruby.rb`, `revive_hash`): the merged map overwrites the
 * keys written before `<<`, keys written after it win; with a list of maps, earlier maps win.
 */
export function parseCiYaml(file: string, text: string, limits: YamlLimits = GITLAB_YAML_LIMITS): ParsedYaml {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const fail = (message: string, loc: SourceLocation): ParsedYaml => {
    diagnostics.push({ kind: 'invalid', message, location: loc, keyPath: [] });
    return { diagnostics, lineCounter };
  };
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    return fail(`${file}: the file is too big (over ${limits.maxBytes / 1024 / 1024} MB, GitLab's limit)`, at(file, 1, 1));
  }

  let docs: Document.Parsed[];
  try {
    // The CST first (iterative), its depth measured, then composed (recursive): see yaml-depth.ts.
    const read = tokensWithinDepth(text, lineCounter, limits.maxDepth);
    if ('deep' in read) return fail(`the YAML is nested too deeply (over ${limits.maxDepth} levels, GitLab's limit)`, at(file, read.deep.line, read.deep.col));
    const composer = new Composer({ version: '1.1', uniqueKeys: false, merge: false, strict: false, prettyErrors: false, customTags: psychPlainFirst });
    docs = [...composer.compose(read.tokens, true, text.length)];
  } catch (err) {
    // The yaml parser recurses on nesting; absurd nesting ends here instead of crashing.
    if (err instanceof RangeError) return fail('the YAML is nested too deeply to be parsed', at(file, 1, 1));
    throw err;
  }

  const linePos = linePositions(lineCounter.lineStarts);
  const toLoc = (start: number, end: number): SourceLocation => {
    const s = linePos(start);
    const e = linePos(Math.max(start, end));
    return { file, line: s.line, column: s.col, endLine: e.line, endColumn: e.col };
  };

  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
      if (/call stack/i.test(err.message)) return fail('the YAML is nested too deeply to be parsed', at(file, 1, 1));
      const msg = firstLine(err.message).replace(/ at line \d+, column \d+:?$/, '');
      return fail(`YAML syntax error: ${msg}`, at(file, pos.line, pos.col));
    }
  }
  const nonEmpty = docs.filter((d) => d.contents !== null);
  if (nonEmpty.length === 0) return { diagnostics, lineCounter };
  // `lib/gitlab/ci/config/yaml/loader.rb`: at most two documents, the first may be a `spec:` header.
  const third = docs[2];
  if (third) {
    return fail('the config can have at most 2 YAML documents (a `spec:` header and the configuration)', toLoc(third.range[0], third.range[0]));
  }

  const converter = new Converter(file, toLoc, limits);
  const converted: (YNode | undefined)[] = [];
  try {
    for (const doc of docs) converted.push(doc.contents ? converter.convert(doc.contents, 1) : undefined);
  } catch (err) {
    if (err instanceof YamlLimitError) return fail(err.message, err.loc);
    if (err instanceof RangeError) return fail('the YAML is nested too deeply to be parsed', at(file, 1, 1));
    throw err;
  }

  let header: YNode | undefined;
  let root: YNode | undefined;
  if (converted.length === 2) {
    header = converted[0];
    root = converted[1];
    if (header && !(header.kind === 'map' && header.entries.has('spec'))) {
      return fail('the first of two YAML documents must be a `spec:` header', header.loc);
    }
  } else {
    root = converted[0];
  }
  if (root && root.kind !== 'map') {
    if (root.kind === 'scalar' && root.value === null) return { diagnostics, lineCounter, header: header as YMap | undefined };
    return fail('the configuration must be a mapping of keywords and jobs', root.loc);
  }
  return { root, header: header as YMap | undefined, diagnostics, lineCounter };
}

/**
 * `LineCounter.linePos` of the `yaml` package (the same answers: 1-based line and column, line 0
 * before the first known line start) for offsets asked mostly in ascending order, as the
 * converter meets nodes: the search starts from the line of the last answer (the same line or
 * the next, nearly always) instead of a binary search over every line start, twice per node.
 */
export function linePositions(starts: readonly number[]): (offset: number) => { line: number; col: number } {
  // The last answer's index: the first line start at or after its offset.
  let hint = 0;
  const lowerBound = (offset: number): number => {
    const n = starts.length;
    if ((hint === 0 || starts[hint - 1]! < offset) && (hint === n || starts[hint]! >= offset)) return hint;
    const next = hint + 1;
    if (next <= n && starts[hint]! < offset && (next === n || starts[next]! >= offset)) return next;
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (starts[mid]! < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  };
  return (offset) => {
    const low = (hint = lowerBound(offset));
    if (starts[low] === offset) return { line: low + 1, col: 1 };
    if (low === 0) return { line: 0, col: offset };
    return { line: low, col: offset - starts[low - 1]! + 1 }; // low >= 1
  };
}

/**
 * A scalar's value in the model, with Ruby's `to_s` of it where JavaScript's differs (`1.0`): plain
 * scalars as Psych reads them (YAML 1.1, `psych-scalar.ts`); explicitly tagged timestamps,
 * `!!binary` and integers too big for a number as written (their text), for values and keys alike.
 * A key's text then never depends on the time zone (a Date's string) or on which build of the
 * `yaml` package decoded `!!binary` (a Buffer in its Node build, a Uint8Array in its ES module
 * build, which the CLI bundle uses). A date or time Psych would make of a plain scalar is refused,
 * as GitLab's loader refuses it (`safe_load` permits no `Date` or `Time`): thrown as a YamlLimitError.
 */
function modelScalar(node: { value: unknown; source?: string }, loc: () => SourceLocation): { value: YScalar['value']; text?: string } {
  const value = node.value;
  if (value instanceof PsychValue) {
    const r = value.scalar;
    if ('refused' in r) {
      const what = r.refused === 'Date' ? 'a date' : 'a time';
      throw new YamlLimitError(
        `\`${node.source ?? ''}\` reads as ${what} in YAML 1.1, a class GitLab's YAML loader refuses ("Tried to load unspecified class: ${r.refused}"): quote it to keep it a string`,
        loc(),
      );
    }
    return r.text === undefined ? { value: r.value } : { value: r.value, text: r.text };
  }
  const written = value instanceof Date || value instanceof Uint8Array || typeof value === 'bigint' || typeof value === 'symbol';
  return { value: written ? (node.source ?? '') : (value as YScalar['value']) };
}

function at(file: string, line: number, column: number): SourceLocation {
  return { file, line, column, endLine: line, endColumn: column };
}

class Converter {
  private readonly anchors = new Map<string, YNode>();
  private readonly sizes = new WeakMap<YNode, { bytes: number; depth: number }>();
  private expandedBytes = 0;

  constructor(
    private readonly file: string,
    private readonly toLoc: (start: number, end: number) => SourceLocation,
    private readonly limits: YamlLimits,
  ) {}

  convert(node: YamlNode, depth: number): YNode {
    if (depth > this.limits.maxDepth) {
      throw new YamlLimitError(`the YAML is nested too deeply (over ${this.limits.maxDepth} levels, GitLab's limit)`, this.loc(node));
    }
    let out: YNode;
    if (isAlias(node)) {
      const target = this.anchors.get(node.source);
      if (!target) throw new YamlLimitError(`unknown alias *${node.source}`, this.loc(node));
      const m = this.measure(target);
      if (depth + m.depth - 1 > this.limits.maxDepth) {
        throw new YamlLimitError(`the YAML is nested too deeply (over ${this.limits.maxDepth} levels, GitLab's limit)`, this.loc(node));
      }
      this.charge(m.bytes, node);
      return target;
    }
    if (isScalar(node)) {
      const { value, text } = modelScalar(node, () => this.loc(node));
      const s: YScalar = { kind: 'scalar', value, loc: this.loc(node) };
      if (text !== undefined) s.text = text;
      if (node.tag && node.tag !== 'tag:yaml.org,2002:str') s.tag = node.tag;
      this.charge(NODE_OVERHEAD + (typeof value === 'string' ? value.length : 8), node);
      out = s;
    } else if (isSeq(node)) {
      this.charge(NODE_OVERHEAD, node);
      const items = node.items.map((it) => this.convert(it as YamlNode, depth + 1));
      if (node.tag === '!reference') {
        out = this.reference(node, items);
      } else {
        out = { kind: 'seq', items, loc: this.loc(node) };
      }
    } else if (isMap(node)) {
      this.charge(NODE_OVERHEAD, node);
      out = this.map(node, depth);
    } else {
      throw new YamlLimitError('unsupported YAML node', this.loc(node));
    }
    if (node.anchor) this.anchors.set(node.anchor, out);
    return out;
  }

  private reference(node: YamlNode, items: YNode[]): YNode {
    // `lib/gitlab/ci/config/yaml/tags/reference.rb`: a non-empty sequence of strings.
    const path: string[] = [];
    for (const it of items) {
      if (it.kind !== 'scalar' || typeof it.value !== 'string') {
        throw new YamlLimitError('`!reference` must be a non-empty list of strings', this.loc(node));
      }
      path.push(it.value);
    }
    if (path.length === 0) throw new YamlLimitError('`!reference` must be a non-empty list of strings', this.loc(node));
    return { kind: 'reference', path, loc: this.loc(node) };
  }

  private map(node: YamlNode & { items: unknown[] }, depth: number): YMap {
    const entries = new Map<string, YMapEntry>();
    const pairs = node.items;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const keyLoc = keyNode ? this.loc(keyNode) : this.loc(node);
      const isMergeKey = !!keyNode && isScalar(keyNode) && (typeof keyNode.value === 'symbol' || keyNode.value === '<<');
      const keyStr = isMergeKey
        ? '<<'
        : keyNode === null
          ? ''
          : isScalar(keyNode)
            ? keyText(modelScalar(keyNode, () => this.loc(keyNode)))
            : ((keyNode as { source?: string }).source ?? '');
      const valueNode = pair.value as YamlNode | null;
      const value: YNode = valueNode
        ? this.convert(valueNode, depth + 1)
        : { kind: 'scalar', value: null, loc: { ...keyLoc, line: keyLoc.endLine, column: keyLoc.endColumn } };
      const explicitStr = keyNode && isScalar(keyNode) && keyNode.tag === 'tag:yaml.org,2002:str';
      if (keyStr === '<<' && !explicitStr) {
        const merged = this.mergeSources(value);
        if (merged) {
          merged.forEach((e, k) => entries.set(k, e));
          continue;
        }
      }
      entries.set(keyStr, { key: keyStr, keyLoc, value });
    }
    return { kind: 'map', entries, loc: this.loc(node) };
  }

  /** Psych: a map merges; a list of maps merges with earlier maps winning; else a plain key. */
  private mergeSources(value: YNode): Map<string, YMapEntry> | undefined {
    if (value.kind === 'map') return value.entries;
    if (value.kind === 'seq') {
      if (!value.items.every((i) => i.kind === 'map')) return undefined;
      const h = new Map<string, YMapEntry>();
      for (let i = value.items.length - 1; i >= 0; i--) {
        (value.items[i] as YMap).entries.forEach((e, k) => h.set(k, e));
      }
      return h;
    }
    return undefined;
  }

  private measure(n: YNode): { bytes: number; depth: number } {
    const cached = this.sizes.get(n);
    if (cached) return cached;
    let bytes = NODE_OVERHEAD;
    let depth = 1;
    if (n.kind === 'scalar') bytes += typeof n.value === 'string' ? n.value.length : 8;
    else if (n.kind === 'seq' || n.kind === 'reference') {
      const items = n.kind === 'seq' ? n.items : [];
      for (const it of items) {
        const m = this.measure(it);
        bytes += m.bytes;
        depth = Math.max(depth, m.depth + 1);
      }
    } else {
      for (const e of n.entries.values()) {
        const m = this.measure(e.value);
        bytes += m.bytes + NODE_OVERHEAD;
        depth = Math.max(depth, m.depth + 1);
      }
    }
    const r = { bytes, depth };
    this.sizes.set(n, r);
    return r;
  }

  private charge(bytes: number, node: YamlNode): void {
    this.expandedBytes += bytes;
    if (this.expandedBytes > this.limits.maxExpandedBytes) {
      throw new YamlLimitError(
        `the YAML expands to more than ${Math.round(this.limits.maxExpandedBytes / 1024 / 1024)} MB (too many aliases: an alias bomb?)`,
        this.loc(node),
      );
    }
  }

  private loc(node: YamlNode): SourceLocation {
    const r = node.range;
    if (!r) return at(this.file, 1, 1);
    return this.toLoc(r[0], r[1]);
  }
}

/** A scalar key's text as GitLab prints it (`scalarText`); null is the empty key. */
function keyText(k: Pick<YScalar, 'value' | 'text'>): string {
  return k.value === null ? '' : scalarText(k);
}
