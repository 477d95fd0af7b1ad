/**
 * The audit scenario: group `acme` with a subgroup, five projects worth auditing (plus an archived
 * one and one without CI), and runners of every kind — a mixed-trust group runner, a protected
 * deploy runner, a privileged build runner reachable from merge requests, a general group runner
 * and an instance runner — and a project whose deploy job has no protected environment.
 */
import { builtinPolicy } from '../../src/policy/defaults.js';
import type { AuditReport } from '../../src/audit/types.js';
import { runAudit, type AuditOptions } from '../../src/audit/run.js';
import { startFakeGitLabOrg, type FakeGitLabOrg } from '../support/fake-gitlab-org.js';

export type Tags = Record<string, string[]>;
const t = (tags: string[] | undefined) => (tags && tags.length ? `\n  tags: [${tags.join(', ')}]` : '');
const MR = '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"';
const MAIN = '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH';
const PROTECTED = '    - if: $CI_COMMIT_REF_PROTECTED == "true"';

/** Each project's `.gitlab-ci.yml`, from the tags of its jobs (what the plan re-tags) and re-ruled jobs. */
export const pipelines = {
  web: (tags: Tags = {}) =>
    `lint:\n  script: npm run lint${t(tags.lint)}\n  rules:\n${MR}\n${MAIN}\n\ndeploy:\n  stage: deploy\n  script: ./deploy.sh "$DEPLOY_TOKEN"\n  environment: production${t(tags.deploy ?? ['docker'])}\n  rules:\n${MAIN}\n`,
  api: (tags: Tags = {}) =>
    `test:\n  script: go test ./...${t(tags.test)}\n  rules:\n${MR}\n${MAIN}\n\ndeploy-prod:\n  stage: deploy\n  script: helm upgrade api ./chart --set token="$KUBE_TOKEN"\n  environment:\n    name: production${t(tags['deploy-prod'])}\n  rules:\n${MAIN}\n`,
  images: (tags: Tags = {}, rerule: string[] = []) =>
    `test:\n  script: make test${t(tags.test)}\n  rules:\n${MR}\n${MAIN}\n\nbuild-image:\n  image: docker:27-cli\n  services: [docker:27-dind]\n  script: docker build -t app .${t(tags['build-image'] ?? ['dind'])}\n  rules:\n${rerule.includes('build-image') ? PROTECTED : `${MR}\n${MAIN}`}\n`,
  payments: (tags: Tags = {}) =>
    `unit:\n  script: mvn test${t(tags.unit ?? ['ci-general'])}\n  rules:\n${MR}\n${MAIN}\n\ndeploy:\n  stage: deploy\n  script: ./release.sh\n  environment: production${t(tags.deploy ?? ['ci-deploy-prod'])}\n  rules:\n${MAIN}\n`,
} as const;

export const RUNNER_TOML = (privileged: boolean) => `concurrent = 4

[[runners]]
  name = "docker-build"
  url = "https://gitlab.example.com"
  executor = "docker"
  [runners.docker]
    image = "alpine:3.20"
    privileged = ${privileged}
    pull_policy = ["always"]
`;

export interface Scenario {
  gl: FakeGitLabOrg;
  ids: { web: number; api: number; images: number; payments: number; docs: number; old: number };
  runners: { instance: number; mixed: number; build: number; deploy: number; general: number };
}

export async function startScenario(): Promise<Scenario> {
  const gl = await startFakeGitLabOrg();
  gl.addGroup('acme');
  gl.addGroup('acme/platform');
  const web = gl.addProject({ path: 'acme/web', files: { '.gitlab-ci.yml': pipelines.web() } });
  const api = gl.addProject({ path: 'acme/api', files: { '.gitlab-ci.yml': pipelines.api() } });
  const images = gl.addProject({ path: 'acme/platform/images', files: { '.gitlab-ci.yml': pipelines.images() } });
  const payments = gl.addProject({ path: 'acme/payments', files: { '.gitlab-ci.yml': pipelines.payments() } });
  const docs = gl.addProject({ path: 'acme/docs', files: { 'README.md': '# docs\n' } });
  const old = gl.addProject({ path: 'acme/old', archived: true, files: { '.gitlab-ci.yml': 'deploy:\n  script: x\n  environment: production\n' } });
  for (const p of [web, api]) p.protectedEnvironments.push({ name: 'production', deploy_access_levels: [{ access_level: 40 }] });
  const instance = gl.addInstanceRunner({ description: 'shared-instance', run_untagged: true }).id;
  const mixed = gl.addGroupRunner('acme', { description: 'shared-docker', tag_list: ['docker'], run_untagged: true }).id;
  const general = gl.addGroupRunner('acme', { description: 'general-k8s', tag_list: ['ci-general'], run_untagged: false }).id;
  const build = gl.addGroupRunner('acme/platform', { description: 'docker-build', tag_list: ['dind'], run_untagged: false }).id;
  const deploy = gl.addProjectRunner(payments.id, { description: 'deploy-prod', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'ref_protected' }).id;
  return { gl, ids: { web: web.id, api: api.id, images: images.id, payments: payments.id, docs: docs.id, old: old.id }, runners: { instance, mixed, build, deploy, general } };
}

export function auditOf(s: Scenario, extra: Partial<AuditOptions> = {}): Promise<AuditReport> {
  return runAudit({
    gitlabUrl: s.gl.url,
    token: s.gl.token,
    group: 'acme',
    policy: builtinPolicy(),
    runnerConfigs: [{ file: 'runners/build.toml', text: RUNNER_TOML(true) }],
    toolVersion: '0.0.0-test',
    retry: { retries: 1, baseMs: 1, maxMs: 2 },
    now: () => new Date('2026-12-04T12:00:00Z'),
    ...extra,
  });
}
