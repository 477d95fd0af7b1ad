import type { SourceLocation } from '../model/location.js';

/**
 * The text of every file an evaluation read, for source snippets in outputs and for review
 * suggestions. Secret ranges registered here are masked in every line it hands out, so no
 * renderer can print a credential found in YAML or TOML.
 */
export class SourceFiles {
  private readonly lines = new Map<string, string[]>();
  private readonly secrets = new Map<string, SourceLocation[]>();

  add(file: string, text: string): void {
    this.lines.set(file, text.split(/\r?\n/));
  }

  has(file: string): boolean {
    return this.lines.has(file);
  }

  files(): string[] {
    return [...this.lines.keys()];
  }

  /** Take over another evaluation's files and secrets, optionally under a path prefix. */
  absorb(other: SourceFiles, prefix = ''): void {
    for (const [file, lines] of other.lines) this.lines.set(prefix + file, lines);
    for (const [file, locs] of other.secrets) for (const l of locs) this.addSecret({ ...l, file: prefix + file });
  }

  /** Mark a range (typically a scalar value) as secret: it is masked wherever shown. */
  addSecret(loc: SourceLocation): void {
    const list = this.secrets.get(loc.file) ?? [];
    list.push(loc);
    this.secrets.set(loc.file, list);
  }

  /** The 1-based line with secrets masked, or undefined. */
  line(file: string, line: number): string | undefined {
    const raw = this.lines.get(file)?.[line - 1];
    if (raw === undefined) return undefined;
    return this.maskLine(file, line, raw);
  }

  /**
   * The 1-based line as written, secrets included: for locating positions only, never for
   * output (use `line()` for anything shown).
   */
  rawLine(file: string, line: number): string | undefined {
    return this.lines.get(file)?.[line - 1];
  }

  /** Any text that may contain a secret value from this file (masks the literal values). */
  maskText(text: string): string {
    let out = text;
    for (const [file, locs] of this.secrets) {
      for (const loc of locs) {
        for (const value of this.rawSegments(file, loc)) {
          if (value.length >= 4) out = out.split(value).join(maskValue(value));
        }
      }
    }
    return out;
  }

  /** The secret's text, one piece per source line it spans (trimmed, so a block's indentation does not matter). */
  private rawSegments(file: string, loc: SourceLocation): string[] {
    const lines = this.lines.get(file);
    if (!lines) return [];
    const out: string[] = [];
    for (let n = loc.line; n <= loc.endLine; n++) {
      const text = lines[n - 1];
      if (text === undefined) continue;
      const start = n === loc.line ? loc.column - 1 : 0;
      const end = n === loc.endLine ? loc.endColumn - 1 : text.length;
      const piece = text.slice(start, end).trim();
      if (piece) out.push(piece);
    }
    return out;
  }

  private maskLine(file: string, lineNo: number, raw: string): string {
    const locs = this.secrets.get(file);
    if (!locs) return raw;
    let out = raw;
    for (const loc of locs) {
      if (lineNo < loc.line || lineNo > loc.endLine) continue;
      const start = lineNo === loc.line ? loc.column - 1 : 0;
      const end = lineNo === loc.endLine ? loc.endColumn - 1 : out.length;
      if (end <= start) continue;
      // Same length, so columns after the secret still line up with carets.
      out = out.slice(0, start) + '*'.repeat(end - start) + out.slice(end);
    }
    return out;
  }
}

/** `glpat-abcdef123456` → `glpa************`: keeps a 4-character hint, never the value. */
function maskValue(value: string): string {
  const keep = value.length > 12 ? 4 : 0;
  return value.slice(0, keep) + '*'.repeat(Math.max(4, Math.min(12, value.length - keep)));
}
