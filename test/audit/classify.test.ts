/** Runner placement and classification on hand-built inventories (no GitLab). */
import { describe, expect, it } from 'vitest';
import { availableRunners, classify, declaredTier } from '../../src/audit/classify.js';
import type { AuditJob, AuditProject, AuditRunner } from '../../src/audit/types.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import type { ContextId } from '../../src/rules/types.js';

const policy = builtinPolicy();
const ALL: ContextId[] = ['mr-fork', 'mr', 'branch', 'unprotected-tag', 'web-unprotected', 'default-branch', 'protected-branch', 'protected-tag', 'schedule'];

const runner = (id: number, over: Partial<AuditRunner> = {}): AuditRunner => ({
  id,
  description: `runner-${id}`,
  kind: 'group',
  tags: [],
  runUntagged: true,
  accessLevel: 'not_protected',
  paused: false,
  locked: false,
  maximumTimeout: null,
  contactedAt: null,
  version: null,
  platform: null,
  detailsReadable: true,
  seenIn: ['group:g'],
  config: null,
  ...over,
});
const job = (name: string, over: Partial<AuditJob> = {}): AuditJob => ({ name, file: '.gitlab-ci.yml', line: 1, column: 1, tags: [], contexts: ['mr', 'default-branch'], deploy: null, secrets: [], privileged: false, ...over });
const project = (path: string, jobs: AuditJob[], over: Partial<AuditProject> = {}): AuditProject => ({
  id: 1,
  path,
  namespace: 'g',
  webUrl: '',
  defaultBranch: 'main',
  ciFile: '.gitlab-ci.yml',
  status: 'audited',
  sharedRunnersEnabled: true,
  groupRunnersEnabled: true,
  runnerIds: [],
  protectedEnvironments: null,
  protectedBranches: null,
  protectedTags: null,
  jobs,
  findings: [],
  notes: [],
  skipped: [],
  ...over,
});
const run = (runners: AuditRunner[], projects: AuditProject[], instance: number[] = []) =>
  classify({ runners, projects, groupRunners: { g: runners.filter((r) => r.kind === 'group').map((r) => r.id) }, instanceRunners: instance, policy });

describe('placement (GitLab runner matching)', () => {
  it('keeps protected runners away from unprotected contexts, and untagged jobs off run_untagged=false runners', () => {
    const c = run(
      [runner(1, { accessLevel: 'ref_protected', tags: ['a'], runUntagged: false }), runner(2, { tags: ['a'], runUntagged: false }), runner(3)],
      [project('g/p', [job('tagged', { tags: ['a'], contexts: ALL }), job('untagged', { contexts: ALL })])],
    );
    expect(c.placements.get(1)!.map((p) => [p.job.name, p.contexts])).toEqual([['tagged', ['default-branch', 'protected-branch', 'protected-tag', 'schedule']]]);
    expect(c.placements.get(2)!.map((p) => [p.job.name, p.contexts.length])).toEqual([['tagged', 9]]);
    expect(c.placements.get(3)!.map((p) => p.job.name)).toEqual(['untagged']);
  });

  it('honours the project settings, paused runners and unreadable details', () => {
    const rs = [runner(1), runner(2, { kind: 'instance' }), runner(3, { paused: true }), runner(4, { detailsReadable: false })];
    const off = project('g/p', [job('j')], { groupRunnersEnabled: false, sharedRunnersEnabled: false });
    expect(availableRunners(off, { groupRunners: { g: [1, 3, 4] }, instanceRunners: [2] })).toEqual([]);
    const c = run(rs, [project('g/p', [job('j')])], [2]);
    expect([...c.placements.keys()].sort()).toEqual([1, 2]);
  });

  it('reads the tier hint from the name, then the tags, then the runner type', () => {
    expect(declaredTier(runner(1, { description: 'prod-deploy-1', tags: ['ci-deploy-staging'] }), policy)).toBe('deploy-staging');
    expect(declaredTier(runner(1, { description: 'image-builder' }), policy)).toBe('build');
    expect(declaredTier(runner(1, { description: 'x', tags: ['ci-general'] }), policy)).toBe('general');
    expect(declaredTier(runner(1, { description: 'x', kind: 'instance' }), policy)).toBe('general');
    expect(declaredTier(runner(1, { description: 'x', tags: ['docker'] }), policy)).toBe('unknown');
  });
});

