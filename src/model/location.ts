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
  // Which occurrence of `first` in the value this is (same text twice on one line).
  let nth = 0;
  for (let i = value.indexOf(first); i >= 0 && i < index; i = value.indexOf(first, i + 1)) nth++;
  const lastLine = Math.max(loc.endLine, loc.line + value.split('\n').length);
  for (let ln = loc.line; ln <= lastLine; ln++) {
    const text = lineOf(ln);
    if (text === undefined) break;
    let col = text.indexOf(first, ln === loc.line ? loc.column - 1 : 0);
    while (col >= 0) {
      if (nth === 0) {
        if (parts.length === 1) return { file: loc.file, line: ln, column: col + 1, endLine: ln, endColumn: col + 1 + first.length };
        const endLn = ln + parts.length - 1;
        const endCol = (lineOf(endLn) ?? '').indexOf(last ?? '');
        if (endCol < 0 || !last) return loc;
        return { file: loc.file, line: ln, column: col + 1, endLine: endLn, endColumn: endCol + 1 + last.length };
      }
      nth--;
      col = text.indexOf(first, col + 1);
    }
  }
  return loc;
}
