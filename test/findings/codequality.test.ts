import { describe, expect, it } from 'vitest';
import { codeQualitySeverity, renderCodeQuality } from '../../src/findings/render/codequality.js';
import type { Finding } from '../../src/findings/finding.js';
import { findings, input, SECRET } from './fixtures.js';

type Json = any;

describe('renderCodeQuality', () => {
  it('emits the fields GitLab reads for each finding', () => {
    const issues = JSON.parse(renderCodeQuality(input()));
    expect(Array.isArray(issues)).toBe(true);
    expect(issues).toHaveLength(6);
    for (const i of issues) {
      expect(Object.keys(i)).toEqual(['description', 'check_name', 'fingerprint', 'severity', 'location']);
      expect(typeof i.location.path).toBe('string');
      expect(Number.isInteger(i.location.lines.begin)).toBe(true);
    }
    expect(issues[3]).toEqual({
      description: 'deploy job "deploy" can run in merge request pipelines (job deploy)',
      check_name: 'deploy-unprotected-ref',
      fingerprint: findings()[2]!.fingerprint,
      severity: 'blocker',
      location: { path: '.gitlab-ci.yml', lines: { begin: 5, end: 5 } },
    });
  });

  it('maps severities: blocking error → blocker, other error → critical, warning → minor, suppressed → info', () => {
    const issues = JSON.parse(renderCodeQuality(input()));
    expect(issues.map((i: Json) => [i.check_name, i.severity])).toEqual([
      ['hardcoded-credential', 'blocker'],
      ['untagged-job', 'minor'],
      ['untagged-job', 'info'],
      ['deploy-unprotected-ref', 'blocker'],
      ['debug-trace-enabled', 'info'],
      ['runner-privileged', 'critical'],
    ]);
    const blockingButSuppressed: Finding = { ...findings()[1]!, suppressed: { kind: 'exception', reason: 'r' } };
    expect(codeQualitySeverity(blockingButSuppressed)).toBe('info');
  });

  it('makes fingerprints unique by suffixing repeats', () => {
    const issues = JSON.parse(renderCodeQuality(input()));
    const fps = issues.map((i: Json) => i.fingerprint);
    expect(new Set(fps).size).toBe(fps.length);
    const fp = findings()[0]!.fingerprint;
    expect(issues[1].fingerprint).toBe(fp);
    expect(issues[2].fingerprint).toBe(`${fp}-2`);
    // A third copy, and a finding whose own fingerprint is already `<fp>-2`, stay unique too.
    const base = findings()[3]!;
    const many = [base, base, base, { ...base, ruleId: 'zz', fingerprint: `${fp}-2` }];
    const more = JSON.parse(renderCodeQuality(input({ findings: many }))).map((i: Json) => i.fingerprint);
    expect(more).toEqual([fp, `${fp}-2`, `${fp}-3`, `${fp}-2-2`]);
  });

  it('describes suppressed findings and uses relative forward-slash paths', () => {
    const issues = JSON.parse(renderCodeQuality(input()));
    expect(issues[2].description).toBe(
      'job "deploy" has no tags (job deploy) (suppressed by exception: legacy runner until 2030-01-01)',
    );
    const f: Finding = { ...findings()[5]!, location: { file: '.\\runners\\config.toml', line: 3, column: 2, endLine: 4, endColumn: 1 } };
    expect(JSON.parse(renderCodeQuality(input({ findings: [f] })))[0].location).toEqual({
      path: 'runners/config.toml',
      lines: { begin: 3, end: 4 },
    });
  });

  it('never contains the secret and is an empty array without findings', () => {
    expect(renderCodeQuality(input())).not.toContain(SECRET);
    expect(JSON.parse(renderCodeQuality(input()))[0].description).toBe('literal GitLab token glpa************ in variables');
    expect(renderCodeQuality(input({ findings: [] }))).toBe('[]\n');
  });
});
