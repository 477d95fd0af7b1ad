import { describe, expect, it } from 'vitest';
import { fingerprintOf, type Finding, type Severity } from '../../src/findings/finding.js';
import { effectiveSetting, parseInlineIgnores } from '../../src/policy/apply.js';
import { dedupe, suppress } from '../../src/policy/reporter.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { layerPolicy, loadPolicy } from '../../src/policy/load.js';
import { defined } from '../support/defined.js';

function finding(ruleId: string, severity: Severity, file: string, line: number, job?: string): Finding {
  const keyPath = ['x'];
  return {
    ruleId,
    severity,
    blocking: severity === 'error',
    message: `${ruleId} here`,
    location: { file, line, column: 3, endLine: line, endColumn: 9 },
    job,
    keyPath,
    fingerprint: fingerprintOf({ ruleId, file, job, keyPath }),
  };
}

const TODAY = new Date('2026-03-01T12:00:00Z');

describe('dedupe', () => {
  const at = (f: Finding, line: number, column: number): Finding => ({ ...f, location: { ...f.location, line, column } });
  const a = finding('untagged-job', 'warning', 'ci.yml', 4, 'build');
  const b = finding('untagged-job', 'warning', 'ci.yml', 9, 'test');
  it('keeps one finding per fingerprint and position, the first, in order', () => {
    // The same value reached twice (an anchor), the same fingerprint at another place, another finding.
    const list = [a, b, at(a, 4, 3), at(a, 7, 3), at(a, 4, 5), at(b, 9, 3), at(a, 7, 3)];
    expect(dedupe(list, false)).toEqual([a, b, at(a, 7, 3), at(a, 4, 5)]);
    expect(dedupe(list, false)[0]).toBe(a);
  });
  it('keeps one finding per fingerprint when asked, wherever it is', () => {
    expect(dedupe([at(a, 7, 3), b, a, at(b, 1, 1)], true)).toEqual([at(a, 7, 3), b]);
  });
});

describe('effectiveSetting', () => {
  it('uses the default severity and options unless the policy rates the rule', () => {
    const p = layerPolicy(builtinPolicy(), 'p.yaml', 'rules:\n  a: off\n  b: { severity: error, options: { x: 2 } }\n');
    expect(effectiveSetting(p, 'a', 'warning', { x: 1 })).toEqual({ severity: 'off', options: { x: 1 } });
    expect(effectiveSetting(p, 'b', 'warning', { x: 1, y: 1 })).toEqual({ severity: 'error', options: { x: 2, y: 1 } });
    expect(effectiveSetting(p, 'c', 'warning')).toEqual({ severity: 'warning', options: {} });
  });
});

