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

