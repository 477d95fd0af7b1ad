import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { LiveCache, runLiveChecks } from '../../src/live/index.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { PIPELINE, evaluate } from './helpers.js';

const URL_ = 'https://gitlab.example.com';
const TOKEN = 'glpat-LiveChecksToken123';
const gitlab = () => nock(URL_, { reqheaders: { 'private-token': TOKEN } });
const api = () => createGitLabApi({ url: URL_, token: TOKEN, retry: { retries: 0 }, sleep: async () => {} });

const runnerJson = (id: number, over: Record<string, unknown>) => ({
  id,
  description: `runner-${id}`,
  paused: false,
  is_shared: false,
  runner_type: 'project_type',
  tag_list: [],
  run_untagged: false,
  access_level: 'ref_protected',
  ...over,
});

/** GET /projects/:id with the CI settings a Maintainer sees (lib/api/entities/project.rb). */
const projectJson = (over: Record<string, unknown> = {}) => ({
  id: 7,
  path_with_namespace: 'acme/app',
  namespace: { full_path: 'acme', kind: 'group' },
  default_branch: 'main',
  web_url: `${URL_}/acme/app`,
  shared_runners_enabled: true,
  group_runners_enabled: true,
  ci_allow_fork_pipelines_to_run_in_parent_project: false,
  restrict_user_defined_variables: true,
  ci_pipeline_variables_minimum_override_role: 'no_one_allowed',
  ci_separated_caches: true,
  ci_forward_deployment_enabled: true,
  runners_token: 'GR1348941-do-not-read',
  ...over,
});

function mockProjectReads(runners: Record<string, unknown>[], opts: { variablesStatus?: number } = {}): void {
  const g = gitlab();
  g.get('/api/v4/projects/7').query(true).reply(200, projectJson()).persist();
  g.get('/api/v4/projects/7/runners').query(true).reply(200, runners.map((r) => ({ id: r.id, description: r.description }))).persist();
  for (const r of runners) g.get(`/api/v4/runners/${String(r.id)}`).reply(200, r).persist();
  g.get('/api/v4/projects/7/protected_environments').query(true).reply(200, [{ name: 'production', deploy_access_levels: [{ access_level: 40 }], required_approval_count: 1 }]).persist();
  if (opts.variablesStatus) g.get('/api/v4/projects/7/variables').query(true).reply(opts.variablesStatus, { message: `${opts.variablesStatus} Forbidden` }).persist();
  else g.get('/api/v4/projects/7/variables').query(true).reply(200, [{ key: 'DEPLOY_TOKEN', value: 'value-from-nock-never-shown', protected: true, masked: true, environment_scope: 'production' }]).persist();
  g.get('/api/v4/groups/acme/variables').query(true).reply(200, []).persist();
  g.get('/api/v4/projects/7/protected_branches').query(true).reply(200, [{ id: 1, name: 'main' }]).persist();
  g.get('/api/v4/projects/7/protected_tags').query(true).reply(200, [{ name: 'v*' }]).persist();
}

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('runLiveChecks over HTTP (nock)', () => {
  it('flags the unprotected shared runner that carries the deploy tag, naming it', async () => {
    mockProjectReads([
      runnerJson(1, { description: 'deploy-prod', tag_list: ['ci-deploy-prod'] }),
      runnerJson(2, { description: 'k8s-shared', tag_list: ['ci-deploy-prod', 'k8s'], access_level: 'not_protected', is_shared: true, runner_type: 'instance_type' }),
    ]);
    const r = await runLiveChecks(api(), { projectId: 7, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings.map((f) => [f.ruleId, f.job, f.location.line, f.location.column])).toEqual([
      ['deploy-runner-unprotected', 'deploy', 9, 9],
    ]);
    expect(r.findings[0]?.message).toContain('runner #2 "k8s-shared" (instance, not protected)');
    expect(r.skipped).toEqual([]);
    expect(JSON.stringify(r)).not.toContain('value-from-nock-never-shown');
    expect(JSON.stringify(r)).not.toContain('GR1348941');
  });

  it('the same runners fixed (runner 2 protected): nothing to report', async () => {
    mockProjectReads([
      runnerJson(1, { description: 'deploy-prod', tag_list: ['ci-deploy-prod'] }),
      runnerJson(2, { description: 'k8s-shared', tag_list: ['ci-deploy-prod', 'k8s'], is_shared: true, runner_type: 'instance_type' }),
    ]);
    const r = await runLiveChecks(api(), { projectId: 7, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings).toEqual([]);
    expect(r.skipped).toEqual([]);
  });

  it('a 403 on variables skips the variable checks only (reported, never passed)', async () => {
    mockProjectReads([runnerJson(1, { description: 'deploy-prod', tag_list: ['ci-deploy-prod'] })], { variablesStatus: 403 });
    const r = await runLiveChecks(api(), { projectId: 7, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() });
    expect(r.findings).toEqual([]);
    expect(r.skipped.map((s) => s.check)).toEqual(['unprotected-secret-variable', 'secret-variable-unscoped']);
    expect(r.skipped[0]?.reason).toMatch(/403/);
  });

  it('a 5xx is reported as skipped with the error, and is not cached as an answer', async () => {
    gitlab().get('/api/v4/projects/7/runners').query(true).reply(502, { message: 'bad gateway' });
    gitlab().get('/api/v4/projects/7/runners').query(true).reply(200, []);
    gitlab().get('/api/v4/projects/7').query(true).reply(200, projectJson()).persist();
    const rules = [(await import('../../src/live/rules/deploy-runner-unprotected.js')).default];
    const cache = new LiveCache({ ttlMs: 60_000 });
    const input = { projectId: 7, evaluation: await evaluate(PIPELINE), policy: builtinPolicy() };
    const first = await runLiveChecks(api(), input, { rules, cache, now: () => 0 });
    expect(first.skipped).toEqual([expect.objectContaining({ check: 'deploy-runner-unprotected', reason: expect.stringMatching(/GitLab could not be read: .*502/) })]);
    const second = await runLiveChecks(api(), input, { rules, cache, now: () => 1 });
    expect(second.skipped).toEqual([]);
    expect(nock.isDone()).toBe(true);
  });
});
