import { describe, it, expect } from 'vitest';
import {
  canRun,
  jobReachInput,
  ContextMatrix,
  reachJob,
  reachWorkflow,
  trustedContexts,
  untrustedContexts,
  variablesFromYaml,
  type JobReach,
} from '../../src/contexts/reach.js';
import type { ContextId } from '../../src/contexts/contexts.js';
import { renderContextTable } from '../../src/cli/context-table.js';
import { jobFrom } from './helpers.js';

const POLICY = { defaultBranch: 'main', protectedBranches: ['release/*'], protectedTags: ['v*'] };

function reach(yaml: string, job = 'job', extra: { exists?: (g: string[]) => boolean | undefined } = {}): JobReach {
  const j = jobFrom(yaml, job);
  return reachJob(j.job, {
    workflowRules: j.workflowRules,
    variables: variablesFromYaml(j.globalVariables, j.jobVariables),
    contexts: POLICY,
    ...extra,
  });
}
function runs(r: JobReach): Record<ContextId, string> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.runs])) as Record<ContextId, string>;
}
const ALL = (v: string) => ({
  'mr-fork': v, mr: v, branch: v, 'unprotected-tag': v, 'web-unprotected': v,
  'default-branch': v, 'protected-branch': v, 'protected-tag': v, schedule: v,
});

