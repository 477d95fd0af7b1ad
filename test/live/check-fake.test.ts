import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { LiveCache, runLiveChecks } from '../../src/live/index.js';
import { connectLive } from '../../src/cli/live.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { startFakeGitLab, type FakeGitLab, type FakeProject } from '../support/fake-gitlab.js';
import { PIPELINE, evaluate } from './helpers.js';
import { defined } from '../support/defined.js';

const SECRET_VALUE = 'glpat-THIS-VALUE-MUST-NEVER-APPEAR';

let gl: FakeGitLab;
let api: GitLabApi;
let project: FakeProject;

/** The setup everyone agrees is fixed: protected deploy runner, protected env, protected secrets, strict settings. */
function safeSetup(): void {
  gl.addGroup('acme');
  gl.addGroup('acme/web');
  gl.addRunner(project.id, { description: 'deploy-prod', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'ref_protected' });
  gl.addRunner(null, { description: 'shared-general', tag_list: ['ci-general'], run_untagged: true });
  project.protectedEnvironments.push({ name: 'production', deploy_access_levels: [{ access_level: 40 }], required_approval_count: 1 });
  project.variables.push({ key: 'DEPLOY_TOKEN', value: SECRET_VALUE, protected: true, masked: true, environment_scope: 'production' });
  project.ciSettings = {
    ci_allow_fork_pipelines_to_run_in_parent_project: false,
    restrict_user_defined_variables: true,
    ci_pipeline_variables_minimum_override_role: 'maintainer',
    ci_separated_caches: true,
    ci_forward_deployment_enabled: true,
  };
}

beforeEach(async () => {
  gl = await startFakeGitLab();
  api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 0 } });
  project = gl.addProject({ path: 'acme/web/app' });
});
afterEach(async () => {
  await gl.close();
});

