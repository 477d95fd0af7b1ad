import { describe, expect, it } from 'vitest';
import { renderJson } from '../../src/findings/render/json.js';
import { findings, input, SECRET } from './fixtures.js';

const FINDING_KEYS = [
  'ruleId',
  'severity',
  'blocking',
  'message',
  'file',
  'line',
  'column',
  'endLine',
  'endColumn',
  'job',
  'fingerprint',
];

describe('renderJson', () => {
  it('has exactly the spec shape, in key order, sorted by file/line/column/rule', () => {
    const out = renderJson(input());
    const doc = JSON.parse(out);
    expect(Object.keys(doc)).toEqual(['findings', 'summary']);
    expect(doc.findings.map((f: { ruleId: string }) => f.ruleId)).toEqual([
      'hardcoded-credential',
      'untagged-job',
      'untagged-job',
      'deploy-unprotected-ref',
      'debug-trace-enabled',
      'runner-privileged',
    ]);
    for (const f of doc.findings) {
      expect(Object.keys(f)).toEqual(f.suppressed ? [...FINDING_KEYS, 'suppressed'] : FINDING_KEYS);
    }
    expect(doc.summary).toEqual({ errors: 3, warnings: 1, blocking: 2, suppressed: 2 });
  });

  it('maps each field of a finding', () => {
    const doc = JSON.parse(renderJson(input()));
    const deploy = findings()[2]!;
    expect(doc.findings[3]).toEqual({
      ruleId: 'deploy-unprotected-ref',
      severity: 'error',
      blocking: true,
      message: 'deploy job "deploy" can run in merge request pipelines',
      file: '.gitlab-ci.yml',
      line: 5,
      column: 3,
      endLine: 5,
      endColumn: 26,
      job: 'deploy',
      fingerprint: deploy.fingerprint,
    });
    // No job → null, so the shape stays fixed.
    expect(doc.findings[5].job).toBeNull();
    expect(doc.findings[1]).not.toHaveProperty('suppressed');
    expect(doc.findings[2].suppressed).toEqual({ kind: 'exception', reason: 'legacy runner until 2030-01-01' });
    expect(doc.findings[4].suppressed).toEqual({ kind: 'inline', reason: 'debugging a flaky deploy' });
  });

  it('masks every string, including a message that contains the secret', () => {
    const out = renderJson(input());
    expect(out).not.toContain(SECRET);
    expect(JSON.parse(out).findings[0].message).toBe('literal GitLab token glpa************ in variables');
  });

  it('adds `details` only to findings that carry them, masked like messages', () => {
    const f = { ...findings()[1]!, details: { variables: ['A_TOKEN', `X_${SECRET}`], job: 'test' } };
    const out = renderJson(input({ findings: [f, findings()[2]!] }));
    const doc = JSON.parse(out);
    expect(Object.keys(doc.findings[0])).toEqual([...FINDING_KEYS, 'details']);
    expect(doc.findings[0].details.variables[0]).toBe('A_TOKEN');
    expect(out).not.toContain(SECRET);
    expect(doc.findings[1]).not.toHaveProperty('details');
  });

  it('never marks a suppressed finding as blocking', () => {
    const f = { ...findings()[1]!, suppressed: { kind: 'exception' as const, reason: 'r' } };
    const doc = JSON.parse(renderJson(input({ findings: [f] })));
    expect(doc.findings[0].blocking).toBe(false);
    expect(doc.summary).toEqual({ errors: 0, warnings: 0, blocking: 0, suppressed: 1 });
  });

  it('is pretty-printed with two spaces and ends with a newline; diagnostics are not included', () => {
    const out = renderJson(input({ findings: [], diagnostics: ['include not fetched'] }));
    expect(out).toBe(
      '{\n  "findings": [],\n  "summary": {\n    "errors": 0,\n    "warnings": 0,\n    "blocking": 0,\n    "suppressed": 0\n  }\n}\n',
    );
  });
});
