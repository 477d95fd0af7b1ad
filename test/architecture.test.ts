/**
 * The layout tells the architecture, and imports point one way: no folder of src/ may reach
 * itself through imports of other folders (type imports and dynamic imports count too).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Folder (first path segment under src/) → folders it imports from, with one example each. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  const part = (file: string) => path.relative(src, file).split(path.sep)[0]!.replace(/\.ts$/, '');
  for (const file of tsFiles(src)) {
    const from = part(file);
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      const target = path.resolve(path.dirname(file), m[1]!);
      if (!target.startsWith(src + path.sep)) continue;
      const to = part(target.replace(/\.js$/, '.ts'));
      if (to !== from && !edges.has(to)) edges.set(to, `${path.relative(src, file)} imports ${m[1]}`);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan). */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('architecture', () => {
  const graph = folderGraph();

  it('has no folder-level import loop in src/', () => {
    const found = cycles(graph).map((scc) =>
      scc.map((a) => [...(graph.get(a) ?? [])].filter(([b]) => scc.includes(b)).map(([b, why]) => `${a} -> ${b} (${why})`).join('\n')).join('\n'),
    );
    expect(found).toEqual([]);
  });

  it('keeps the named boundaries: contexts and findings below rules, judge between the rule families and their callers, the server apart from the CLI, gitbeaker in the adapter only', () => {
    const imports = (a: string, b: string) => graph.get(a)?.has(b) ?? false;
    expect(imports('contexts', 'rules')).toBe(false);
    expect(imports('findings', 'rules')).toBe(false);
    expect(imports('server', 'cli')).toBe(false);
    // judge sits between the rule families and their callers (CLI, service, audit).
    for (const below of ['rules', 'runner', 'live', 'policy', 'findings', 'model', 'contexts', 'gitlab', 'review']) expect(imports(below, 'judge')).toBe(false);
    for (const above of ['review', 'server', 'cli', 'audit', 'catalogue']) expect(imports('judge', above)).toBe(false);
    const gitbeaker = tsFiles(src).filter((f) => /from ['"]@gitbeaker\//.test(readFileSync(f, 'utf8'))).map((f) => path.relative(src, f).split(path.sep)[0]);
    expect([...new Set(gitbeaker)]).toEqual(['gitlab']);
  });

  it('the check itself finds a loop when there is one', () => {
    const g = new Map([
      ['a', new Map([['b', 'x']])],
      ['b', new Map([['c', 'y']])],
      ['c', new Map([['a', 'z']])],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
  });
});