describe('rules (doc/ci/jobs/job_rules.md examples)', () => {
  it('merge-request manual / schedule job', () => {
    const r = reach(`
job:
  script: echo "Hello, Rules!"
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: manual
      allow_failure: true
    - if: $CI_PIPELINE_SOURCE == "schedule"
`);
    expect(runs(r)).toEqual({ ...ALL('no'), 'mr-fork': 'yes', mr: 'yes', schedule: 'yes' });
    expect(r.mr.when).toBe('manual');
    expect(r.schedule.when).toBe('on_success');
    expect(r.mr.reason).toBe('rules[0] `if: $CI_PIPELINE_SOURCE == "merge_request_event"` matches with `when: manual`');
    expect(r.mr.at).toMatchObject({ line: 5, column: 11 });
    expect(r.schedule.at).toMatchObject({ line: 8, column: 11 });
    expect(r.branch.reason).toBe('no rule in `rules` matches');
    expect(r.branch.when).toBe('never');
  });

  it('exclusion rules with a final when', () => {
    const r = reach(`
job:
  script: echo
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: never
    - if: $CI_PIPELINE_SOURCE == "schedule"
      when: never
    - when: on_success
`);
    expect(runs(r)).toEqual({ ...ALL('yes'), 'mr-fork': 'no', mr: 'no', schedule: 'no' });
    expect(r.mr.reason).toContain('rules[0]');
    expect(r.mr.reason).toContain('`when: never`');
    expect(r.branch.reason).toContain('rules[2] (no condition) matches');
  });

  it('default-branch deploy: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', () => {
    const r = reach(`
deploy:
  script: ./deploy
  environment: production
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
`, 'deploy');
    expect(runs(r)).toEqual({ ...ALL('no'), 'default-branch': 'yes', schedule: 'yes' });
    expect(r['default-branch'].when).toBe('manual');
    expect(untrustedContexts(r)).toEqual([]);
    expect(trustedContexts(r)).toEqual(['default-branch', 'schedule']);
  });

  it('tag jobs: $CI_COMMIT_TAG', () => {
    const r = reach(`
release:
  script: ./release
  rules:
    - if: $CI_COMMIT_TAG
`, 'release');
    expect(runs(r)).toEqual({ ...ALL('no'), 'unprotected-tag': 'yes', 'protected-tag': 'yes' });
    expect(untrustedContexts(r)).toEqual(['unprotected-tag']);
  });

  it('regex on the branch name stays unknown in untrusted contexts and names the variable', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH =~ /^feature/
`);
    expect(r.branch).toMatchObject({ runs: 'unknown', unknownVariables: ['CI_COMMIT_BRANCH'] });
    expect(r.branch.reason).toContain('may match');
    expect(r['default-branch'].runs).toBe('no');
    expect(canRun(r.branch)).toBe(true);
  });

  it('a user-defined variable makes a rule unknown, an earlier decided rule wins', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: never
    - if: $DEPLOY_ENABLED == "true"
`);
    expect(r.mr.runs).toBe('no');
    expect(r.branch).toMatchObject({ runs: 'unknown', unknownVariables: ['DEPLOY_ENABLED'] });
  });

  it('YAML variables are defaults: known unless a pipeline variable may override them', () => {
    const r = reach(`
variables:
  DEPLOY_ENABLED: "false"
job:
  script: x
  rules:
    - if: $DEPLOY_ENABLED == "true"
`);
    expect(runs(r)).toEqual({ ...ALL('no'), branch: 'unknown', 'unprotected-tag': 'unknown', 'web-unprotected': 'unknown' });
    expect(r['web-unprotected'].unknownVariables).toEqual(['DEPLOY_ENABLED']);
  });

  it('an unknown never-rule before a matching rule leaves it unknown', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $SKIP
      when: never
    - if: $CI_COMMIT_BRANCH
`);
    expect(r.branch).toMatchObject({ runs: 'unknown', unknownVariables: ['SKIP'] });
    expect(r.mr.runs).toBe('no');
  });

  it('manual in one branch and automatic in another: when is the automatic one', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $FAST == "1"
    - if: $CI_COMMIT_BRANCH
      when: manual
`);
    expect(r.branch.runs).toBe('yes');
    expect(r.branch.when).toBe('on_success');
    expect(r.branch.possibleWhen).toEqual(['on_success', 'manual']);
  });

  it('several rules that may match: every branch in the reason, in order, and each `when` once', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $FAST == "1"
      when: manual
    - if: $SLOW == "1"
      when: manual
    - if: $OTHER == "1"
      when: never
    - if: $CI_COMMIT_BRANCH
`);
    expect(r.branch).toEqual({
      runs: 'unknown',
      when: 'on_success',
      possibleWhen: ['manual', 'on_success'],
      reason:
        'rules[0] `if: $FAST == "1"` may match with `when: manual` (unknown: $FAST); else rules[1] `if: $SLOW == "1"` may match with `when: manual` (unknown: $SLOW); else rules[2] `if: $OTHER == "1"` may match with `when: never` (unknown: $OTHER); else rules[3] `if: $CI_COMMIT_BRANCH` matches',
      at: expect.objectContaining({ line: 5 }),
      unknownVariables: ['FAST', 'OTHER', 'SLOW'],
    });
    // in a merge request pipeline only the manual rules may run, and nothing decides
    expect(r.mr).toMatchObject({
      runs: 'unknown',
      when: 'manual',
      reason:
        'rules[0] `if: $FAST == "1"` may match with `when: manual` (unknown: $FAST); else rules[1] `if: $SLOW == "1"` may match with `when: manual` (unknown: $SLOW); else rules[2] `if: $OTHER == "1"` may match with `when: never` (unknown: $OTHER); else no rule in `rules` matches',
    });
    expect(r.mr.possibleWhen).toBeUndefined();
  });

  it('rules that may match only with `when: never`: the job does not run, and the last branch says why', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $OTHER == "1"
      when: never
    - if: $CI_COMMIT_TAG
`);
    expect(r.branch).toEqual({ runs: 'no', when: 'never', reason: 'no rule in `rules` matches', at: expect.objectContaining({ line: 5 }) });
  });

  it('changes: always true without a push diff, unknown with one', () => {
    const r = reach(`
job:
  script: docker build .
  rules:
    - if: $VAR == "string value"
      changes:
        - Dockerfile
      when: manual
    - changes: [Dockerfile]
`);
    expect(r['protected-tag'].runs).toBe('yes');
    expect(r.schedule.runs).toBe('yes');
    expect(r.mr.runs).toBe('unknown');
    expect(r.branch.runs).toBe('unknown');
  });

  it('exists uses the callback', () => {
    const y = `
job:
  script: x
  rules:
    - exists: [Dockerfile]
`;
    expect(reach(y).branch.runs).toBe('unknown');
    expect(reach(y, 'job', { exists: () => true }).branch.runs).toBe('yes');
    expect(reach(y, 'job', { exists: () => false }).branch.runs).toBe('no');
  });

  it('job-level when applies when a rule has none', () => {
    const r = reach(`
job:
  script: x
  when: manual
  rules:
    - if: $CI_COMMIT_TAG
`);
    expect(r['protected-tag']).toMatchObject({ runs: 'yes', when: 'manual' });
  });

  it('an invalid expression is reported and treated as unknown', () => {
    const r = reach(`
job:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH == \${X}
`);
    expect(r.branch.runs).toBe('unknown');
    expect(r.branch.errors?.[0]?.message).toMatch(/invalid expression: unknown lexeme .* \(column 22\)/);
    expect(r.branch.errors?.[0]?.at).toMatchObject({ line: 5, column: 32 });
  });
});