describe('exceptions', () => {
  const policy = layerPolicy(
    builtinPolicy(),
    'policies/default.yaml',
    [
      'exceptions:',
      '  - { rule: deploy-unprotected-ref, job: deploy, reason: "migration INFRA-1", expires: 2026-03-01 }',
      '  - { rule: unpinned-image, file: "ci/legacy/*.yml", reason: legacy templates, expires: 2027-01-01 }',
      '  - { rule: untagged-job, job: lint, file: ".gitlab-ci.yml", reason: old lint, expires: 2027-01-01 }',
      '  - { rule: untagged-job, job: test, reason: "gone stale", expires: 2026-02-28 }',
      '',
    ].join('\n'),
  );

  it('suppresses matching findings (even errors) until and including the expiry day', () => {
    const out = suppress(
      [
        finding('deploy-unprotected-ref', 'error', '.gitlab-ci.yml', 10, 'deploy'),
        finding('deploy-unprotected-ref', 'error', '.gitlab-ci.yml', 20, 'deploy-eu'),
        finding('unpinned-image', 'warning', 'ci/legacy/build.yml', 4, 'build'),
        finding('unpinned-image', 'warning', 'ci/build.yml', 4, 'build'),
        finding('untagged-job', 'warning', '.gitlab-ci.yml', 30, 'lint'),
        finding('untagged-job', 'warning', 'ci/lint.yml', 3, 'lint'),
      ],
      policy,
      { today: TODAY },
    );
    expect(out.slice(0, 6).map((f) => [f.job, f.location.file, f.suppressed?.reason ?? null, f.blocking])).toEqual([
      ['deploy', '.gitlab-ci.yml', 'migration INFRA-1', false],
      ['deploy-eu', '.gitlab-ci.yml', null, true],
      ['build', 'ci/legacy/build.yml', 'legacy templates', false],
      ['build', 'ci/build.yml', null, false],
      ['lint', '.gitlab-ci.yml', 'old lint', false], // job AND file must both match
      ['lint', 'ci/lint.yml', null, false],
    ]);
    expect(out[0]?.suppressed?.kind).toBe('exception');
  });

  it('reports an expired exception at its place in the policy file and stops applying it', () => {
    const out = suppress([finding('untagged-job', 'warning', '.gitlab-ci.yml', 5, 'test')], policy, { today: TODAY });
    expect(out[0]?.suppressed).toBeUndefined();
    const expired = out.filter((f) => f.ruleId === 'policy-exception-expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({
      severity: 'warning',
      blocking: false,
      location: { file: 'policies/default.yaml', line: 5, column: 5 },
      message: 'The exception for rule "untagged-job" on job "test" expired on 2026-02-28 and no longer applies; renew it with a new date or fix the finding.',
    });
    // The day after, the first exception expires too.
    const later = suppress([], policy, { today: new Date('2026-03-02T00:00:00Z') });
    expect(later.map((f) => f.location.line)).toEqual([2, 5]);
  });

  it('the policy can re-rate or disable the expired-exception report', () => {
    const strict = layerPolicy(policy, 't.yaml', 'rules: { policy-exception-expired: error }\n');
    expect(suppress([], strict, { today: TODAY }).map((f) => [f.severity, f.blocking])).toEqual([['error', true]]);
    const quiet = layerPolicy(policy, 't.yaml', 'rules: { policy-exception-expired: off }\n');
    expect(suppress([], quiet, { today: TODAY })).toEqual([]);
  });

  it('reports the expired exception of a team file loaded from disk', () => {
    const p = loadPolicy({ dir: 'test/fixtures/policy/layered', group: 'acme' });
    const out = suppress([finding('deploy-not-manual', 'warning', 'ci/deploy.yml', 3, 'deploy')], p, { today: TODAY });
    expect(out[0]?.suppressed).toBeUndefined();
    expect(out[1]).toMatchObject({
      ruleId: 'policy-exception-expired',
      location: { file: 'test/fixtures/policy/layered/teams/acme.yaml', line: 13, column: 5 },
    });
  });

  it('does not modify the input findings', () => {
    const f = finding('deploy-unprotected-ref', 'error', '.gitlab-ci.yml', 10, 'deploy');
    suppress([f], policy, { today: TODAY });
    expect(f.suppressed).toBeUndefined();
    expect(f.blocking).toBe(true);
  });
});

