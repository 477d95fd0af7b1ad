/**
 * Test helper: YAML text → the positioned YNode tree (src/model/node.ts), independent of the
 * real loader (src/model/yaml.ts). Maps, sequences, scalars and aliases only.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { SourceLocation } from '../../src/model/location.js';
import type { YMapEntry, YNode } from '../../src/model/node.js';

function loadYaml(text: string, file = '.gitlab-ci.yml'): YNode {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, version: '1.1' });
  if (doc.errors.length) throw new Error(doc.errors.map((e) => e.message).join('\n'));
  const loc = (range: [number, number, number] | null | undefined): SourceLocation => {
    const [s, e] = range ?? [0, 0, 0];
    const a = lc.linePos(s);
    const b = lc.linePos(e);
    return { file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
  const conv = (n: unknown): YNode => {
    if (isAlias(n)) return conv(n.resolve(doc));
    if (isMap(n)) {
      const entries = new Map<string, YMapEntry>();
      for (const p of n.items) {
        const k = p.key as Node;
        const key = isScalar(k) ? String(k.value) : String(k);
        entries.set(key, { key, keyLoc: loc(k?.range), value: conv(p.value) });
      }
      return { kind: 'map', entries, loc: loc(n.range) };
    }
    if (isSeq(n)) return { kind: 'seq', items: n.items.map(conv), loc: loc(n.range) };
    if (isScalar(n)) {
      const v = n.value;
      const value = v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
      return { kind: 'scalar', value, loc: loc(n.range) };
    }
    return { kind: 'scalar', value: null, loc: loc(null) };
  };
  return conv(doc.contents);
}

/** The parts of a job reach needs, plus the top-level workflow rules. */
export function jobFrom(text: string, job: string) {
  const root = loadYaml(text);
  if (root.kind !== 'map') throw new Error('not a map');
  const j = root.entries.get(job)?.value;
  if (!j || j.kind !== 'map') throw new Error(`no job ${job}`);
  const wf = root.entries.get('workflow')?.value;
  return {
    root,
    job: {
      rules: j.entries.get('rules')?.value,
      only: j.entries.get('only')?.value,
      except: j.entries.get('except')?.value,
      when: j.entries.get('when')?.value,
    },
    workflowRules: wf && wf.kind === 'map' ? wf.entries.get('rules')?.value : undefined,
    globalVariables: root.entries.get('variables')?.value,
    jobVariables: j.entries.get('variables')?.value,
  };
}
