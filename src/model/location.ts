/** A range in a source file. Lines and columns are 1-based; the end is exclusive in column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export function pointLocation(file: string, line = 1, column = 1): SourceLocation {
  return { file, line, column, endLine: line, endColumn: column };
}

/**
 * The one locator: where `value.slice(index, index + length)` is written, for a scalar whose
 * parsed value is `value` and whose node spans `loc` (plain, quoted or block scalar, a script
 * line folded over several lines). `lineOf` gives the file's raw lines (1-based). Falls back to
 * the whole scalar when the text cannot be found verbatim (escape sequences, folding).
 */
export function locate(lineOf: (line: number) => string | undefined, loc: SourceLocation, value: string, index: number, length: number): SourceLocation {
  const sub = value.slice(index, index + Math.max(1, length));
  const parts = sub.split('\n');
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (!first) return loc;
  // Which occurrence of `first` in the value this is (same text twice on one line): the
  // occurrences are found once per value and text (a script line of 40,000 commands is located
  // 40,000 times; scanning it each time was quadratic).
  let nth = countBelow(occurrences(value, first), index);
  const lastLine = Math.max(loc.endLine, loc.line + occurrences(value, '\n').length + 1);
  for (let ln = loc.line; ln <= lastLine; ln++) {
    const text = lineOf(ln);
    if (text === undefined) break;
    const cols = occurrences(text, first);
    const from = countBelow(cols, ln === loc.line ? loc.column - 1 : 0);
    if (from + nth >= cols.length) {
      nth -= cols.length - from;
      continue;
    }
    const col = cols[from + nth]!;
    if (parts.length === 1) return { file: loc.file, line: ln, column: col + 1, endLine: ln, endColumn: col + 1 + first.length };
    const endLn = ln + parts.length - 1;
    const endCol = (lineOf(endLn) ?? '').indexOf(last ?? '');
    if (endCol < 0 || !last) return loc;
    return { file: loc.file, line: ln, column: col + 1, endLine: endLn, endColumn: endCol + 1 + last.length };
  }
  return loc;
}

/**
 * Every index where `needle` starts in `text`, overlapping ones included, ascending. Kept for
 * the texts looked at last (a job's script lines, the file's lines), per needle.
 */
function occurrences(text: string, needle: string): readonly number[] {
  let byNeedle = recent.get(text);
  if (!byNeedle) {
    if (recent.size >= RECENT_TEXTS) recent.delete(recent.keys().next().value as string);
    recent.set(text, (byNeedle = new Map<string, number[]>()));
  }
  let at = byNeedle.get(needle);
  if (!at) {
    at = [];
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) at.push(i);
    byNeedle.set(needle, at);
  }
  return at;
}
const RECENT_TEXTS = 16;
const recent = new Map<string, Map<string, number[]>>();

/** How many of the ascending `sorted` are below `limit`. */
function countBelow(sorted: readonly number[], limit: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