describe('inline ignore comments', () => {
  const ci = [
    'build:', // 1
    '  image: node:latest  # tierguard-ignore unpinned-image -- pinned by renovate soon', // 2
    '  script:', // 3
    '    - echo "# tierguard-ignore curl-pipe-shell"', // 4  (inside a string: not a comment)
    '  # tierguard-ignore untagged-job, curl-pipe-shell', // 5
    '', // 6
    '  # another comment', // 7
    '  stage: build', // 8
    'deploy:', // 9
    '  script: |', // 10
    '    # tierguard-ignore deploy-not-manual', // 11 (shell comment in a block scalar)
    '    ./deploy.sh', // 12
    '  environment: production  # tierguard-ignore deploy-unprotected-ref', // 13
    '# tierguard-ignore-file debug-trace-enabled', // 14
    '# tierguard-ignore', // 15 (names no rule: no effect)
    '',
  ].join('\n');
  const ignores = parseInlineIgnores('.gitlab-ci.yml', ci);

  it('finds real YAML comments only, with their target line', () => {
    expect(ignores.map((i) => [i.location.line, i.location.column, i.target, i.rules, i.reason ?? null])).toEqual([
      [2, 23, 2, ['unpinned-image'], 'pinned by renovate soon'],
      [5, 3, 8, ['untagged-job', 'curl-pipe-shell'], null],
      [13, 28, 13, ['deploy-unprotected-ref'], null],
      [14, 1, 'file', ['debug-trace-enabled'], null],
    ]);
    // The comment runs to the end of its line (end column is exclusive).
    expect(ignores[0]?.location.endColumn).toBe(defined(ci.split('\n')[1]).length + 1);
  });

  it('silences a warning on its line, and not on other lines or for other rules', () => {
    const out = suppress(
      [
        finding('unpinned-image', 'warning', '.gitlab-ci.yml', 2, 'build'),
        finding('untagged-job', 'warning', '.gitlab-ci.yml', 8, 'build'),
        finding('untagged-job', 'warning', '.gitlab-ci.yml', 9, 'deploy'),
        finding('unpinned-image', 'warning', 'other.yml', 2, 'x'),
        finding('curl-pipe-shell', 'warning', '.gitlab-ci.yml', 4, 'build'),
        finding('deploy-not-manual', 'warning', '.gitlab-ci.yml', 12, 'deploy'),
        finding('debug-trace-enabled', 'warning', '.gitlab-ci.yml', 40, 'x'),
      ],
      builtinPolicy(),
      { today: TODAY, inlineIgnores: ignores },
    );
    expect(out.map((f) => f.suppressed ?? null)).toEqual([
      { kind: 'inline', reason: 'pinned by renovate soon' },
      { kind: 'inline', reason: 'tierguard-ignore comment' },
      null,
      null,
      null,
      null,
      { kind: 'inline', reason: 'tierguard-ignore comment' },
    ]);
  });

  it('never silences an error: the finding stays blocking and the comment is reported', () => {
    const err = finding('deploy-unprotected-ref', 'error', '.gitlab-ci.yml', 13, 'deploy');
    const out = suppress([err], builtinPolicy(), { today: TODAY, inlineIgnores: ignores });
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ ruleId: 'deploy-unprotected-ref', blocking: true });
    expect(out[0]?.suppressed).toBeUndefined();
    expect(out[1]).toMatchObject({
      ruleId: 'inline-ignore-blocking',
      severity: 'warning',
      blocking: false,
      location: { file: '.gitlab-ci.yml', line: 13, column: 28 },
      message: 'A comment in the CI file cannot silence blocking rule deploy-unprotected-ref: fix the finding, or ask for a policy exception.',
    });
  });

  it('a rule re-rated to error by policy cannot be silenced inline either', () => {
    // Severity is applied when findings are created: an unpinned-image finding rated error.
    const out = suppress([finding('unpinned-image', 'error', '.gitlab-ci.yml', 2, 'build')], builtinPolicy(), {
      today: TODAY,
      inlineIgnores: ignores,
    });
    expect(out[0]?.blocking).toBe(true);
    expect(out[1]?.ruleId).toBe('inline-ignore-blocking');
  });

  it('gives two comments silencing the same blocking rule different fingerprints', () => {
    const text = 'a:\n  x: 1 # tierguard-ignore r\nb:\n  x: 1 # tierguard-ignore r\n';
    const ig = parseInlineIgnores('c.yml', text);
    const out = suppress(
      [
        { ...finding('r', 'error', 'c.yml', 2, 'a'), fingerprint: 'fa' },
        { ...finding('r', 'error', 'c.yml', 4, 'b'), fingerprint: 'fb' },
      ],
      builtinPolicy(),
      { today: TODAY, inlineIgnores: ig },
    );
    const reports = out.filter((f) => f.ruleId === 'inline-ignore-blocking');
    expect(reports.map((f) => f.location.line)).toEqual([2, 4]);
    expect(reports[0]?.fingerprint).not.toBe(reports[1]?.fingerprint);
  });

  it('copes with broken YAML and CRLF line ends', () => {
    const ig = parseInlineIgnores('c.yml', 'a: [1, 2\r\n  # tierguard-ignore r1\r\nb: 2 # tierguard-ignore r2\r\n');
    expect(ig.map((i) => [i.location.line, i.target, i.rules])).toEqual([
      [2, 3, ['r1']],
      [3, 3, ['r2']],
    ]);
  });
});
