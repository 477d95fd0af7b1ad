import { LineCounter, Parser, type CST } from 'yaml';

/**
 * How deep YAML may nest before it is refused unread: GitLab's own limit for CI configuration
 * (`MAX_YAML_DEPTH` in lib/gitlab/config/loader/yaml.rb, 100 levels), used for every YAML file
 * tierguard reads (CI files, Helm values, policy files).
 */
export const MAX_YAML_DEPTH = 100;

/**
 * The yaml package composes documents recursively: YAML nested some thousands deep (`[[[[…`, a
 * few KB) exhausts the stack, and near exhaustion V8 can abort the whole process ("RegExpCompiler
 * Allocation failed - process out of memory") instead of throwing. A file an MR author wrote
 * must never do that to the service. The package's lexer and CST parser are iterative, so the
 * text is read into CST tokens first, their nesting is measured here without recursion, and a
 * document nested deeper than `maxDepth` collections is refused before anything composes it.
 */
export function cstTokens(text: string, onNewLine?: (offset: number) => void): CST.Token[] {
  return [...new Parser(onNewLine).parse(text)];
}

/**
 * The first collection nested deeper than `maxDepth` (a document's top-level collection is at
 * depth 1, its items at 2, …), or undefined. Iterative: any depth is measured safely.
 */
export function tooDeep(tokens: readonly CST.Token[], maxDepth: number = MAX_YAML_DEPTH): { offset: number } | undefined {
  const stack: [CST.Token, number][] = [];
  for (const t of tokens) if (t.type === 'document' && t.value) stack.push([t.value, 1]);
  while (stack.length > 0) {
    const [t, depth] = stack.pop()!;
    if (t.type !== 'block-map' && t.type !== 'block-seq' && t.type !== 'flow-collection') continue;
    if (depth > maxDepth) return { offset: t.offset };
    for (const item of t.items) {
      if ('key' in item && item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

/** `tooDeep` of a whole text, with the 1-based line and column (for files read once: Helm values, policy files). */
export function textTooDeep(text: string, maxDepth: number = MAX_YAML_DEPTH): { offset: number; line: number; col: number } | undefined {
  const lc = new LineCounter();
  const deep = tooDeep(cstTokens(text, lc.addNewLine), maxDepth);
  return deep && { ...deep, ...lc.linePos(deep.offset) };
}