describe('workflow:rules', () => {
  const SWITCH = `
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS
      when: never
    - if: $CI_COMMIT_BRANCH
`;
  it('switches between branch and MR pipelines (doc/ci/yaml/workflow.md)', () => {
    const w = reachWorkflow(jobFrom(SWITCH + 'job:\n  script: x\n', 'job').workflowRules, { contexts: POLICY });
    expect(w.mr.runs).toBe('yes');
    expect(w.branch).toMatchObject({ runs: 'unknown', unknownVariables: ['CI_OPEN_MERGE_REQUESTS'] });
    expect(w['default-branch'].runs).toBe('yes');
    expect(w['unprotected-tag'].runs).toBe('no');
    expect(w['unprotected-tag'].reason).toBe('no rule in `workflow:rules` matches');
  });

  it('gates every job; a job without rules then runs in MR pipelines too', () => {
    const r = reach(SWITCH + 'job:\n  script: x\n');
    expect(runs(r)).toEqual({
      ...ALL('yes'), branch: 'unknown', 'web-unprotected': 'unknown', 'unprotected-tag': 'no', 'protected-tag': 'no',
    });
    expect(r['protected-tag'].reason).toContain('workflow:rules');
  });

  it('a workflow that never runs stops the job', () => {
    const r = reach(`
workflow:
  rules:
    - if: $CI_COMMIT_TAG
      when: never
    - when: always
job:
  script: x
  rules:
    - if: $CI_COMMIT_TAG
`);
    expect(runs(r)).toEqual(ALL('no'));
    expect(r['protected-tag'].reason).toContain('workflow:rules[0]');
  });
});

describe('only / except', () => {
  it('no rules and no only: implicit only [branches, tags], not merge requests', () => {
    const r = reach('job:\n  script: x\n');
    expect(runs(r)).toEqual({ ...ALL('yes'), 'mr-fork': 'no', mr: 'no' });
    expect(r.mr.reason).toContain('excludes merge request pipelines');
  });

  it('only: [merge_requests]', () => {
    const r = reach('job:\n  script: x\n  only: [merge_requests]\n');
    expect(r.mr.runs).toBe('yes');
    expect(r['mr-fork'].runs).toBe('yes');
    expect(r['default-branch'].runs).toBe('no');
  });

  it('except: [merge_requests] keeps the implicit only', () => {
    const r = reach('job:\n  script: x\n  except: [merge_requests]\n');
    expect(runs(r)).toEqual({ ...ALL('yes'), 'mr-fork': 'no', mr: 'no' });
  });

  it('only: [main] and regexes on ref names', () => {
    const r = reach(`
job:
  script: x
  only:
    - main
    - /^release-.*$/
`);
    expect(r['default-branch'].runs).toBe('yes');
    expect(r.schedule.runs).toBe('yes');
    expect(r.mr.runs).toBe('no');
    // an unprotected branch may be called release-1 (only release/* is protected)
    expect(r.branch.runs).toBe('unknown');
    expect(r['protected-branch'].runs).toBe('no');
    expect(r.branch.at).toMatchObject({ line: 6, column: 7 });
  });

  it('only: [tags] — a branch literally named `tags` matches too (policy/refs.rb)', () => {
    const r = reach('job:\n  script: x\n  only: [tags]\n');
    expect(r['protected-tag'].runs).toBe('yes');
    expect(r['unprotected-tag'].runs).toBe('yes');
    expect(r.branch.runs).toBe('unknown');
    expect(r.branch.reason).toContain('named `tags`');
    expect(r['default-branch'].runs).toBe('no');
  });

  it('source keywords: schedules, web, triggers, pushes', () => {
    const r = reach('job:\n  script: x\n  only: [schedules, web]\n');
    expect(r.schedule.runs).toBe('yes');
    expect(r['web-unprotected'].runs).toBe('unknown');
    expect(r['default-branch'].runs).toBe('no');
    const p = reach('job:\n  script: x\n  only: [pushes]\n  except: [tags]\n');
    // a web pipeline on a branch named `pushes` matches the name (policy/refs.rb)
    expect(runs(p)).toEqual({ ...ALL('no'), branch: 'yes', 'default-branch': 'yes', 'protected-branch': 'yes', 'web-unprotected': 'unknown' });
  });

  it('only: refs + variables; except: variables', () => {
    const r = reach(`
job:
  script: x
  only:
    refs: [branches]
    variables:
      - $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  except:
    variables:
      - $CI_COMMIT_MESSAGE =~ /skip-deploy/
`);
    expect(r['default-branch']).toMatchObject({ runs: 'unknown', unknownVariables: ['CI_COMMIT_MESSAGE'] });
    expect(r.branch.runs).toBe('no');
    expect(r.mr.runs).toBe('no');
  });

  it('only:changes', () => {
    const r = reach('job:\n  script: x\n  only:\n    refs: [branches, tags]\n    changes: [src/**/*]\n');
    expect(r['protected-tag'].runs).toBe('yes');
    expect(r.branch.runs).toBe('unknown');
  });
});

