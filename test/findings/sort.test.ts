import { describe, expect, it } from 'vitest';
import { makeFinding, sortFindings } from '../../src/findings/finding.js';

const at = (file: string, line: number, column = 1) => ({ file, line, column, endLine: line, endColumn: column + 1 });
const finding = (ruleId: string, file: string, line: number, column?: number) => makeFinding(ruleId, 'warning', { at: at(file, line, column), keyPath: [], message: 'm' });

describe('sortFindings', () => {
  it('orders by file (code units, not the locale: "B" before "a"), line, column, then rule id', () => {
    const sorted = sortFindings([
      finding('b-rule', 'ci/a.yml', 3),
      finding('a-rule', 'ci/a.yml', 3),
      finding('z-rule', 'ci/a.yml', 2, 9),
      finding('z-rule', 'ci/a.yml', 2, 4),
      finding('x', 'ci/B.yml', 10),
      finding('x', '.gitlab/ci.yml', 1),
      finding('x', '.gitlab-ci.yml', 50),
    ]);
    expect(sorted.map((f) => `${f.location.file}:${f.location.line}:${f.location.column} ${f.ruleId}`)).toEqual([
      '.gitlab-ci.yml:50:1 x',
      '.gitlab/ci.yml:1:1 x',
      'ci/B.yml:10:1 x',
      'ci/a.yml:2:4 z-rule',
      'ci/a.yml:2:9 z-rule',
      'ci/a.yml:3:1 a-rule',
      'ci/a.yml:3:1 b-rule',
    ]);
  });
});
