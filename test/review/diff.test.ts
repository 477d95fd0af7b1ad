import { describe, expect, it } from 'vitest';
import type { GitLabDiff } from '../../src/gitlab/types.js';
import { addedLines, changedLines } from '../../src/review/diff.js';
import { unifiedDiff } from '../support/fake-gitlab.js';

const entry = (p: Partial<GitLabDiff> & { diff: string }): GitLabDiff => ({
  oldPath: p.oldPath ?? p.newPath ?? '.gitlab-ci.yml',
  newPath: p.newPath ?? '.gitlab-ci.yml',
  newFile: p.newFile ?? false,
  renamedFile: p.renamedFile ?? false,
  deletedFile: p.deletedFile ?? false,
  diff: p.diff,
});

const sorted = (s: Set<number> | undefined) => [...(s ?? [])].sort((a, b) => a - b);

describe('changedLines', () => {
  it('reads added and changed lines from a modified file with two hunks', () => {
    // As GitLab returns it: hunks only, context lines with a leading space.
    const diff = [
      '@@ -1,4 +1,5 @@',
      ' stages: [build, deploy]',
      '+variables:',
      ' build:',
      '-  script: make',
      '+  script: make all',
      '   tags: [general]',
      '@@ -20,3 +21,4 @@ deploy:',
      '   script: ./deploy.sh',
      '   environment: production',
      '+  tags: [prod]',
      '   when: manual',
      '',
    ].join('\n');
    const m = changedLines([entry({ diff })]);
    expect(sorted(m.get('.gitlab-ci.yml'))).toEqual([2, 4, 23]);
  });

  it('counts every line of a new file and none of a deleted one', () => {
    const m = changedLines([
      entry({ newPath: 'ci/new.yml', newFile: true, diff: '@@ -0,0 +1,3 @@\n+a:\n+  script: x\n+  tags: [t]\n' }),
      entry({ newPath: 'ci/old.yml', deletedFile: true, diff: '@@ -1,2 +0,0 @@\n-a:\n-  script: x\n' }),
    ]);
    expect(sorted(m.get('ci/new.yml'))).toEqual([1, 2, 3]);
    expect(m.has('ci/old.yml')).toBe(false);
  });

  it('keys renames on the new path and keeps the old path for positions', () => {
    const diffs = [entry({ oldPath: 'ci/a.yml', newPath: 'ci/b.yml', renamedFile: true, diff: '@@ -1,2 +1,2 @@\n x: 1\n-y: 2\n+y: 3\n' })];
    expect(sorted(changedLines(diffs).get('ci/b.yml'))).toEqual([2]);
    expect(changedLines(diffs).has('ci/a.yml')).toBe(false);
  });

  it('ignores "\\ No newline at end of file" markers', () => {
    const diff = '@@ -1,2 +1,3 @@\n a: 1\n-b: 2\n\\ No newline at end of file\n+b: 2\n+c: 3\n\\ No newline at end of file\n';
    expect(sorted(addedLines(diff))).toEqual([2, 3]);
  });

  it('does not mistake content lines that look like headers for hunks', () => {
    // An added line "++ x" and a removed "-- y" inside a hunk are content.
    const diff = '@@ -1,2 +1,2 @@\n--- y\n+++ x\n a\n';
    expect(sorted(addedLines(diff))).toEqual([1]);
    // A line beginning with "@@" inside a hunk is content too.
    expect(sorted(addedLines('@@ -0,0 +1,2 @@\n+@@ -9,9 +9,9 @@\n+b\n'))).toEqual([1, 2]);
  });

  it('skips collapsed / too-large entries (empty diff) and pure renames', () => {
    const m = changedLines([entry({ newPath: 'big.yml', diff: '' }), entry({ oldPath: 'a', newPath: 'b', renamedFile: true, diff: '' })]);
    expect(m.size).toBe(0);
  });

  it('agrees with the fake GitLab diff on random edits', () => {
    const before = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const lines = before.trimEnd().split('\n');
    lines.splice(5, 1, 'changed 5');
    lines.splice(20, 0, 'inserted a', 'inserted b');
    lines.splice(35, 2);
    const after = lines.join('\n') + '\n';
    const m = changedLines([entry({ diff: unifiedDiff(before, after) })]);
    const expected = after
      .trimEnd()
      .split('\n')
      .map((l, i) => (l.startsWith('changed') || l.startsWith('inserted') ? i + 1 : 0))
      .filter(Boolean);
    expect(sorted(m.get('.gitlab-ci.yml'))).toEqual(expected);
  });
});
