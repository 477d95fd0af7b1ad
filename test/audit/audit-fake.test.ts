/** `runAudit` end to end against the fake GitLab (test/support/fake-gitlab-org.ts). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../src/audit/types.js';
import { RUNNER_TOML, auditOf, pipelines, startScenario, type Scenario, type Tags } from './scenario.js';
import { defined } from '../support/defined.js';

/** Apply every change the plan proposes: runner settings through PUT /runners/:id, config files, YAML, protections. */
async function applyPlan(s: Scenario, report: AuditReport): Promise<{ runnerToml: string }> {
  let privileged = true;
  for (const rp of report.plan.runners) {
    for (const c of rp.changes) {
      if (c.where === 'config') {
        if (c.setting === 'privileged') privileged = c.to as boolean;
        continue;
      }
      const res = await fetch(`${s.gl.url}/api/v4/runners/${rp.runner}`, {
        method: 'PUT',
        headers: { 'private-token': s.gl.token, 'content-type': 'application/json' },
        body: JSON.stringify({ [c.setting]: c.to }),
      });
      expect(res.status, `PUT /runners/${rp.runner} ${c.setting}`).toBe(200);
    }
  }
  const tags: Record<string, Tags> = { web: {}, api: {}, images: {}, payments: {} };
  const rerule: string[] = [];
  const key = (project: string) => project.split('/').pop() as keyof typeof pipelines;
  for (const pp of report.plan.projects) {
    for (const a of pp.actions) {
      if (a.kind === 'retag') defined(tags[key(pp.project)], pp.project)[a.job] = a.to;
      else if (a.kind === 'rerule') rerule.push(a.job);
      else if (a.kind === 'protect-environment') {
        const p = [...s.gl.base.state.projects.values()].find((x) => x.pathWithNamespace === pp.project)!;
        p.protectedEnvironments.push({ name: a.environment, deploy_access_levels: [{ access_level: 40 }] });
      } else throw new Error(`unexpected action ${a.kind}`);
    }
  }
  s.gl.base.addCommit(s.ids.web, { '.gitlab-ci.yml': pipelines.web(tags.web) }, 'main');
  s.gl.base.addCommit(s.ids.api, { '.gitlab-ci.yml': pipelines.api(tags.api) }, 'main');
  s.gl.base.addCommit(s.ids.images, { '.gitlab-ci.yml': pipelines.images(tags.images, rerule) }, 'main');
  s.gl.base.addCommit(s.ids.payments, { '.gitlab-ci.yml': pipelines.payments(tags.payments) }, 'main');
  return { runnerToml: RUNNER_TOML(privileged) };
}