describe('runLiveChecks against the fake GitLab', () => {
  it('judges the jobs of child pipelines too: a deploy job in a trigger:include child meets the unprotected runner', async () => {
    safeSetup();
    gl.addRunner(null, { description: 'shared-docker', tag_list: ['ci-deploy-prod'], run_untagged: false });
    const { buildPipeline } = await import('../../src/model/pipeline.js');
    const { MemorySource } = await import('../../src/model/source.js');
    const { evaluatePipeline } = await import('../../src/rules/engine.js');
    const { defaultTrustFactory } = await import('../../src/rules/trust-provider.js');
    const parent = 'deploy-child:\n  trigger:\n    include: ci/deploy.yml\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';
    const child = 'deploy:\n  script: ./deploy.sh\n  environment: production\n  tags: [ci-deploy-prod]\n';
    const pipeline = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': parent, 'ci/deploy.yml': child }), '.gitlab-ci.yml');
    const evaluation = evaluatePipeline(pipeline, { policy: builtinPolicy(), rules: [], trust: defaultTrustFactory, defaultBranch: 'main' });
    const r = await runLiveChecks(api, { projectId: project.id, evaluation, policy: builtinPolicy() });
    const unprotected = r.findings.filter((f) => f.ruleId === 'deploy-runner-unprotected');
    expect(unprotected.map((f) => [f.job, f.location.file, f.location.line, f.location.column])).toEqual([['deploy', 'ci/deploy.yml', 4, 9]]);
  });

  it('an unprotected runner that shares the deploy tag makes the deploy job unsafe (issue 342408)', async () => {
    safeSetup();
    const bad = gl.addRunner(null, { description: 'shared-docker', tag_list: ['ci-deploy-prod', 'docker'], run_untagged: true });
    const evaluation = await evaluate(PIPELINE);
    const r = await runLiveChecks(api, { projectId: project.id, evaluation, policy: builtinPolicy() });

    const unprotected = r.findings.filter((f) => f.ruleId === 'deploy-runner-unprotected');
    expect(unprotected).toHaveLength(1);
    expect(unprotected[0]).toMatchObject({ job: 'deploy', severity: 'error', blocking: true, location: { file: '.gitlab-ci.yml', line: 9, column: 9 } });
    expect(unprotected[0]?.message).toContain(`runner #${bad.id} "shared-docker"`);
    expect(unprotected[0]?.message).toContain('not protected');

    const serves = r.findings.filter((f) => f.ruleId === 'deploy-runner-serves-untrusted');
    // Takes untagged jobs, and `lint` (an untagged MR job) can land on it.
    expect(serves.map((f) => f.message)).toEqual([
      expect.stringMatching(/also runs untagged jobs/),
      expect.stringMatching(/also takes merge request jobs of this pipeline \(`lint`\)/),
    ]);
    expect(serves[1]?.related?.[0]?.location.line).toBe(1);
    expect(r.skipped).toEqual([]);
    expect(r.notes.find((n) => n.startsWith('Untagged job `lint`'))).toMatch(new RegExp(`lands on runner #\\d+ "shared-general" .*, runner #${bad.id} "shared-docker" \\(instance, not protected\\)\\.$`));
  });

  it('the same setup fixed: protected deploy runner without untagged jobs gives no finding', async () => {
    safeSetup();
    const evaluation = await evaluate(PIPELINE);
    const r = await runLiveChecks(api, { projectId: project.id, evaluation, policy: builtinPolicy() });
    expect(r.findings).toEqual([]);
    expect(r.skipped).toEqual([]);
    expect(r.notes).toEqual([expect.stringMatching(/^Untagged job `lint` lands on runner #\d+ "shared-general" \(instance, not protected\)\.$/)]);
    gl.state.runners.forEach((x) => (x.run_untagged = false));
    const r2 = await runLiveChecks(api, { projectId: project.id, evaluation, policy: builtinPolicy() });
    expect(r2.notes).toEqual(['Untagged job `lint`: no available runner takes untagged jobs on unprotected refs; it would stay pending.']);
  });

  it('a paused unprotected runner, or one missing a tag, cannot pick the deploy job', async () => {
    safeSetup();
    gl.addRunner(project.id, { description: 'paused', tag_list: ['ci-deploy-prod'], paused: true });
    gl.addRunner(project.id, { description: 'other', tag_list: ['ci-general'] });
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings.filter((f) => f.ruleId.startsWith('deploy-runner'))).toEqual([]);
  });

  it('a protected deploy runner that also runs untagged jobs is blocking', async () => {
    safeSetup();
    const r1 = gl.addRunner(project.id, { description: 'deploy-2', tag_list: ['ci-deploy-prod'], run_untagged: true, access_level: 'ref_protected' });
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings.map((f) => [f.ruleId, f.location.line, f.message.includes(`#${r1.id}`)])).toEqual([['deploy-runner-serves-untrusted', 9, true]]);
    expect(r.findings[0]?.message).toMatch(/also runs untagged jobs/);
  });

  it('a token without the Maintainer role: every live check is skipped, none passes', async () => {
    safeSetup();
    gl.addRunner(null, { description: 'shared-docker', tag_list: ['ci-deploy-prod'], run_untagged: true });
    project.roles.set(gl.botUser.id, 30);
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings).toEqual([]);
    const checks = r.skipped.map((s) => s.check);
    for (const id of [
      'deploy-runner-unprotected',
      'deploy-runner-serves-untrusted',
      'deploy-environment-unprotected',
      'unprotected-secret-variable',
      'fork-pipelines-in-parent',
      'pipeline-variables-unrestricted',
      'secret-variable-unscoped',
      'separated-caches-disabled',
      'forward-deployment-disabled',
    ]) {
      expect(checks).toContain(id);
    }
    const runnerSkip = r.skipped.find((s) => s.check === 'deploy-runner-unprotected')!;
    expect(runnerSkip.reason).toMatch(/403/);
    expect(runnerSkip.needs).toMatch(/Maintainer/);
    expect(r.notes).toContain(`Live check \`deploy-runner-unprotected\` skipped: ${runnerSkip.reason} (needs ${runnerSkip.needs}).`);
    // Settings the token cannot see are "skipped", not "off".
    expect(r.skipped.find((s) => s.check === 'fork-pipelines-in-parent')?.reason).toMatch(/cannot see the project CI\/CD settings/);
  });

  it('unprotected credential-like variables while MR jobs exist: blocking, value never read', async () => {
    safeSetup();
    project.variables.push({ key: 'AWS_SECRET_ACCESS_KEY', value: SECRET_VALUE, protected: false, masked: true, environment_scope: '*' });
    project.variables.push({ key: 'DEPLOY_TOKEN_STAGING', value: SECRET_VALUE, protected: false, masked: false, environment_scope: 'staging' });
    project.variables.push({ key: 'LOG_LEVEL', value: 'debug', protected: false, masked: false, environment_scope: '*' });
    gl.state.groups.get('acme')!.variables.push({ key: 'NPM_TOKEN', value: SECRET_VALUE, protected: false, masked: true, environment_scope: '*' });
    // A group Maintainer cannot read group variables: GitLab asks for Owner (group_policy.rb).
    gl.state.groups.get('acme/web')!.roles.set(gl.botUser.id, 40);
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.skipped.find((s) => s.check === 'unprotected-secret-variable')?.needs).toMatch(/^Owner role in each ancestor group/);
    const vars = r.findings.filter((f) => f.ruleId === 'unprotected-secret-variable');
    expect(vars.map((f) => f.message.match(/`(\w+)`/)?.[1])).toEqual(['AWS_SECRET_ACCESS_KEY', 'DEPLOY_TOKEN_STAGING', 'NPM_TOKEN']);
    // No MR job references them: root CI file, line 1, no job.
    for (const f of vars) expect(f).toMatchObject({ job: undefined, blocking: true, location: { file: '.gitlab-ci.yml', line: 1, column: 1 } });
    expect(vars[2]?.message).toContain('group `acme`');
    expect(vars[1]?.message).toContain('environment scope `staging`');
    // The unreadable subgroup is a partial skip.
    expect(r.skipped).toEqual([
      expect.objectContaining({ check: 'unprotected-secret-variable', reason: expect.stringMatching(/group `acme\/web`.*403/) }),
      expect.objectContaining({ check: 'secret-variable-unscoped', reason: expect.stringMatching(/group `acme\/web`/) }),
    ]);
    expect(JSON.stringify(r)).not.toContain(SECRET_VALUE);
    expect(gl.requests.some((q) => q.path === '/groups/acme%2Fweb/variables' && q.status === 403)).toBe(true);
  });

  it('an unprotected secret used by an MR job points at that job', async () => {
    safeSetup();
    project.variables.push({ key: 'SONAR_TOKEN', value: SECRET_VALUE, protected: false, masked: true, environment_scope: '*' });
    const yaml = PIPELINE.replace('  script: make lint', '  script: sonar -Dtoken=${SONAR_TOKEN}');
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(yaml), policy: builtinPolicy() });
    const f = r.findings.find((x) => x.ruleId === 'unprotected-secret-variable')!;
    expect(f).toMatchObject({ job: 'lint', location: { line: 1, column: 1 } });
    expect(f.message).toMatch(/merge request jobs such as `lint` use it/);
  });

  it('no job reachable from merge requests: unprotected secrets are not blocking here', async () => {
    safeSetup();
    project.variables.push({ key: 'AWS_SECRET_ACCESS_KEY', value: SECRET_VALUE, protected: false, masked: true, environment_scope: '*' });
    const yaml = PIPELINE.replace('"merge_request_event"', '"schedule"');
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(yaml), policy: builtinPolicy() });
    expect(r.findings.filter((f) => f.ruleId === 'unprotected-secret-variable')).toEqual([]);
  });

  it('a credential used only by the deploy job but scoped to every environment is a warning', async () => {
    safeSetup();
    defined(project.variables[0], 'a variable').environment_scope = '*';
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings.map((f) => [f.ruleId, f.severity, f.job, f.location.line, f.location.column])).toEqual([
      ['secret-variable-unscoped', 'warning', 'deploy', 8, 16],
    ]);
    expect(r.findings[0]?.message).toMatch(/`DEPLOY_TOKEN`.*scope it to `production`/);
  });

  it('protected environments: missing protection (error), staging (warning), approvals by option', async () => {
    safeSetup();
    project.protectedEnvironments = [];
    let r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings.map((f) => [f.ruleId, f.severity, f.location.line, f.location.column])).toEqual([['deploy-environment-unprotected', 'error', 8, 16]]);
    expect(r.findings[0]?.message).toMatch(/`production`, which is not protected in this project/);

    r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE.replace('environment: production', 'environment: staging').replace('ci-deploy-prod', 'ci-deploy-staging')), policy: builtinPolicy() });
    expect(r.findings.filter((f) => f.ruleId === 'deploy-environment-unprotected').map((f) => f.severity)).toEqual(['warning']);

    project.protectedEnvironments = [{ name: 'production', deploy_access_levels: [{ access_level: 40 }], required_approval_count: 0 }];
    const policy = builtinPolicy();
    policy.rules['deploy-environment-unprotected'] = { severity: 'error', options: { requireApprovalFor: ['production'] } };
    r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy });
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringMatching(/requires no approval/)]);
    r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings).toEqual([]);
  });

  it('project settings that widen the boundary', async () => {
    safeSetup();
    project.ciSettings = {
      ci_allow_fork_pipelines_to_run_in_parent_project: true,
      restrict_user_defined_variables: false,
      ci_pipeline_variables_minimum_override_role: 'maintainer',
      ci_separated_caches: false,
      ci_forward_deployment_enabled: false,
    };
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings.map((f) => [f.ruleId, f.severity, f.location.line, f.location.column])).toEqual([
      ['fork-pipelines-in-parent', 'warning', 1, 1],
      ['pipeline-variables-unrestricted', 'warning', 1, 1],
      ['forward-deployment-disabled', 'warning', 8, 16],
      ['separated-caches-disabled', 'error', 10, 10],
    ]);
    expect(JSON.stringify(r)).not.toContain('GR1348941'); // runners_token in GET /projects/:id is dropped
  });

  it('policy can turn a live rule off and exceptions suppress live findings', async () => {
    safeSetup();
    gl.addRunner(null, { description: 'shared-docker', tag_list: ['ci-deploy-prod'], run_untagged: false });
    const policy = builtinPolicy();
    policy.rules['deploy-runner-serves-untrusted'] = { severity: 'off', options: {} };
    policy.exceptions.push({ rule: 'deploy-runner-unprotected', job: 'deploy', reason: 'migration', expires: '2099-01-01' });
    const r = await runLiveChecks(api, { projectId: project.id, evaluation: await evaluate(PIPELINE), policy });
    expect(r.findings.map((f) => [f.ruleId, f.blocking, f.suppressed?.reason])).toEqual([['deploy-runner-unprotected', false, 'migration']]);
  });

  it('caches per project for the TTL: a second evaluation costs no API call', async () => {
    safeSetup();
    let t = 1_000;
    const cache = new LiveCache({ ttlMs: 30_000 });
    const evaluation = await evaluate(PIPELINE);
    const run = () => runLiveChecks(api, { projectId: project.id, evaluation, policy: builtinPolicy() }, { cache, now: () => t });
    await run();
    const first = gl.requests.length;
    expect(first).toBeGreaterThan(0);
    t += 29_000;
    await run();
    expect(gl.requests.length).toBe(first);
    t += 2_000;
    await run();
    expect(gl.requests.length).toBe(first * 2);
  });

  it('connectLive (CLI) resolves the project by path to its id, which the live checks then use', async () => {
    gl.addRunner(null, { description: 'shared-docker', tag_list: ['ci-deploy-prod'], run_untagged: false });
    const access = await connectLive({ gitlabUrl: gl.url, token: gl.token, project: 'acme/web/app' });
    expect(access.projectId).toBe(project.id);
    const r = await runLiveChecks(access.api, { projectId: access.projectId, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() }, { cache: access.cache });
    expect(r.findings.map((f) => f.ruleId)).toContain('deploy-runner-unprotected');
    expect(gl.requests.every((q) => q.authenticated)).toBe(true);
    await expect(connectLive({ gitlabUrl: gl.url, token: '', project: 'acme/web/app' })).rejects.toThrow(/GITLAB_TOKEN/);
  });
});
