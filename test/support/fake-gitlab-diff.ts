/**
 * A small line diff for the fake GitLab: LCS-based, producing the `diff` text GitLab returns
 * from GET /projects/:id/merge_requests/:iid/diffs (hunks only, no ---/+++ header), and a
 * parser for such text so the fake can tell which lines a diff note may point at.
 */

type DiffLineType = 'context' | 'added' | 'removed';

export interface DiffLine {
  type: DiffLineType;
  /** 1-based line in the old file (null for added lines). */
  oldLine: number | null;
  /** 1-based line in the new file (null for removed lines). */
  newLine: number | null;
  text: string;
}

/** Split file content into lines; a trailing newline does not make an extra empty line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Every line of both files in order, aligned by a longest common subsequence. */
function lineDiff(oldText: string, newText: string): DiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  const n = a.length;
  const m = b.length;
  // lcs(i, j) = LCS length of a[i..] and b[j..]; 0 past either end.
  const table = new Uint32Array((n + 1) * (m + 1));
  const lcs = (i: number, j: number): number => table[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i * (m + 1) + j] = a[i] === b[j] ? lcs(i + 1, j + 1) + 1 : Math.max(lcs(i + 1, j), lcs(i, j + 1));
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  for (;;) {
    const x = a[i];
    const y = b[j];
    if (x === undefined && y === undefined) break;
    if (x !== undefined && x === y) {
      out.push({ type: 'context', oldLine: i + 1, newLine: j + 1, text: x });
      i += 1;
      j += 1;
    } else if (x !== undefined && (y === undefined || lcs(i + 1, j) >= lcs(i, j + 1))) {
      out.push({ type: 'removed', oldLine: i + 1, newLine: null, text: x });
      i += 1;
    } else if (y !== undefined) {
      out.push({ type: 'added', oldLine: null, newLine: j + 1, text: y });
      j += 1;
    }
  }
  return out;
}

/** Unified diff hunks (`@@ -a,b +c,d @@`) with `context` lines around each change. */
export function unifiedDiff(oldText: string, newText: string, context = 3): string {
  const lines = lineDiff(oldText, newText);
  const changed = lines.map((l, idx) => (l.type === 'context' ? -1 : idx)).filter((idx) => idx >= 0);
  if (changed.length === 0) return '';
  // Ranges [start, end] of line indexes to show, merged when they touch.
  const ranges: Array<[number, number]> = [];
  for (const idx of changed) {
    const start = Math.max(0, idx - context);
    const end = Math.min(lines.length - 1, idx + context);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else ranges.push([start, end]);
  }
  const out: string[] = [];
  for (const [start, end] of ranges) {
    const hunk = lines.slice(start, end + 1);
    const oldCount = hunk.filter((l) => l.type !== 'added').length;
    const newCount = hunk.filter((l) => l.type !== 'removed').length;
    // Lines of each file before the hunk: a zero-length side starts at that number.
    const before = lines.slice(0, start);
    const oldBefore = before.filter((l) => l.type !== 'added').length;
    const newBefore = before.filter((l) => l.type !== 'removed').length;
    const oldStart = oldCount === 0 ? oldBefore : oldBefore + 1;
    const newStart = newCount === 0 ? newBefore : newBefore + 1;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const l of hunk) out.push(`${l.type === 'added' ? '+' : l.type === 'removed' ? '-' : ' '}${l.text}`);
  }
  return `${out.join('\n')}\n`;
}

/** The lines shown in a unified diff's hunks, with their old/new numbers. */
export function parseUnifiedDiff(diff: string): DiffLine[] {
  const out: DiffLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  let inHunk = false;
  for (const raw of diff.split('\n')) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(raw);
    if (header) {
      oldNo = Number(header[1]);
      newNo = Number(header[3]);
      // A zero-length side's start is the line before; the next line is start + 1.
      if (header[2] === '0') oldNo += 1;
      if (header[4] === '0') newNo += 1;
      inHunk = true;
      continue;
    }
    if (!inHunk || raw.startsWith('\\')) continue;
    const sign = raw[0];
    const text = raw.slice(1);
    if (sign === '+') out.push({ type: 'added', oldLine: null, newLine: newNo++, text });
    else if (sign === '-') out.push({ type: 'removed', oldLine: oldNo++, newLine: null, text });
    else if (sign === ' ') out.push({ type: 'context', oldLine: oldNo++, newLine: newNo++, text });
  }
  return out;
}
