import type { SourceLocation } from '../model/location.js';
import { BoundedMemo } from '../util/bounded-memo.js';

/**
 * A text's lines, split once per text: a service judges the same files again and again (a
 * merge request's base and head, rechecks, projects that include the same templates), and every
 * evaluation that reports on a file reads its lines. Shared and never modified (`linesOf` hands
 * them out read-only); bounded by texts and characters, since the texts are whatever was read.
 */
const splitTexts = new BoundedMemo<readonly string[]>(1_000, 4_000_000);
function splitLines(text: string): readonly string[] {
  let lines = splitTexts.get(text);
  if (!lines) splitTexts.set(text, (lines = text.split(/\r?\n/)));
  return lines;
}

/**
 * The text of every file an evaluation read, for source snippets in outputs and for review
 * suggestions. Secret ranges registered here are masked in every line it hands out, so no
 * renderer can print a credential found in YAML or TOML.
 */
export class SourceFiles {
  /** A file's text until a line of it is first read, then its lines (most files are never shown). */
  private readonly lines = new Map<string, string | readonly string[]>();
  private readonly secrets = new Map<string, SourceLocation[]>();
  /**
   * Built from `secrets` when first needed after a change: the secret texts by their first four
   * characters (longest first), and each file's secrets by line. Masking is then one pass over
   * the text instead of one per secret: a runner config with 1,000 tokens and 4,000 findings
   * took 17 s to render.
   */
  private index: { byPrefix: Map<string, SecretsByLength>; byLine: Map<string, Map<number, SourceLocation[]>> } | undefined;

  add(file: string, text: string): void {
    this.lines.set(file, text);
    this.index = undefined;
  }

  has(file: string): boolean {
    return this.lines.has(file);
  }

  files(): string[] {
    return [...this.lines.keys()];
  }

  /** Take over another evaluation's files and secrets, optionally under a path prefix. */
  absorb(other: SourceFiles, prefix = ''): void {
    for (const [file, text] of other.lines) this.lines.set(prefix + file, text);
    this.index = undefined;
    for (const [file, locs] of other.secrets) for (const l of locs) this.addSecret({ ...l, file: prefix + file });
  }

  /** Mark a range (typically a scalar value) as secret: it is masked wherever shown. */
  addSecret(loc: SourceLocation): void {
    const list = this.secrets.get(loc.file) ?? [];
    list.push(loc);
    this.secrets.set(loc.file, list);
    // Secrets are registered while findings are reported (and masked): the index grows with them.
    if (this.index) this.indexSecret(this.index, loc);
  }

  /** The 1-based line with secrets masked, or undefined. */
  line(file: string, line: number): string | undefined {
    const raw = this.linesOf(file)?.[line - 1];
    if (raw === undefined) return undefined;
    return this.maskLine(file, line, raw);
  }

  /**
   * The 1-based line as written, secrets included: for locating positions only, never for
   * output (use `line()` for anything shown).
   */
  rawLine(file: string, line: number): string | undefined {
    return this.linesOf(file)?.[line - 1];
  }

  /**
   * Any text that may contain a secret value from these files: every occurrence of a secret's
   * text (4 characters or more) is masked, the longest secret first where several start at the
   * same place.
   */
  maskText(text: string): string {
    const { byPrefix } = this.indexed();
    if (byPrefix.size === 0) return text;
    let out = '';
    let copied = 0;
    for (let i = 0; i + 4 <= text.length; ) {
      const group = byPrefix.get(text.slice(i, i + 4));
      let match: string | undefined;
      if (group) {
        for (const length of group.lengths) {
          const candidate = text.slice(i, i + length);
          if (group.values.has(candidate)) {
            match = candidate;
            break;
          }
        }
      }
      if (!match) {
        i++;
        continue;
      }
      out += text.slice(copied, i) + maskValue(match);
      i += match.length;
      copied = i;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }

  private indexed(): NonNullable<SourceFiles['index']> {
    if (this.index) return this.index;
    const index = { byPrefix: new Map<string, SecretsByLength>(), byLine: new Map<string, Map<number, SourceLocation[]>>() };
    for (const locs of this.secrets.values()) for (const loc of locs) this.indexSecret(index, loc);
    return (this.index = index);
  }

  private indexSecret(index: NonNullable<SourceFiles['index']>, loc: SourceLocation): void {
    let lines = index.byLine.get(loc.file);
    if (!lines) index.byLine.set(loc.file, (lines = new Map<number, SourceLocation[]>()));
    for (let n = loc.line; n <= loc.endLine; n++) {
      const at = lines.get(n);
      if (at) at.push(loc);
      else lines.set(n, [loc]);
    }
    for (const value of this.rawSegments(loc.file, loc)) {
      if (value.length < 4) continue;
      const key = value.slice(0, 4);
      let group = index.byPrefix.get(key);
      if (!group) index.byPrefix.set(key, (group = { lengths: [], values: new Set<string>() }));
      group.values.add(value);
      if (!group.lengths.includes(value.length)) {
        group.lengths.push(value.length);
        // Longest first: where several secrets start at one place, the longest is masked.
        group.lengths.sort((a, b) => b - a);
      }
    }
  }

  private linesOf(file: string): readonly string[] | undefined {
    const kept = this.lines.get(file);
    if (typeof kept !== 'string') return kept;
    const lines = splitLines(kept);
    this.lines.set(file, lines);
    return lines;
  }

  /** The secret's text, one piece per source line it spans (trimmed, so a block's indentation does not matter). */
  private rawSegments(file: string, loc: SourceLocation): string[] {
    const lines = this.linesOf(file);
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
    const locs = this.secrets.has(file) ? this.indexed().byLine.get(file)?.get(lineNo) : undefined;
    if (!locs) return raw;
    let out = raw;
    for (const loc of locs) {
      const start = lineNo === loc.line ? loc.column - 1 : 0;
      const end = lineNo === loc.endLine ? loc.endColumn - 1 : out.length;
      if (end <= start) continue;
      // Same length, so columns after the secret still line up with carets.
      out = out.slice(0, start) + '*'.repeat(end - start) + out.slice(end);
    }
    return out;
  }
}

/** Secret texts that start with the same four characters, and their distinct lengths (longest first). */
interface SecretsByLength {
  lengths: number[];
  values: Set<string>;
}

/** `glpat-abcdef123456` → `glpa************`: keeps a 4-character hint, never the value. */
function maskValue(value: string): string {
  const keep = value.length > 12 ? 4 : 0;
  return value.slice(0, keep) + '*'.repeat(Math.max(4, Math.min(12, value.length - keep)));
}
