/**
 * The official gitlab-runner Helm chart takes the runner's TOML as a string in its values
 * file (`runners.config`, usually a `|` block scalar; the chart renders it with `tpl` into
 * the `config.template.toml` of its ConfigMap — gitlab-org/charts/gitlab-runner
 * `templates/configmap.yaml`, `values.yaml`). This module finds that string and maps each
 * line/column of the TOML back to the values file.
 */
import { LineCounter, isMap, isScalar, Scalar } from 'yaml';
import type { SourceLocation } from '../model/location.js';
import { MAX_YAML_DEPTH, parseDocumentChecked } from '../util/yaml-depth.js';
import type { TextPos } from './positions.js';

interface HelmValueEntry {
  value: unknown;
  keyLoc: SourceLocation;
  valueLoc: SourceLocation;
  /** For a one-line quoted or plain string: the characters of the value itself. */
  innerLoc?: SourceLocation;
}

export interface HelmExtract {
  /** The TOML text of `runners.config`, or undefined when the values file has none. */
  toml?: string;
  /** Maps a position in `toml` to the values file. */
  mapPos(p: TextPos): TextPos;
  /** Top-level and `runners.*` scalar values that matter to the rules (`runnerToken`, `runners.name`, …). */
  values: Map<string, HelmValueEntry>;
}

export class HelmValuesError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

const INTERESTING = ['runnerToken', 'runnerRegistrationToken', 'runners.name', 'runners.executor'];

export function extractHelmRunnerConfig(file: string, text: string): HelmExtract {
  const lc = new LineCounter();
  // Values files come from MRs: nesting that would exhaust the composer's stack is refused unread.
  const parsed = parseDocumentChecked(text, lc, { uniqueKeys: false });
  if ('deep' in parsed) throw new HelmValuesError(`invalid YAML: nested too deeply (over ${MAX_YAML_DEPTH} levels)`, parsed.deep.line, parsed.deep.col);
  const { doc } = parsed;
  const err = doc.errors[0];
  if (err) {
    const p = lc.linePos(err.pos[0]);
    throw new HelmValuesError(`invalid YAML: ${err.message.split('\n')[0]}`, p.line, p.col);
  }
  const lines = text.split(/\r?\n/);
  const loc = (range: [number, number, number] | null | undefined): SourceLocation => {
    const a = lc.linePos(range?.[0] ?? 0);
    const b = lc.linePos(range?.[1] ?? range?.[0] ?? 0);
    return { file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };

  const values = new Map<string, HelmValueEntry>();
  let configNode: Scalar | undefined;
  let configKeyLoc: SourceLocation | undefined;
  const root = doc.contents;
  if (isMap(root)) {
    for (const pair of root.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const visit = (name: string, k: Scalar, v: unknown): void => {
        if (!INTERESTING.includes(name) || !isScalar(v)) return;
        const valueLoc = loc(v.range);
        const quoted = v.type === Scalar.QUOTE_DOUBLE || v.type === Scalar.QUOTE_SINGLE;
        const oneLine = valueLoc.line === valueLoc.endLine;
        const innerLoc =
          oneLine && (quoted || v.type === Scalar.PLAIN)
            ? {
                ...valueLoc,
                column: valueLoc.column + (quoted ? 1 : 0),
                // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar's value is a primitive
                endColumn: valueLoc.column + (quoted ? 1 : 0) + String(v.value ?? '').length,
              }
            : undefined;
        values.set(name, { value: v.value, keyLoc: loc(k.range), valueLoc, innerLoc });
      };
      if (isScalar(pair.key)) visit(key, pair.key, pair.value);
      if (key === 'runners' && isMap(pair.value)) {
        for (const sub of pair.value.items) {
          if (!isScalar(sub.key)) continue;
          const subKey = String(sub.key.value);
          visit(`runners.${subKey}`, sub.key, sub.value);
          if (subKey === 'config' && isScalar(sub.value) && typeof sub.value.value === 'string') {
            configNode = sub.value;
            configKeyLoc = loc(sub.key.range);
          }
        }
      }
    }
  }

  if (!configNode || !configKeyLoc) return { values, mapPos: (p) => p };
  const startPos = lc.linePos(configNode.range?.[0] ?? 0);
  const toml = configNode.value as string;
  if (configNode.type === Scalar.BLOCK_LITERAL) {
    // Content starts on the line after the `|` header; every content line keeps its text
    // after the block's indentation (YAML 1.2 §8.1.1), so lines map one to one.
    const firstContent = startPos.line + 1;
    const header = lines[startPos.line - 1]?.slice(startPos.col - 1) ?? '';
    const explicit = /^\|[+-]?([1-9])|^\|([1-9])[+-]?/.exec(header);
    let indent: number;
    if (explicit) {
      const keyIndent = (lines[configKeyLoc.line - 1] ?? '').search(/\S/);
      indent = Math.max(0, keyIndent) + Number(explicit[1] ?? explicit[2]);
    } else {
      indent = 0;
      for (const line of lines.slice(Math.max(0, firstContent - 1))) {
        if (line.trim() !== '') {
          indent = line.search(/\S/);
          break;
        }
      }
    }
    return { toml, values, mapPos: (p) => ({ line: firstContent + p.line - 1, column: p.column + indent }) };
  }
  // Folded or quoted scalars: lines do not map one to one; point at the value's start.
  return { toml, values, mapPos: () => ({ line: startPos.line, column: startPos.col }) };
}

/** Whole-line Go template actions (`{{- if … }}`, `{{ end }}`) are blanked before TOML parsing. */
export function blankTemplateLines(toml: string): string {
  return toml
    .split('\n')
    .map((l) => (/^\s*\{\{-?[^}]*-?\}\}\s*$/.test(l) ? ' '.repeat(l.length) : l))
    .join('\n');
}
