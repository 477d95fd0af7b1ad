import { describe, expect, it } from 'vitest';
import { allIncludes, buildPipeline, type Pipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { evaluatePipeline, jobsWithTrust } from '../../src/rules/engine.js';
import { defaultTrustFactory } from '../../src/rules/trust-provider.js';
import deployUnprotectedRef from '../../src/rules/pipeline/deploy-unprotected-ref.js';
import hardcodedCredential from '../../src/rules/pipeline/hardcoded-credential.js';
import ciConfigUnverified from '../../src/rules/pipeline/ci-config-unverified.js';
import untaggedJob from '../../src/rules/pipeline/untagged-job.js';
import type { EvaluateOptions } from '../../src/rules/engine.js';
import { defined } from '../support/defined.js';

async function load(files: Record<string, string>, external: Record<string, string> = {}): Promise<Pipeline> {
  return buildPipeline(new MemorySource(files, external), '.gitlab-ci.yml');
}

const PARENT = `variables:
  TARGET: staging
deploy-child:
  rules:
    - if: $CI_COMMIT_BRANCH
  trigger:
    include: ci/child.yml
`;
const CHILD = `variables:
  TARGET: production
child-deploy:
  environment: production
  script:
    - ./deploy.sh --token glpat-Xk9fP2qLm8Rt4vWz7Yb1
  rules:
    - if: $CI_PIPELINE_SOURCE == "parent_pipeline"
`;

describe('child pipelines (trigger: include)', () => {
  it('loads a local child configuration as a pipeline of its own, under its trigger job', async () => {
    const p = await load({ '.gitlab-ci.yml': PARENT, 'ci/child.yml': CHILD });
    expect(p.jobs.map((j) => j.name)).toEqual(['deploy-child']);
    expect(p.children?.map((c) => [c.trigger, c.loc.line, c.pipeline.rootFile, c.pipeline.jobs.map((j) => j.name)])).toEqual([['deploy-child', 7, 'ci/child.yml', ['child-deploy']]]);
    const child = defined(p.children?.[0], 'the child').pipeline;
    expect(child.jobs[0]?.keyLoc).toMatchObject({ file: 'ci/child.yml', line: 3 });
    // trigger variables (forwarded YAML variables) override the child's YAML values
    expect(child.jobs[0]?.variables.get('TARGET')?.value).toBe('staging');
    expect(child.includes.map((i) => [i.kind, i.target, i.status, i.trigger])).toEqual([['local', 'ci/child.yml', 'resolved', 'deploy-child']]);
  });

  it('reads project, template and component children where the source can; lists the others as unread include records', async () => {
    const p = await load(
      {
        '.gitlab-ci.yml': `a:\n  trigger:\n    include:\n      - project: grp/lib\n        file: child.yml\n      - template: Jobs/X.gitlab-ci.yml\nb:\n  trigger:\n    include:\n      - component: gitlab.example.com/grp/release-service/publish@master\nc:\n  trigger:\n    include:\n      - artifact: generated.yml\n        job: gen\ngen:\n  script: ./gen.sh\n`,
      },
      { 'grp/lib:child.yml': 'from-project:\n  script: x\n', 'template:Jobs/X.gitlab-ci.yml': 'from-template:\n  script: y\n' },
    );
    expect(p.children?.map((c) => [c.trigger, c.pipeline.jobs.map((j) => j.name)])).toEqual([
      ['a', ['from-project', 'from-template']],
      ['b', []],
      ['c', []],
    ]);
    const unread = allIncludes(p).filter((i) => i.status === 'unresolved');
    expect(unread.map((i) => [i.kind, i.target, i.trigger, i.reason])).toEqual([
      ['component', 'gitlab.example.com/grp/release-service/publish@master', 'b', 'not available'],
      ['artifact', 'generated.yml', 'c', 'generated at run time by job artifacts'],
    ]);
    const notes = p.children!.flatMap((c) => c.pipeline.diagnostics).map((d) => [d.kind, d.location.line, d.message]);
    expect(notes).toEqual([
      ['unresolved', 10, 'include:component `gitlab.example.com/grp/release-service/publish@master` was not read (not available)'],
      ['unresolved', 14, 'include:artifact `generated.yml` of job `gen` was not read (generated at run time by job artifacts)'],
    ]);
  });

  it('notes a multi-project trigger, naming the downstream project; it is no unread part', async () => {
    const p = await load({ '.gitlab-ci.yml': 'ship:\n  trigger:\n    project: grp/deployer\n    branch: main\n    forward:\n      pipeline_variables: true\nlegacy:\n  inherit:\n    variables: false\n  trigger: grp/other\n' });
    expect(p.downstream?.map((d) => [d.job, d.project, d.branch])).toEqual([
      ['ship', 'grp/deployer', 'main'],
      ['legacy', 'grp/other', undefined],
    ]);
    expect(p.diagnostics.map((d) => [d.kind, d.message])).toEqual([
      ['note', 'trigger job `ship` starts a pipeline in project `grp/deployer` (branch `main`), passing its YAML variables and the pipeline variables: its jobs are judged in that project, not here'],
      ['note', 'trigger job `legacy` starts a pipeline in project `grp/other`, passing its YAML variables: its jobs are judged in that project, not here'],
    ]);
    expect(allIncludes(p)).toEqual([]);
  });

  it('child pipelines nest two levels deep at most', async () => {
    const p = await load({
      '.gitlab-ci.yml': 'a:\n  trigger:\n    include: one.yml\n',
      'one.yml': 'b:\n  trigger:\n    include: two.yml\n',
      'two.yml': 'c:\n  trigger:\n    include: three.yml\n',
      'three.yml': 'd:\n  script: x\n',
    });
    const grandchild = defined(defined(p.children?.[0], 'the child').pipeline.children?.[0], 'the grandchild').pipeline;
    expect(grandchild.jobs.map((j) => j.name)).toEqual(['c']);
    expect(grandchild.children).toEqual([]);
    expect(grandchild.diagnostics.map((d) => d.message)).toEqual(['jobs:c:trigger child pipelines can be nested at most 2 levels deep']);
  });
});

describe('child pipelines in the evaluation (regression: child jobs were invisible)', () => {
  it('judges child jobs under the contexts where the trigger job runs, with findings at the child lines', async () => {
    const p = await load({ '.gitlab-ci.yml': PARENT, 'ci/child.yml': CHILD });
    const ev = evaluatePipeline(p, { policy: builtinPolicy(), rules: [deployUnprotectedRef, hardcodedCredential], trust: defaultTrustFactory });
    const child = defined(ev.children?.[0], 'the child evaluation');
    expect(child.trigger).toBe('deploy-child');
    const t = child.evaluation.trust.get('child-deploy')!;
    // the trigger runs for branches (not MRs, not tags); the child's own rule matches `parent_pipeline`
    expect(t.untrusted).toEqual(['branch', 'web-unprotected']);
    expect(t.trusted).toEqual(['default-branch', 'schedule']);
    expect(t.byContext.mr.reason).toMatch(/^its trigger job `deploy-child` does not run/);
    expect(ev.findings.map((f) => [f.ruleId, f.location.file, f.location.line, f.job])).toEqual([
      ['hardcoded-credential', 'ci/child.yml', 6, 'child-deploy'],
      ['deploy-unprotected-ref', 'ci/child.yml', 8, 'child-deploy'],
    ]);
    expect(ev.findings[1]?.message).toContain('can run in untrusted contexts `branch` and `web-unprotected`');
    expect(jobsWithTrust(ev).map((j) => [j.job.name, j.trigger, j.trust.untrusted])).toEqual([
      ['deploy-child', undefined, ['branch', 'web-unprotected']],
      ['child-deploy', 'deploy-child', ['branch', 'web-unprotected']],
    ]);
    // the child's secret is masked in the parent's sources
    expect(ev.sources.line('ci/child.yml', 6)).not.toContain('Xk9fP2qLm8');
  });

  it('a manual trigger job makes the child jobs manual', async () => {
    const p = await load({ '.gitlab-ci.yml': 'go:\n  when: manual\n  trigger:\n    include: c.yml\n', 'c.yml': 'x:\n  script: y\n' });
    const ev = evaluatePipeline(p, { policy: builtinPolicy(), rules: [], trust: defaultTrustFactory });
    expect(ev.children![0]?.evaluation.trust.get('x')!.byContext['default-branch']).toMatchObject({ runs: 'yes', when: 'manual' });
  });
  it('judges the child with every option of the parent: strict, default branch, variable assumptions, today', async () => {
    const p = await load({
      '.gitlab-ci.yml': 'go:\n  trigger:\n    include: c.yml\n',
      'c.yml': 'include:\n  - project: other/ci\n    file: x.yml\nvariables:\n  DEPLOY: "no"\nx:\n  script: y\n  rules:\n    - if: $CI_COMMIT_BRANCH == "develop"\n    - if: $DEPLOY == "yes"\n',
    });
    const policy = { ...builtinPolicy(), exceptions: [{ rule: 'untagged-job', file: 'c.yml', reason: 'runner routing is being set up', expires: '2026-06-30' }] };
    const judge = (o: Partial<EvaluateOptions>) => {
      const ev = evaluatePipeline(p, { policy, rules: [ciConfigUnverified, untaggedJob], trust: defaultTrustFactory, today: new Date('2026-01-15'), ...o });
      const child = defined(ev.children?.[0], 'the child evaluation').evaluation;
      return { ev, runs: (context: string) => (child.trust.get('x')!.byContext as Record<string, { runs: string }>)[context]?.runs };
    };
    const plain = judge({});
    expect(plain.ev.findings.filter((f) => !f.suppressed).map((f) => f.ruleId)).toEqual([]);
    expect(plain.ev.notes).toEqual(['c.yml:2: include:project `other/ci` file `x.yml` was not read (not available)']);
    expect([plain.runs('default-branch'), plain.runs('unprotected-tag')]).toEqual(['no', 'unknown']);
    // strict: the child's unread include is a blocking finding, not a note
    const strict = judge({ strict: true });
    expect(strict.ev.findings.map((f) => [f.ruleId, f.location.file, f.location.line])).toContainEqual(['ci-config-unverified', 'c.yml', 2]);
    expect(strict.ev.notes).toEqual([]);
    // the default branch reaches the child's contexts
    expect(judge({ defaultBranch: 'develop' }).runs('default-branch')).toBe('yes');
    // so do the live variable assumptions: nobody may set DEPLOY for a pipeline
    expect(judge({ variables: { userPipelineVariables: false } }).runs('unprotected-tag')).toBe('no');
    // and the day the exceptions are judged on: past its expiry, the child's finding is no longer suppressed
    const later = judge({ today: new Date('2026-12-01') });
    expect(later.ev.findings.filter((f) => !f.suppressed).map((f) => [f.ruleId, f.location.file])).toEqual([
      ['policy-exception-expired', expect.any(String)],
      ['untagged-job', 'c.yml'],
    ]);
  });
});
