import { describe, expect, it } from 'vitest';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { PolicyError } from '../../src/policy/errors.js';
import { layerPolicy } from '../../src/policy/load.js';
import type { RuleCatalogue } from '../../src/policy/merge.js';
import { applyProjectOverride } from '../../src/policy/project.js';
import { projectOverrideFindings } from '../../src/policy/project-findings.js';

const P = '.gitlab/tierguard.yml';
const catalogue: RuleCatalogue = {
  rules: [
    { id: 'deploy-unprotected-ref', defaultSeverity: 'error' },
    { id: 'untagged-job', defaultSeverity: 'warning' },
    { id: 'unpinned-image', defaultSeverity: 'warning' },
    { id: 'curl-pipe-shell', defaultSeverity: 'warning' },
    { id: 'deploy-not-manual', defaultSeverity: 'warning' },
  ],
};

/** A team policy that allows project files; curl-pipe-shell raised to error by the team. */
const team = layerPolicy(
  builtinPolicy(),
  'policies/teams/acme.yaml',
  'rules:\n  curl-pipe-shell: error\n  unpinned-image: { severity: warning, options: { allowLatestIn: [lint] } }\nreview:\n  allowProjectOverrides: true\n',
  catalogue,
);

describe('applyProjectOverride', () => {
  it('is ignored (and says so) unless the team policy allows project overrides', () => {
    const base = builtinPolicy();
    const r = applyProjectOverride(base, P, 'rules: { untagged-job: error }\n', catalogue);
    expect(r.policy).toBe(base);
    expect(r.rejected).toEqual([`${P}: project overrides are not allowed by the team policy (review.allowProjectOverrides); file ignored`]);
  });

  it('may tighten rules, tune warnings, block on all and add exceptions for warnings', () => {
    const text = [
      'rules:',
      '  untagged-job: error',
      '  unpinned-image:',
      '    options: { allowLatestIn: [] }',
      'review:',
      '  blockOn: all',
      'exceptions:',
      '  - { rule: deploy-not-manual, job: deploy-review, reason: review apps, expires: 2027-01-01 }',
      '',
    ].join('\n');
    const r = applyProjectOverride(team, P, text, catalogue);
    expect(r.rejected).toEqual([]);
    expect(r.policy.rules['untagged-job']).toEqual({ severity: 'error', options: {} });
    expect(r.policy.rules['unpinned-image']).toEqual({ severity: 'warning', options: { allowLatestIn: [] } });
    expect(r.policy.review).toEqual({ blockOn: 'all', allowProjectOverrides: true, maxInlineDiscussions: 25 });
    expect(r.policy.exceptions).toEqual([
      { rule: 'deploy-not-manual', job: 'deploy-review', reason: 'review apps', expires: '2027-01-01', source: { file: P, line: 8, column: 5 } },
    ]);
    expect(r.policy.sources).toEqual(['<built-in>', 'policies/teams/acme.yaml', P]);
    // the team policy object is left untouched
    expect(team.rules['untagged-job']).toBeUndefined();
  });

  it('may lower review.maxInlineDiscussions, never raise it', () => {
    expect(applyProjectOverride(team, P, 'review:\n  maxInlineDiscussions: 5\n', catalogue).policy.review.maxInlineDiscussions).toBe(5);
    const up = applyProjectOverride(team, P, 'review:\n  maxInlineDiscussions: 500\n', catalogue);
    expect(up.policy.review.maxInlineDiscussions).toBe(25);
    expect(up.rejected).toHaveLength(1);
    expect(up.rejected[0]).toMatch(/review.maxInlineDiscussions.*cannot raise review.maxInlineDiscussions above 25/);
  });

  it('refuses everything that would weaken the gate, and applies the rest', () => {
    const text = [
      'version: 1', // 1
      'rules:', // 2
      '  deploy-unprotected-ref: off', // 3  error by default
      '  curl-pipe-shell: warning', // 4  error by team policy
      '  unpinned-image: off', // 5  warning → off: lower
      '  deploy-not-manual: error', // 6  ok (tighten)
      '  untagged-job:', // 7
      '    severity: error', // 8  ok
      'review:', // 9
      '  allowProjectOverrides: false', // 10
      'remoteIncludeHosts: [evil.example.com]', // 11
      'protected:', // 12
      '  branches: ["*"]', // 13
      'exceptions:', // 14
      '  - { rule: deploy-unprotected-ref, job: deploy, reason: trust me, expires: 2030-01-01 }', // 15
      '  - { rule: untagged-job, job: lint, reason: fine, expires: 2030-01-01 }', // 16
      '',
    ].join('\n');
    const r = applyProjectOverride(team, P, text, catalogue);
    expect(r.rejected).toEqual([
      `${P}:3:27: rules.deploy-unprotected-ref: a project file cannot lower rule "deploy-unprotected-ref" from error to off`,
      `${P}:4:20: rules.curl-pipe-shell: a project file cannot lower rule "curl-pipe-shell" from error to warning`,
      `${P}:5:19: rules.unpinned-image: a project file cannot lower rule "unpinned-image" from warning to off`,
      `${P}:10:3: review.allowProjectOverrides: a project file cannot change whether project files apply`,
      `${P}:11:1: remoteIncludeHosts: "remoteIncludeHosts" cannot be set by a project file (it defines the trust boundary)`,
      `${P}:12:1: protected: "protected" cannot be set by a project file (it defines the trust boundary)`,
      `${P}:15:13: exceptions[0].rule: a project file cannot add an exception for blocking rule "deploy-unprotected-ref"`,
    ]);
    const p = r.policy;
    expect(p.rules['deploy-unprotected-ref']).toBeUndefined();
    expect(p.rules['curl-pipe-shell']?.severity).toBe('error');
    expect(p.rules['unpinned-image']?.severity).toBe('warning');
    expect(p.rules['deploy-not-manual']?.severity).toBe('error');
    expect(p.rules['untagged-job']?.severity).toBe('error');
    expect(p.review.allowProjectOverrides).toBe(true);
    expect(p.remoteIncludeHosts).toEqual([]);
    expect(p.protected.branches).toEqual([]);
    // The untagged-job exception was allowed against the team's severity (warning) at the time.
    expect(p.exceptions.map((e) => e.rule)).toEqual(['untagged-job']);
  });

  it('cannot weaken blockOn from all to new, nor retune a blocking rule', () => {
    const strict = layerPolicy(team, 't.yaml', 'review: { blockOn: all }\n');
    const r = applyProjectOverride(strict, P, 'review:\n  blockOn: new\nrules:\n  curl-pipe-shell:\n    options: { allow: ["*"] }\n', catalogue);
    expect(r.rejected).toEqual([
      `${P}:2:12: review.blockOn: a project file cannot weaken review.blockOn from "all" to "new"`,
      `${P}:5:5: rules.curl-pipe-shell.options: a project file cannot change the options of blocking rule "curl-pipe-shell"`,
    ]);
    expect(r.policy.review.blockOn).toBe('all');
    expect(r.policy.rules['curl-pipe-shell']?.options).toEqual({});
  });

  it('treats a rule it cannot rate as blocking', () => {
    const r = applyProjectOverride(team, P, 'rules: { some-new-rule: warning }\nexceptions: [{ rule: some-new-rule, job: x, reason: y, expires: 2030-01-01 }]\n');
    expect(r.rejected.map((l) => l.replace(/^[^ ]+ /, ''))).toEqual([
      'rules.some-new-rule: a project file cannot lower rule "some-new-rule" from unknown (treated as error) to warning',
      'exceptions[0].rule: a project file cannot add an exception for blocking rule "some-new-rule"',
    ]);
  });

  it('an invalid project file is a PolicyError like any policy file', () => {
    expect(() => applyProjectOverride(team, P, 'rules:\n  untagged-job: fatal\n', catalogue)).toThrow(PolicyError);
    expect(() => applyProjectOverride(team, P, 'rules:\n  untagged-job: fatal\n', catalogue)).toThrow(
      `${P}:2:17: rules.untagged-job: expected "error" | "warning" | "off", got "fatal"`,
    );
  });

  it('turns refusals into warnings for the summary', () => {
    const r = applyProjectOverride(team, P, 'rules:\n  curl-pipe-shell: off\n', catalogue);
    const [f] = projectOverrideFindings(r.rejections);
    expect(f).toMatchObject({
      ruleId: 'policy-project-override-rejected',
      severity: 'warning',
      blocking: false,
      location: { file: P, line: 2, column: 20 },
      message: 'Project policy setting ignored: a project file cannot lower rule "curl-pipe-shell" from error to off.',
    });
  });

  it('the team policy re-rates or turns off policy-project-override-rejected like any rule', () => {
    const r = applyProjectOverride(team, P, 'rules:\n  curl-pipe-shell: off\n', catalogue);
    const strictTeam = { ...team, rules: { ...team.rules, 'policy-project-override-rejected': { severity: 'error' as const, options: {} } } };
    expect(projectOverrideFindings(r.rejections, strictTeam).map((f) => [f.severity, f.blocking])).toEqual([['error', true]]);
    const quietTeam = { ...team, rules: { ...team.rules, 'policy-project-override-rejected': { severity: 'off' as const, options: {} } } };
    expect(projectOverrideFindings(r.rejections, quietTeam)).toEqual([]);
  });
});