describe('classification', () => {
  it('flags a shell runner shared by several projects, and proposes another executor', () => {
    const shell = runner(1, { config: { file: 'c.toml', name: 'runner-1', matchedBy: 'name', executor: 'shell', privileged: false, findings: [] } });
    const c = run([shell], [project('g/a', [job('a')]), { ...project('g/b', [job('b')]), id: 2 }]);
    expect(c.problems.map((p) => [p.kind, p.severity])).toEqual([['shared-host-state', 'error']]);
    expect(c.problems[0]?.evidence[0]?.detail).toContain('executor = "shell"');
    expect(c.plan.runners[0]?.changes).toEqual([{ setting: 'executor', from: 'shell', to: 'docker', where: 'config' }]);
    // One project on its own project runner: nothing is shared.
    const own = run([{ ...shell, kind: 'project', seenIn: ['project:g/a'] }], [project('g/a', [job('a')], { runnerIds: [1] })]);
    expect(own.problems).toEqual([]);
  });

  it('flags persistent builds on a shared runner as a warning', () => {
    const r = runner(1, { config: { file: 'c.toml', name: 'runner-1', matchedBy: 'id', executor: 'docker', privileged: false, findings: [{ ruleId: 'runner-persistent-builds', severity: 'warning', message: 'builds_dir on a host volume', line: 7, column: 3 }] } });
    const c = run([r], [project('g/a', [job('a')])]);
    expect(c.problems.map((p) => [p.kind, p.severity, p.evidence[0]?.line])).toEqual([['shared-host-state', 'warning', 7]]);
  });

  it('flags deploy jobs that run for merge requests and refs GitLab does not protect', () => {
    const deploy = job('release', { tags: ['ci-deploy-prod'], contexts: ['mr', 'default-branch', 'protected-tag'], deploy: { tier: 'production', environment: 'production' } });
    const c = run(
      [runner(1, { description: 'deploy-prod', tags: ['ci-deploy-prod'], runUntagged: false, accessLevel: 'ref_protected' })],
      [project('g/p', [deploy], { protectedEnvironments: ['production'], protectedBranches: [], protectedTags: ['release-*'] })],
    );
    expect(c.problems.map((p) => p.kind)).toEqual(['deploy-reachable-from-untrusted', 'protected-ref-missing', 'protected-ref-missing']);
    expect(c.plan.projects[0]?.actions.map((a) => [a.kind, 'ref' in a ? a.ref : ''])).toEqual([
      ['rerule', ''],
      ['protect-branch', 'main'],
      ['protect-tag', 'v*'],
    ]);
  });

  it('warns about secret-bearing protected jobs on a general runner that merge requests reach', () => {
    const c = run([runner(1, { tags: ['ci-general'], runUntagged: false })], [project('g/p', [job('publish', { tags: ['ci-general'], contexts: ['default-branch'], secrets: ['NPM_TOKEN'] }), job('lint', { tags: ['ci-general'], contexts: ['mr'] })])]);
    expect(c.problems.map((p) => [p.kind, p.severity])).toEqual([['mixed-trust', 'warning']]);
    expect(c.plan.projects[0]?.actions).toMatchObject([{ kind: 'retag', job: 'publish', to: ['ci-build'] }]);
  });

  it('gives problems ids that do not depend on the order or the wording', () => {
    const inv = () => [runner(7, { kind: 'instance' })];
    const p = project('g/p', [job('d', { contexts: ['default-branch'], deploy: { tier: 'production', environment: 'prod' } })]);
    const a = run(inv(), [p], [7]);
    const b = run(inv(), [{ ...p, jobs: [job('other'), ...p.jobs] }], [7]);
    expect(a.problems.map((x) => x.id)).toEqual(b.problems.map((x) => x.id));
  });
});
