import { Composer, Parser, YAMLParseError, type CST, type LineCounter, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';

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
function cstTokens(text: string, onNewLine?: (offset: number) => void): CST.Token[] {
  return [...new Parser(onNewLine).parse(text)];
}

/**
 * The first collection nested deeper than `maxDepth` (a document's top-level collection is at
 * depth 1, its items at 2, …), or undefined. Iterative: any depth is measured safely.
 */
function tooDeep(tokens: readonly CST.Token[], maxDepth: number = MAX_YAML_DEPTH): { offset: number } | undefined {
  // Two stacks side by side, the collections and their depths: no pair allocated per node.
  const stack: CST.Token[] = [];
  const depths: number[] = [];
  const push = (t: CST.Token | null | undefined, depth: number) => {
    // Only collections nest; scalars, aliases and the rest end here.
    if (t && (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection')) {
      stack.push(t);
      depths.push(depth);
    }
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'document') push(t.value, 1);
  }
  while (stack.length > 0) {
    const t = stack.pop() as CST.BlockMap | CST.BlockSequence | CST.FlowCollection;
    const depth = depths.pop()!;
    if (depth > maxDepth) return { offset: t.offset };
    const items = t.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      // Sequence items have no key (undefined).
      push((item as { key?: CST.Token | null }).key, depth + 1);
      push(item.value, depth + 1);
    }
  }
  return undefined;
}

/**
 * The text's CST tokens, or where it first nests deeper than `maxDepth` (1-based line and column
 * through `lineCounter`, which the lexing fills): what every YAML reader does before composing.
 */
export function tokensWithinDepth(text: string, lineCounter: LineCounter, maxDepth: number = MAX_YAML_DEPTH): { tokens: CST.Token[] } | { deep: { offset: number; line: number; col: number } } {
  const tokens = cstTokens(text, lineCounter.addNewLine);
  const deep = tooDeep(tokens, maxDepth);
  return deep ? { deep: { ...deep, ...lineCounter.linePos(deep.offset) } } : { tokens };
}

/**
 * `parseDocument` of the yaml package, read once: the text is lexed into CST tokens, their depth
 * measured, and the same tokens composed (the package's own parseDocument would lex it again).
 * `deep` when the text nests deeper than `maxDepth` (nothing composed); else the first document,
 * with a MULTIPLE_DOCS error if the text holds more, as parseDocument reports. Errors keep
 * `pos` (offsets): `lineCounter` turns them into lines.
 */
export function parseDocumentChecked(
  text: string,
  lineCounter: LineCounter,
  options: ParseOptions & DocumentOptions & SchemaOptions = {},
  maxDepth: number = MAX_YAML_DEPTH,
): { deep: { offset: number; line: number; col: number } } | { doc: Document.Parsed } {
  const read = tokensWithinDepth(text, lineCounter, maxDepth);
  if ('deep' in read) return read;
  let doc: Document.Parsed | undefined;
  for (const d of new Composer(options).compose(read.tokens, true, text.length)) {
    if (!doc) doc = d;
    else {
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  // compose(…, forceDoc = true) yields at least one document, an empty text included.
  return { doc: doc! };
}