describe('matrix helpers and table', () => {
  it('renders a fixed-width table', () => {
    const a = reach(`
deploy:
  script: x
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
`, 'deploy');
    const b = reach('job:\n  script: x\n  rules:\n    - if: $CI_COMMIT_BRANCH =~ /^feat/\n');
    const t = renderContextTable([{ job: 'deploy', reach: a }, { job: 'job', reach: b }]);
    const lines = t.split('\n');
    expect(lines[0]).toBe('job     mr-fork*  mr*  branch*  unprotected-tag*  web-unprotected*  default-branch  protected-branch  protected-tag  schedule');
    expect(lines[2]).toBe('deploy  ·         ·    ·        ·                 ·                 M               ·                 ·              M');
    expect(lines[3]).toBe('job     ·         ·    ?        ·                 ?                 ·               ·                 ·              ·');
    expect(t).toContain('✓ runs');
    expect(ContextMatrix.untrustedContexts(b)).toEqual(['branch', 'web-unprotected']);
  });
});

describe('variablesFromYaml', () => {
  it('reads values, value maps, and marks expanding values unknown', () => {
    const j = jobFrom(`
variables:
  A: "1"
  B: { value: "x", description: d }
  C: $A-suffix
  D:
    value: $RAW
    expand: false
job:
  script: x
  variables:
    A: "2"
`, 'job');
    expect(variablesFromYaml(j.globalVariables, j.jobVariables)).toEqual({ A: '2', B: 'x', C: undefined, D: '$RAW' });
  });
});

describe('robustness', () => {
  it('an unresolved !reference rule counts as may-run', () => {
    const r = reachJob(
      { rules: { kind: 'seq', items: [{ kind: 'reference', path: ['.rules', 'rules'], loc: { file: 'f', line: 3, column: 7, endLine: 3, endColumn: 30 } }], loc: { file: 'f', line: 3, column: 5, endLine: 3, endColumn: 30 } } },
      { contexts: POLICY },
    );
    expect(r.mr.runs).toBe('unknown');
    expect(r.mr.reason).toContain('!reference [.rules, rules]');
  });

  it('malformed rules are reported, not thrown', () => {
    const r = reach('job:\n  script: x\n  rules:\n    - just a string\n    - if: 42\n    - when: sometimes\n');
    expect(r.branch.errors?.map((e) => e.message)).toEqual([
      'rules[0] must be a map',
      'rules[1]:if must be a string expression',
      '`when` must be one of on_success, manual, delayed, always, on_failure, never',
    ]);
    expect(r.branch.runs).toBe('yes') // rules[2] has no condition: every path runs;
  });
});

describe('jobReachInput', () => {
  it('picks rules/only/except/when from a job map', () => {
    const j = jobFrom('job:\n  script: x\n  when: manual\n  only: [tags]\n', 'job');
    const root = j.root.kind === 'map' ? j.root.entries.get('job')?.value : undefined;
    const input = jobReachInput(root);
    expect(input.only?.kind).toBe('seq');
    expect(input.rules).toBeUndefined();
    expect(reachJob(input, { contexts: POLICY })['protected-tag']).toMatchObject({ runs: 'yes', when: 'manual' });
    expect(jobReachInput(undefined)).toEqual({});
  });
});
