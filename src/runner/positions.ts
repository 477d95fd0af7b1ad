/**
 * Source positions for a TOML document. `smol-toml` returns plain values with no positions,
 * so this small scanner walks the same text again (after `smol-toml` has accepted it) and
 * records, for every key path, where the key and its value were written: table headers
 * (`[runners.docker]`), arrays of tables (`[[runners]]`, with their index), dotted keys,
 * inline arrays (spanning lines, with comments) and inline tables.
 *
 * Paths are concrete: `['runners', 1, 'docker', 'volumes', 0]` is the first volume of the
 * second `[[runners]]`. Lines and columns are 1-based, in the scanned text; a `mapPos`
 * function moves them into the file the text was embedded in (Helm values).
 */

export type KeyPath = readonly (string | number)[];

export interface TextPos {
  line: number;
  column: number;
}

interface TextRange {
  start: TextPos;
  end: TextPos;
}

export interface KeyPositions {
  /** The key as written (for a table: the whole header `[runners.docker]`). */
  key?: TextRange;
  /** The value as written (for a string: with its quotes; for a table: its header). */
  value: TextRange;
  /** For a one-line string: the characters between the quotes. */
  inner?: TextRange;
}

export function pathKey(path: KeyPath): string {
  return path.map(String).join('\u0001');
}

/** Scans valid TOML text; never throws on any input and always terminates. */
export function scanTomlPositions(text: string): Map<string, KeyPositions> {
  return new TomlScanner(text).run();
}

const BARE_KEY = /[A-Za-z0-9_-]/;

class TomlScanner {
  private i = 0;
  private readonly lineStarts: number[] = [0];
  private readonly out = new Map<string, KeyPositions>();
  /** Concrete path of an array of tables → number of elements seen so far. */
  private readonly arrays = new Map<string, number>();
  private table: (string | number)[] = [];

  constructor(private readonly s: string) {
    for (let k = 0; k < s.length; k++) if (s[k] === '\n') this.lineStarts.push(k + 1);
  }

  run(): Map<string, KeyPositions> {
    while (this.i < this.s.length) {
      const before = this.i;
      this.skipTrivia(true);
      if (this.i >= this.s.length) break;
      const ch = this.s[this.i];
      if (ch === '[') this.header();
      else this.keyValue(this.table);
      this.skipToLineEnd();
      if (this.i === before) this.i++; // defensive: always make progress
    }
    return this.out;
  }

