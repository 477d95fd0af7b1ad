import type { SourceLocation } from './location.js';
import { get, scalarText, str, type YMap, type YNode } from './node.js';

export interface VariableDef {
  name: string;
  /** The value as GitLab passes it to the job (scalars stringified, `null` → ""). */
  value: string;
  keyLoc: SourceLocation;
  /** Where the value itself is written (for masking and findings). */
  valueLoc: SourceLocation;
  /** `expand: false` makes it raw: `$` references are not expanded. */
  expand: boolean;
  description?: string;
}

/**
 * `variables:` in its forms (`doc/ci/yaml/_index.md#variables`): `NAME: value`, or
 * `NAME: { value, description, expand, options }`. An empty map when the node is no map.
 */
export function readVariables(node: YNode | undefined): ReadonlyMap<string, VariableDef> {
  if (!node || node.kind !== 'map') return NONE;
  // Nodes are immutable once built: the model reads a job's `variables:` and the rules read the
  // same node again where it is written (one map per node, shared). Kept by the node's entries,
  // which every copy of the node keeps (`extends` copies a node to record how it was inherited):
  // the definitions depend on nothing else.
  let hit = readCache.get(node.entries);
  if (!hit) readCache.set(node.entries, (hit = read(node)));
  return hit;
}
const NONE: ReadonlyMap<string, VariableDef> = new Map();
const readCache = new WeakMap<ReadonlyMap<string, unknown>, ReadonlyMap<string, VariableDef>>();

function read(node: YMap): ReadonlyMap<string, VariableDef> {
  const out = new Map<string, VariableDef>();
  node.entries.forEach((e, name) => {
    const v = e.value;
    if (v.kind === 'map') {
      const val = get(v, 'value');
      const expand = get(v, 'expand');
      out.set(name, {
        name,
        value: str(val) ?? '',
        keyLoc: e.keyLoc,
        valueLoc: (val ?? v).loc,
        expand: !(expand?.kind === 'scalar' && expand.value === false),
        description: str(get(v, 'description')),
      });
    } else if (v.kind === 'scalar') {
      out.set(name, { name, value: v.value === null ? '' : scalarText(v), keyLoc: e.keyLoc, valueLoc: v.loc, expand: true });
    }
  });
  return out;
}
