import type { GitLabDiff } from '../gitlab/types.js';

/**
 * Which new-side lines a merge request adds or changes, per `new_path`, read from the unified
 * diff hunks GitLab returns in GET /projects/:id/merge_requests/:iid/changes (hunks only, no
 * `---`/`+++` header; lib/gitlab/diff/parser.rb). Only these lines can carry a diff note with
 * `new_line` alone (an added line, lib/gitlab/diff/position.rb), so only findings on them get an
 * inline discussion.
 *
 * - Deleted files have no new side: skipped.
 * - Collapsed or too-large entries come with an empty `diff`: nothing is known, nothing added.
 * - `\ No newline at end of file` lines are markers, not content.
 * - Renames key on the new path.
 */
export function changedLines(diffs: readonly GitLabDiff[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const d of diffs) {
    if (d.deletedFile) continue;
    const lines = addedLines(d.diff);
    if (lines.size === 0) continue;
    const key = normalizePath(d.newPath);
    const set = out.get(key) ?? new Set<number>();
    for (const l of lines) set.add(l);
    out.set(key, set);
  }
  return out;
}

/** Repository paths as the engine names local files: forward slashes, no leading `./` or `/`. */
export function normalizePath(p: string): string {
  let s = p.replace(/\\/g, '/');
  for (;;) {
    if (s.startsWith('./')) s = s.slice(2);
    else if (s.startsWith('/')) s = s.slice(1);
    else break;
  }
  return s;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** New-side line numbers of the `+` lines of one file's hunks. */
export function addedLines(diff: string): Set<number> {
  const out = new Set<number>();
  let newLine = 0;
  let oldLeft = 0;
  let newLeft = 0;
  for (const raw of diff.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const h = HUNK.exec(line);
    if (h && oldLeft <= 0 && newLeft <= 0) {
      oldLeft = h[2] === undefined ? 1 : Number(h[2]);
      newLeft = h[4] === undefined ? 1 : Number(h[4]);
      newLine = Number(h[3]);
      continue;
    }
    if (oldLeft <= 0 && newLeft <= 0) continue; // outside a hunk (headers, trailing text)
    const tag = line[0];
    if (tag === '\\') continue; // "\ No newline at end of file"
    if (tag === '+') {
      if (newLeft > 0) out.add(newLine);
      newLine += 1;
      newLeft -= 1;
    } else if (tag === '-') {
      oldLeft -= 1;
    } else if (tag === ' ' || line === '') {
      // A context line (an empty context line may have lost its leading space).
      if (line === '' && newLeft <= 0) continue;
      newLine += 1;
      newLeft -= 1;
      oldLeft -= 1;
    }
  }
  return out;
}
