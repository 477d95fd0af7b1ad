import type { Provenance, YMap, YMapEntry, YNode } from './node.js';

/**
 * ActiveSupport `Hash#deep_merge` on the positioned tree, as GitLab uses it for includes and
 * `extends` (`lib/gitlab/ci/config/external/processor.rb`, `config/extendable/entry.rb`):
 * maps merge recursively, everything else (lists, scalars, `null`) is replaced by the right
 * side. Keys keep the position they first had. Nodes are never mutated.
 */
export function deepMerge(left: YMap, right: YMap): YMap {
  const entries = copyEntries(left.entries);
  right.entries.forEach((re, k) => {
    const le = entries.get(k);
    if (le && le.value.kind === 'map' && re.value.kind === 'map') {
      entries.set(k, { key: k, keyLoc: re.keyLoc, value: deepMerge(le.value, re.value) });
    } else {
      entries.set(k, re);
    }
  });
  return { kind: 'map', entries, loc: right.loc, via: right.via };
}

/**
 * A copy of a map's entries. `new Map(entries)` reads them through the iterator protocol, which
 * without V8's optimizing compiler (the CLI runs without it, bin/tierguard.js) allocates an
 * iterator result and a [key, value] pair per entry: twice the garbage of this copy.
 */
export function copyEntries(entries: ReadonlyMap<string, YMapEntry>): Map<string, YMapEntry> {
  const out = new Map<string, YMapEntry>();
  entries.forEach((e, k) => out.set(k, e));
  return out;
}

/** The same node, annotated with one more step of provenance (outermost last). */
export function withVia(node: YNode, step: Provenance): YNode {
  return { ...node, via: [...(node.via ?? []), step] };
}

/** Annotate every top-level value of a map (keywords of a job) with a provenance step. */
export function annotateEntries(map: YMap, step: Provenance): YMap {
  const entries = new Map<string, YMapEntry>();
  map.entries.forEach((e, k) => entries.set(k, { ...e, value: withVia(e.value, step) }));
  return { ...map, entries };
}

export function emptyMap(loc: YMap['loc']): YMap {
  return { kind: 'map', entries: new Map(), loc };
}

export function withoutKeys(map: YMap, keys: readonly string[]): YMap {
  if (!keys.some((k) => map.entries.has(k))) return map;
  const entries = copyEntries(map.entries);
  for (const k of keys) entries.delete(k);
  return { ...map, entries };
}