  private pos(offset: number): TextPos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    // lo <= mid <= hi stay indexes of lineStarts (never empty: it starts with 0).
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo]! + 1 };
  }

  private range(start: number, end: number): TextRange {
    return { start: this.pos(start), end: this.pos(end) };
  }

  /** Whitespace and comments; newlines too when `newlines`. */
  private skipTrivia(newlines: boolean): void {
    while (this.i < this.s.length) {
      const ch = this.s[this.i];
      if (ch === ' ' || ch === '\t' || ch === '\r' || (newlines && ch === '\n')) this.i++;
      else if (ch === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else break;
    }
  }

  private skipToLineEnd(): void {
    while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
  }

  /** Resolve an abstract table path to a concrete one through the arrays of tables seen. */
  private resolve(segments: string[]): (string | number)[] {
    const concrete: (string | number)[] = [];
    for (const seg of segments) {
      concrete.push(seg);
      const n = this.arrays.get(pathKey(concrete));
      if (n !== undefined) concrete.push(n - 1);
    }
    return concrete;
  }

  private header(): void {
    const start = this.i;
    const isArray = this.s.startsWith('[[', this.i);
    this.i += isArray ? 2 : 1;
    this.skipTrivia(false);
    const segments = this.dottedKey().map((k) => k.name);
    this.skipTrivia(false);
    this.i += isArray && this.s.startsWith(']]', this.i) ? 2 : this.s[this.i] === ']' ? 1 : 0;
    const where = this.range(start, this.i);
    let concrete: (string | number)[];
    if (isArray) {
      const parent = this.resolve(segments.slice(0, -1));
      const arrPath = [...parent, segments[segments.length - 1] ?? ''];
      const k = pathKey(arrPath);
      const n = this.arrays.get(k) ?? 0;
      this.arrays.set(k, n + 1);
      if (!this.out.has(k)) this.out.set(k, { key: where, value: where });
      concrete = [...arrPath, n];
    } else {
      concrete = this.resolve(segments);
    }
    this.implicitParents(concrete, where);
    this.out.set(pathKey(concrete), { key: where, value: where });
    this.table = concrete;
  }

  /** Parents first created implicitly (by a header or dotted key) get the creating position. */
  private implicitParents(path: (string | number)[], where: TextRange): void {
    for (let n = 1; n < path.length; n++) {
      const k = pathKey(path.slice(0, n));
      if (!this.out.has(k)) this.out.set(k, { key: where, value: where });
    }
  }

  private dottedKey(): { name: string; start: number; end: number }[] {
    const keys: { name: string; start: number; end: number }[] = [];
    for (;;) {
      this.skipTrivia(false);
      const start = this.i;
      const ch = this.s[this.i];
      let name = '';
      if (ch === '"') name = this.basicString();
      else if (ch === "'") name = this.literalString();
      else {
        while (this.i < this.s.length && BARE_KEY.test(this.s.charAt(this.i))) name += this.s.charAt(this.i++);
      }
      keys.push({ name, start, end: this.i });
      this.skipTrivia(false);
      if (this.s[this.i] === '.' && this.i > start) {
        this.i++;
        continue;
      }
      return keys;
    }
  }

  private keyValue(base: (string | number)[]): void {
    const keys = this.dottedKey();
    const first = keys[0];
    const last = keys.at(-1);
    if (!first || !last || first.end === first.start) {
      this.skipToLineEnd();
      return;
    }
    this.skipTrivia(false);
    if (this.s[this.i] !== '=') {
      this.skipToLineEnd();
      return;
    }
    this.i++;
    this.skipTrivia(false);
    const path = [...base, ...keys.map((k) => k.name)];
    const keyRange = this.range(first.start, last.end);
    this.implicitParents(path, keyRange);
    this.value(path, keyRange);
  }

  /** Scan one value at the cursor and record it (and its elements/members) under `path`. */
  /** Items of an inline array or table up to `close`, separated by commas; each read by `item`. */
  private collection(close: ']' | '}', item: () => void): void {
    this.i++;
    for (;;) {
      this.skipTrivia(true);
      if (this.i >= this.s.length) break;
      if (this.s[this.i] === close) {
        this.i++;
        break;
      }
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      const before = this.i;
      item();
      if (this.i === before) this.i++;
    }
  }

  private value(path: (string | number)[], keyRange: TextRange | undefined): void {
    const start = this.i;
    const ch = this.s[this.i];
    let inner: TextRange | undefined;
    if (ch === '"' || ch === "'") {
      const triple = this.s.startsWith(ch.repeat(3), this.i);
      if (triple) {
        this.i += 3;
        const close = this.s.indexOf(ch.repeat(3), this.i);
        this.i = close < 0 ? this.s.length : close + 3;
        while (this.s[this.i] === ch) this.i++; // up to two quotes may end the content
      } else {
        if (ch === '"') this.basicString();
        else this.literalString();
        inner = this.range(start + 1, Math.max(start + 1, this.i - 1));
      }
    } else if (ch === '[') {
      let n = 0;
      this.collection(']', () => this.value([...path, n++], undefined));
    } else if (ch === '{') {
      this.collection('}', () => this.keyValue(path));
    } else {
      while (this.i < this.s.length && !/[,\]}#\n]/.test(this.s.charAt(this.i))) this.i++;
      let end = this.i;
      while (end > start && /[ \t\r]/.test(this.s.charAt(end - 1))) end--;
      this.out.set(pathKey(path), { key: keyRange, value: this.range(start, end) });
      return;
    }
    this.out.set(pathKey(path), { key: keyRange, value: this.range(start, this.i), inner });
  }

  /** Cursor on `"`: skip a one-line basic string (escapes honoured), return its raw content. */
  private basicString(): string {
    this.i++;
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== '"' && this.s[this.i] !== '\n') {
      if (this.s[this.i] === '\\') {
        const esc = this.s[this.i + 1] ?? '';
        const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
        const replacement = simple[esc];
        if (replacement !== undefined) {
          out += replacement;
          this.i += 2;
          continue;
        }
        const len = esc === 'u' ? 4 : esc === 'U' ? 8 : 0;
        const code = Number.parseInt(this.s.slice(this.i + 2, this.i + 2 + len), 16);
        if (len && Number.isFinite(code) && code <= 0x10ffff) out += String.fromCodePoint(code);
        this.i += 2 + len;
        continue;
      }
      out += this.s.charAt(this.i++);
    }
    if (this.s[this.i] === '"') this.i++;
    return out;
  }

  private literalString(): string {
    this.i++;
    const startContent = this.i;
    while (this.i < this.s.length && this.s[this.i] !== "'" && this.s[this.i] !== '\n') this.i++;
    const out = this.s.slice(startContent, this.i);
    if (this.s[this.i] === "'") this.i++;
    return out;
  }
}