describe('tierguard audit against a fake GitLab group', () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await startScenario();
  });
  afterEach(async () => {
    await s.gl.close();
  });

  it('inventories every kind of runner and every live project of the group, recursively', async () => {
    const r = await auditOf(s);
    expect(r.runners.map((x) => [x.id, x.kind, x.description])).toEqual([
      [s.runners.instance, 'instance', 'shared-instance'],
      [s.runners.mixed, 'group', 'shared-docker'],
      [s.runners.general, 'group', 'general-k8s'],
      [s.runners.build, 'group', 'docker-build'],
      [s.runners.deploy, 'project', 'deploy-prod'],
    ]);
    const deploy = r.runners.find((x) => x.id === s.runners.deploy)!;
    expect(deploy).toMatchObject({ accessLevel: 'ref_protected', runUntagged: false, tags: ['ci-deploy-prod'], version: '17.6.0', seenIn: ['project:acme/payments'] });
    expect(r.runners.find((x) => x.id === s.runners.build)!.config).toMatchObject({ file: 'runners/build.toml', matchedBy: 'name', executor: 'docker', privileged: true });
    expect(r.projects.map((p) => [p.path, p.status])).toEqual([
      ['acme/web', 'audited'],
      ['acme/api', 'audited'],
      ['acme/platform/images', 'audited'],
      ['acme/payments', 'audited'],
      ['acme/docs', 'no-ci'],
    ]);
    expect(r.projects.some((p) => p.path === 'acme/old')).toBe(false);
    expect(r.summary.projects).toEqual({ total: 5, audited: 4, noCi: 1, errors: 0 });
    expect(r.skipped).toEqual([]);
    // Placement per trust context: the protected deploy runner takes only payments' deploy job.
    expect(r.runners.find((x) => x.id === s.runners.deploy)!.assessment).toMatchObject({ declaredTier: 'deploy-production', proposedTier: 'deploy-production', jobs: 1, reach: { untrusted: 0, mr: 0, deployProduction: 1 } });
  });

  it('names each problem with its evidence', async () => {
    const r = await auditOf(s);
    const kinds = r.problems.map((p) => [p.kind, p.runner ?? p.project]);
    expect(kinds).toEqual([
      ['deploy-environment-unprotected', 'acme/payments'],
      ['general-reaches-production', s.runners.instance],
      ['mixed-trust', s.runners.mixed],
      ['privileged-reachable-from-mr', s.runners.build],
    ]);
    const mixed = r.problems.find((p) => p.kind === 'mixed-trust')!;
    expect(mixed.message).toContain('"shared-docker"');
    expect(mixed.evidence).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ detail: expect.stringContaining('access_level is not_protected') }),
        expect.objectContaining({ project: 'acme/web', job: 'lint', context: 'mr', file: '.gitlab-ci.yml', line: 1 }),
        expect.objectContaining({ project: 'acme/web', job: 'deploy', context: 'default-branch', line: 7 }),
        expect.objectContaining({ project: 'acme/api', job: 'deploy-prod', context: 'default-branch' }),
      ]),
    );
    const general = r.problems.find((p) => p.kind === 'general-reaches-production')!;
    expect(general.evidence[0]).toMatchObject({ project: 'acme/api', job: 'deploy-prod', detail: expect.stringContaining('environment `production`') });
    const priv = r.problems.find((p) => p.kind === 'privileged-reachable-from-mr')!;
    expect(priv.evidence).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'runners/build.toml', line: 9, detail: expect.stringContaining('privileged = true') }),
        expect.objectContaining({ project: 'acme/platform/images', job: 'build-image', context: 'mr' }),
      ]),
    );
    const env = r.problems.find((p) => p.kind === 'deploy-environment-unprotected')!;
    expect(env).toMatchObject({ job: 'deploy', evidence: [{ project: 'acme/payments', line: 8, detail: expect.stringContaining('`production`') }] });
    // The protected deploy runner is fine.
    expect(r.problems.some((p) => p.runner === s.runners.deploy)).toBe(false);
  });

  it('proposes a plan whose changes, once applied, leave no problem (and the baseline shows the progress)', async () => {
    const before = await auditOf(s);
    expect(before.plan.runners.find((x) => x.runner === s.runners.mixed)).toMatchObject({
      tier: 'deploy-production',
      changes: [
        { setting: 'access_level', to: 'ref_protected', where: 'api' },
        { setting: 'run_untagged', to: false, where: 'api' },
        { setting: 'tag_list', from: ['docker'], to: ['docker', 'ci-deploy-prod'], where: 'api' },
      ],
    });
    expect(before.plan.runners.find((x) => x.runner === s.runners.build)).toMatchObject({ tier: 'build', changes: expect.arrayContaining([{ setting: 'access_level', from: 'not_protected', to: 'ref_protected', where: 'api' }]) });
    const actions = before.plan.projects.flatMap((p) => p.actions.map((a) => [p.project, a.kind, 'job' in a ? a.job : '']));
    expect(actions).toEqual([
      ['acme/api', 'retag', 'deploy-prod'],
      ['acme/payments', 'protect-environment', 'deploy'],
      ['acme/platform/images', 'rerule', 'build-image'],
      ['acme/web', 'retag', 'deploy'],
    ]);
    expect(before.plan.exceptions.map((e) => [e.runner, e.jobs.map((j) => j.job)])).toEqual([[s.runners.build, ['build-image']]]);

    const { runnerToml } = await applyPlan(s, before);
    const after = await auditOf(s, { baseline: before, runnerConfigs: [{ file: 'runners/build.toml', text: runnerToml }] });
    expect(after.problems).toEqual([]);
    expect(after.progress).toMatchObject({ baseline: { runId: before.runId }, remaining: 0, added: [] });
    expect(after.progress!.resolved.map((p) => p.kind).sort()).toEqual(['deploy-environment-unprotected', 'general-reaches-production', 'mixed-trust', 'privileged-reachable-from-mr']);
    // The fixed deploy runner now takes deploy jobs only, on protected refs.
    expect(after.runners.find((x) => x.id === s.runners.mixed)!.assessment).toMatchObject({ proposedTier: 'deploy-production', reach: { untrusted: 0, mr: 0, deployProduction: 3 } });
  });

  it('reports the reads a Maintainer cannot make as skipped, never as "no runners"', async () => {
    s.gl.setGroupRole('acme', s.gl.base.botUser.id, 40);
    const r = await auditOf(s);
    expect(r.skipped.map((x) => x.what)).toEqual(
      expect.arrayContaining([
        'group runners of acme (GET /groups/:id/runners, group Owner)',
        'group runners of acme/platform (GET /groups/:id/runners, group Owner)',
        expect.stringContaining('instance runners'),
      ]),
    );
    const reads = r.skipped.filter((x) => x.what.includes('GET'));
    expect(reads).toHaveLength(3);
    expect(reads.every((x) => x.reason === 'the token lacks the role (403)')).toBe(true);
    // The build runner is unknown to this token, so its config file matches nothing, and says so.
    expect(r.skipped).toContainEqual({ what: 'runner configuration', reason: expect.stringContaining('"docker-build" matches no runner') });
    // Only the project runner remains visible (a Maintainer of its project may list it).
    expect(r.runners.map((x) => x.id)).toEqual([s.runners.deploy]);
    expect(s.gl.requests.filter((q) => q.path === '/groups/acme/runners').map((q) => q.status)).toEqual([403, 403]);
  });

  it('lists instance runners through GET /runners/all only as an administrator', async () => {
    s.gl.admins.add(s.gl.base.botUser.id);
    await auditOf(s);
    expect(s.gl.requests.filter((q) => q.path === '/runners/all').map((q) => [q.query.type, q.status])).toEqual([['instance_type', 200]]);
    s.gl.admins.clear();
    s.gl.requests.length = 0;
    await auditOf(s);
    expect(s.gl.requests.some((q) => q.path === '/runners/all')).toBe(false);
    expect(s.gl.requests.filter((q) => q.path === '/groups/acme/runners').map((q) => q.query.type).sort()).toEqual(['group_type', 'instance_type']);
  });

  it('honours --include/--exclude patterns', async () => {
    const r = await auditOf(s, { include: ['acme/*'], exclude: ['platform/*', 'acme/docs'] });
    expect(r.projects.map((p) => p.path)).toEqual(['acme/web', 'acme/api', 'acme/payments']);
  });

  it('resumes an interrupted run from its state file without reading finished projects again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tg-audit-'));
    const state = path.join(dir, 'state.jsonl');
    try {
      // The fourth project's CI file fails for good (500 on every retry): the run stops.
      s.gl.base.failNext(`GET /projects/${s.ids.payments}/repository/files/.gitlab-ci.yml/raw`, { status: 500, count: 2 });
      await expect(auditOf(s, { statePath: state, concurrency: 1 })).rejects.toThrow(/500/);
      const lines = readFileSync(state, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; project?: { path: string } });
      expect(lines.filter((l) => l.kind === 'project').map((l) => l.project!.path)).toEqual(['acme/web', 'acme/api', 'acme/platform/images']);
      s.gl.requests.length = 0;
      const r = await auditOf(s, { statePath: state, concurrency: 1 });
      expect(r.stats.resumedProjects).toBe(3);
      expect(r.runId).toBe((lines[0] as unknown as { runId: string }).runId);
      const rawReads = s.gl.requests.filter((q) => q.path.endsWith('/raw')).map((q) => q.path);
      expect(rawReads).toEqual([`/projects/${s.ids.payments}/repository/files/.gitlab-ci.yml/raw`, `/projects/${s.ids.docs}/repository/files/.gitlab-ci.yml/raw`]);
      expect(r.problems).toHaveLength(4);
      // A finished state is not resumed: the next run starts afresh with a new run id.
      const again = await auditOf(s, { statePath: state });
      expect(again.stats.resumedProjects).toBe(0);
      expect(again.runId).not.toBe(r.runId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits out a 429 with Retry-After for the whole run, and reads each runner once', async () => {
    s.gl.base.failNext(`GET /projects/${s.ids.web}/repository/files/.gitlab-ci.yml/raw`, { status: 429, retryAfter: 1 });
    const r = await auditOf(s, { retry: { retries: 2, baseMs: 1, maxMs: 2 } });
    expect(r.stats.rateLimitedMs).toBeGreaterThanOrEqual(1000);
    expect(r.problems).toHaveLength(4);
    const details = s.gl.requests.filter((q) => /^\/runners\/\d+$/.test(q.path)).map((q) => q.path);
    expect(details).toHaveLength(new Set(details).size);
  });

  it('reads a template shared by several projects once per run', async () => {
    s.gl.addProject({ path: 'acme/ci-templates', files: { 'templates/lint.yml': 'shared-lint:\n  script: lint\n  tags: [ci-general]\n' } });
    const include = "include:\n  - project: acme/ci-templates\n    file: templates/lint.yml\n";
    for (const name of ['one', 'two', 'three']) s.gl.addProject({ path: `acme/svc-${name}`, files: { '.gitlab-ci.yml': include } });
    const r = await auditOf(s);
    const svc = r.projects.filter((p) => p.path.startsWith('acme/svc-'));
    expect(svc.map((p) => p.jobs.map((j) => j.name))).toEqual([['shared-lint'], ['shared-lint'], ['shared-lint']]);
    const reads = s.gl.requests.filter((q) => q.path.includes('/repository/files/templates%2Flint.yml/raw'));
    expect(reads).toHaveLength(1);
  });
});
