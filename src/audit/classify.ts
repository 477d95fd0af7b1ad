/**
 * Which jobs land where, what that makes of each runner, and the plan that separates the tiers.
 *
 * Placement is GitLab's runner matching (src/live/runners.ts, after app/models/ci/runner.rb
 * `can_pick?` / `accepting_tags?` and `Ci::Runner#matches_build?`): a job lands on a runner that
 * is assignable to its project (project runners; group runners unless the project disabled them;
 * instance runners unless shared runners are off), whose tags cover the job's tags, that runs
 * untagged jobs when the job has none, and that is not `ref_protected` when the ref is not
 * protected. Each job is placed once per trust context it may run in: trusted contexts run on
 * protected refs, untrusted ones (merge requests, forks, unprotected branches and tags) do not.
 *
 * A runner's tier: the policy's name patterns and tier tags are a hint (`declaredTier`); what it
 * runs decides when the hint says nothing. The problems and the plan follow from the tier.
 */
import { createHash } from 'node:crypto';
import { canPick } from '../live/runners.js';
import type { GitLabRunner } from '../gitlab/types.js';
import type { Policy } from '../policy/types.js';
import { tagTier } from '../rules/deploy.js';
import { TRUSTED_CONTEXTS, UNTRUSTED_CONTEXTS, type ContextId } from '../rules/types.js';
import { globToRegExp, matchesAny } from '../util/glob.js';
import type {
  AuditJob,
  AuditPlan,
  AuditProblem,
  AuditProject,
  AuditRunner,
  AuditTier,
  Evidence,
  PrivilegedException,
  ProblemKind,
  ProjectAction,
  RunnerAssessment,
  RunnerPlan,
  SettingChange,
} from './types.js';

export interface ClassifyInput {
  runners: AuditRunner[];
  projects: AuditProject[];
  /** Group path → ids of the group runners its projects can use (the group's and its ancestors'). */
  groupRunners: Record<string, number[]>;
  instanceRunners: number[];
  /** The organisation policy (tiers, protected refs, runner name patterns). */
  policy: Policy;
}

interface Placement {
  project: AuditProject;
  job: AuditJob;
  contexts: ContextId[];
}

export interface Classification {
  assessments: Map<number, RunnerAssessment>;
  /** runner id → the jobs it can pick (with the contexts in which it can). */
  placements: Map<number, Placement[]>;
  problems: AuditProblem[];
  plan: AuditPlan;
}

const MR: readonly ContextId[] = ['mr', 'mr-fork'];
const isTrusted = (c: ContextId): boolean => TRUSTED_CONTEXTS.includes(c);
const isUntrusted = (c: ContextId): boolean => UNTRUSTED_CONTEXTS.includes(c);
const EVIDENCE_MAX = 8;

function asGitLabRunner(r: AuditRunner): GitLabRunner {
  return {
    id: r.id,
    description: r.description,
    tagList: r.tags,
    runUntagged: r.runUntagged,
    accessLevel: r.accessLevel,
    isShared: r.kind === 'instance',
    runnerType: r.kind === 'instance' ? 'instance_type' : r.kind === 'group' ? 'group_type' : 'project_type',
    paused: r.paused,
    locked: r.locked,
  };
}

/** Runner ids a project can use: its own, its group's (and ancestors'), the instance's. */
export function availableRunners(p: AuditProject, input: Pick<ClassifyInput, 'groupRunners' | 'instanceRunners'>): number[] {
  const ids = new Set<number>(p.runnerIds ?? []);
  if (p.groupRunnersEnabled !== false) {
    // The nearest group whose runner list was read (a subgroup's list includes its ancestors').
    const parts = p.namespace.split('/');
    for (let i = parts.length; i > 0; i--) {
      const list = input.groupRunners[parts.slice(0, i).join('/')];
      if (list) {
        for (const id of list) ids.add(id);
        break;
      }
    }
  }
  if (p.sharedRunnersEnabled !== false) for (const id of input.instanceRunners) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

export function declaredTier(r: AuditRunner, policy: Policy): AuditTier | 'unknown' {
  const name = r.description ?? r.config?.name ?? '';
  const byTags = tagTier(r.tags, policy);
  if (name && matchesAny(name, policy.runners.tiers.deploy)) return byTags === 'deploy-staging' ? 'deploy-staging' : 'deploy-production';
  if (name && matchesAny(name, policy.runners.tiers.build)) return 'build';
  if (byTags !== 'unknown') return byTags;
  if (r.kind === 'instance') return 'general';
  return 'unknown';
}

function problemId(kind: ProblemKind, parts: Array<string | number | undefined>): string {
  return createHash('sha256').update([kind, ...parts.map((p) => String(p ?? ''))].join('\u0000')).digest('hex').slice(0, 12);
}

const label = (r: AuditRunner): string => `runner #${r.id}${r.description ? ` "${r.description}"` : ''} (${r.kind}, ${r.accessLevel === 'ref_protected' ? 'protected' : 'not protected'})`;
const code = (xs: readonly string[]): string => (xs.length ? xs.map((x) => `\`${x}\``).join(', ') : 'none');
const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));
const subset = (a: readonly string[], b: readonly string[]): boolean => a.every((x) => b.includes(x));

function jobEvidence(pl: Placement, detail: string, prefer: (c: ContextId) => boolean = () => true): Evidence {
  const preferred = pl.contexts.filter(prefer);
  // `mr` reads better than `mr-fork` when both apply.
  const context = (preferred.includes('mr') ? 'mr' : preferred[0]) ?? pl.contexts[0];
  return { project: pl.project.path, job: pl.job.name, context, file: pl.job.file, line: pl.job.line, detail };
}

export function classify(input: ClassifyInput): Classification {
  const { policy } = input;
  const byId = new Map(input.runners.map((r) => [r.id, r]));
  const placements = new Map<number, Placement[]>();

  for (const p of input.projects) {
    if (p.status !== 'audited') continue;
    const avail = availableRunners(p, input)
      .map((id) => byId.get(id))
      .filter((r): r is AuditRunner => !!r && r.detailsReadable);
    const settings = { sharedRunnersEnabled: p.sharedRunnersEnabled, groupRunnersEnabled: p.groupRunnersEnabled };
    for (const job of p.jobs) {
      const on = new Map<number, ContextId[]>();
      for (const c of job.contexts) {
        for (const r of avail) {
          if (!canPick(asGitLabRunner(r), job.tags, { refProtected: isTrusted(c), settings })) continue;
          const list = on.get(r.id) ?? [];
          list.push(c);
          on.set(r.id, list);
        }
      }
      for (const [id, contexts] of on) {
        const list = placements.get(id) ?? [];
        list.push({ project: p, job, contexts });
        placements.set(id, list);
      }
    }
  }

  const problems: AuditProblem[] = [];
  const runnerPlans: RunnerPlan[] = [];
  const actions = new Map<string, ProjectAction[]>();
  const exceptions: PrivilegedException[] = [];
  const assessments = new Map<number, RunnerAssessment>();

  const addAction = (project: string, a: ProjectAction): void => {
    const list = actions.get(project) ?? [];
    const same = list.find((x) => x.kind === a.kind && x.job === a.job && JSON.stringify({ ...x, problems: [], why: '' }) === JSON.stringify({ ...a, problems: [], why: '' }));
    if (same) {
      for (const id of a.problems) if (!same.problems.includes(id)) same.problems.push(id);
      return;
    }
    // One re-tag per job: the first decision wins (a later runner cannot send it elsewhere).
    if (a.kind === 'retag' && list.some((x) => x.kind === 'retag' && x.job === a.job)) return;
    list.push(a);
    actions.set(project, list);
  };
  const report = (p: Omit<AuditProblem, 'id'>, idParts: Array<string | number | undefined>): AuditProblem => {
    const full: AuditProblem = { id: problemId(p.kind, idParts), ...p, evidence: p.evidence.slice(0, EVIDENCE_MAX) };
    problems.push(full);
    return full;
  };

  for (const r of input.runners) {
    const list = placements.get(r.id) ?? [];
    const declared = declaredTier(r, policy);
    const deployProd = list.filter((pl) => pl.job.deploy?.tier === 'production');
    const deployStaging = list.filter((pl) => pl.job.deploy?.tier === 'staging');
    const deploys = [...deployProd, ...deployStaging];
    const plain = list.filter((pl) => !pl.job.deploy);
    const untrusted = list.filter((pl) => pl.contexts.some(isUntrusted));
    const mr = list.filter((pl) => pl.contexts.some((c) => MR.includes(c)));
    const secret = plain.filter((pl) => pl.job.secrets.length > 0 && pl.contexts.some(isTrusted));
    const privJobs = list.filter((pl) => pl.job.privileged);
    const privileged = r.config?.privileged === true || privJobs.length > 0;
    let proposed: AuditTier;
    if (declared !== 'unknown') proposed = declared;
    else if (deployProd.length) proposed = 'deploy-production';
    else if (deployStaging.length) proposed = 'deploy-staging';
    else if (privileged) proposed = 'build';
    else proposed = 'general';
    assessments.set(r.id, {
      runner: r.id,
      declaredTier: declared,
      proposedTier: proposed,
      projects: new Set(list.map((pl) => pl.project.path)).size,
      jobs: list.length,
      reach: {
        untrusted: untrusted.length,
        mr: mr.length,
        deployProduction: deployProd.length,
        deployStaging: deployStaging.length,
        secret: secret.length,
        privileged: privJobs.length,
      },
    });
    if (r.paused || !r.detailsReadable) continue;

    const notProtected = r.accessLevel !== 'ref_protected';
    const changes: SettingChange[] = [];
    const ids: string[] = [];
    const change = (c: SettingChange) => {
      if (!changes.some((x) => x.setting === c.setting)) changes.push(c);
    };
    const generalTags = policy.tiers.general;
    const tierTagsOf = (t: 'production' | 'staging') => (t === 'production' ? policy.tiers.deploy.production : policy.tiers.deploy.staging);

    if (proposed === 'deploy-production' || proposed === 'deploy-staging') {
      const tierTags = tierTagsOf(proposed === 'deploy-production' ? 'production' : 'staging');
      const evidence: Evidence[] = [];
      if (notProtected) evidence.push({ detail: `access_level is not_protected: a merge request pipeline can route a job here with tags ${code(r.tags)}${r.runUntagged ? ' or none' : ''}` });
      if (r.runUntagged) evidence.push({ detail: 'run_untagged is on: every job without `tags:` may land here' });
      for (const pl of plain.slice(0, 5)) evidence.push(jobEvidence(pl, `\`${pl.job.name}\` (not a deploy job) lands here`, isUntrusted));
      if (evidence.length && deploys.length) {
        for (const pl of deploys.slice(0, 3)) evidence.push(jobEvidence(pl, `${pl.job.deploy!.tier} deploy job \`${pl.job.name}\`${pl.job.deploy!.environment ? ` (environment \`${pl.job.deploy!.environment}\`)` : ''} lands here`, isTrusted));
        const p = report(
          {
            kind: 'mixed-trust',
            severity: 'error',
            runner: r.id,
            message: `${label(r)} runs ${deploys.length} deploy job(s) and also ${plain.length ? `${plain.length} other job(s)${untrusted.length ? `, ${untrusted.length} of them from unprotected refs or merge requests` : ''}` : 'is open to jobs of lower trust'}: deploy credentials and lower-trust code share one runner.`,
            evidence,
          },
          [r.id],
        );
        ids.push(p.id);
        const taggedPlain = plain.filter((pl) => pl.job.tags.length > 0);
        const newTags = taggedPlain.length ? [...tierTags] : r.tags.some((t) => tierTags.includes(t)) ? r.tags : [...r.tags, ...tierTags];
        if (notProtected) change({ setting: 'access_level', from: r.accessLevel, to: 'ref_protected', where: 'api' });
        if (r.runUntagged) change({ setting: 'run_untagged', from: true, to: false, where: 'api' });
        if (!sameSet(newTags, r.tags)) change({ setting: 'tag_list', from: r.tags, to: newTags, where: 'api' });
        if (r.config?.privileged) change({ setting: 'privileged', from: true, to: false, where: 'config' });
        for (const pl of deploys) {
          const want = tierTagsOf(pl.job.deploy!.tier);
          if (!(pl.job.tags.length > 0 && subset(pl.job.tags, newTags) && subset(want, pl.job.tags))) {
            addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...want], why: `deploy job: route it to the ${pl.job.deploy!.tier} deploy tier`, problems: [p.id] });
          }
        }
        for (const pl of taggedPlain) {
          addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...generalTags], why: `not a deploy job: move it off ${label(r)} to the general tier`, problems: [p.id] });
        }
      }
    } else if (proposed === 'general') {
      const prodOrStaging = deployProd.length ? deployProd : deployStaging;
      if (prodOrStaging.length) {
        const tier = deployProd.length ? 'production' : 'staging';
        const evidence = prodOrStaging.slice(0, 5).map((pl) => jobEvidence(pl, `deploy job \`${pl.job.name}\`${pl.job.deploy!.environment ? ` (environment \`${pl.job.deploy!.environment}\`)` : ''} lands here with tags ${code(pl.job.tags)}`, isTrusted));
        if (untrusted.length) evidence.push(...untrusted.filter((pl) => !pl.job.deploy).slice(0, 3).map((pl) => jobEvidence(pl, `the same runner runs \`${pl.job.name}\` from unprotected refs or merge requests`, isUntrusted)));
        const p = report(
          {
            kind: 'general-reaches-production',
            severity: deployProd.length ? 'error' : 'warning',
            runner: r.id,
            message: `${label(r)}, a general-tier runner${declared === 'general' ? '' : ' by what it runs'}, picks ${prodOrStaging.length} ${tier} deploy job(s)${untrusted.length ? ` next to ${untrusted.length} job(s) from unprotected refs or merge requests` : ''}.`,
            evidence,
          },
          [r.id],
        );
        ids.push(p.id);
        for (const pl of deploys) {
          addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...tierTagsOf(pl.job.deploy!.tier)], why: `deploy job: route it to the ${pl.job.deploy!.tier} deploy tier, off ${label(r)}`, problems: [p.id] });
        }
        const tierTags = [...policy.tiers.deploy.production, ...policy.tiers.deploy.staging, ...policy.tiers.build];
        if (r.tags.some((t) => tierTags.includes(t))) change({ setting: 'tag_list', from: r.tags, to: r.tags.filter((t) => !tierTags.includes(t)), where: 'api' });
      }
      if (secret.length && (notProtected || untrusted.length)) {
        const evidence = secret.slice(0, 5).map((pl) => jobEvidence(pl, `\`${pl.job.name}\` uses ${code(pl.job.secrets)} on protected refs and lands here`, isTrusted));
        if (untrusted.length) evidence.push(...untrusted.slice(0, 3).map((pl) => jobEvidence(pl, `\`${pl.job.name}\` runs here from unprotected refs or merge requests`, isUntrusted)));
        else evidence.push({ detail: 'access_level is not_protected: merge request pipelines can reach it' });
        const p = report(
          { kind: 'mixed-trust', severity: 'warning', runner: r.id, message: `${label(r)} runs ${secret.length} secret-bearing job(s) of protected pipelines next to jobs of lower trust.`, evidence },
          [r.id, 'secrets'],
        );
        ids.push(p.id);
        for (const pl of secret) {
          addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...policy.tiers.build], why: `uses ${code(pl.job.secrets)}: run it on a protected runner`, problems: [p.id] });
        }
      }
    }

    // Privileged runners open to merge requests (any tier).
    if (privileged && notProtected) {
      const evidence: Evidence[] = [];
      if (r.config?.privileged) {
        const f = r.config.findings.find((x) => x.ruleId === 'runner-privileged');
        evidence.push({ file: r.config.file, line: f?.line, detail: `\`privileged = true\` in ${r.config.file} (runner "${r.config.name}")` });
      }
      for (const pl of mr.slice(0, 5)) evidence.push(jobEvidence(pl, `\`${pl.job.name}\` runs here in merge request pipelines${pl.job.privileged ? ' with Docker-in-Docker' : ''}`, (c) => MR.includes(c)));
      for (const pl of privJobs.filter((x) => !mr.includes(x)).slice(0, 3)) evidence.push(jobEvidence(pl, `\`${pl.job.name}\` needs a privileged runner (Docker-in-Docker service) and lands here`));
      evidence.push({ detail: `access_level is not_protected: any merge request job with tags ${code(r.tags)}${r.runUntagged ? ' (or none)' : ''} runs here` });
      const p = report(
        {
          kind: 'privileged-reachable-from-mr',
          severity: 'error',
          runner: r.id,
          message: `${label(r)} runs privileged containers and can be reached from merge request pipelines${mr.length ? ` (${mr.length} job(s) do so today)` : ''}: MR code gets root on the runner host.`,
          evidence,
        },
        [r.id],
      );
      ids.push(p.id);
      if (proposed === 'build' || proposed === 'deploy-production' || proposed === 'deploy-staging') {
        change({ setting: 'access_level', from: r.accessLevel, to: 'ref_protected', where: 'api' });
        if (r.runUntagged) change({ setting: 'run_untagged', from: true, to: false, where: 'api' });
        if (proposed === 'build') {
          const buildTags = policy.tiers.build;
          const taggedOther = list.filter((pl) => !pl.job.privileged && !pl.job.deploy && pl.job.tags.length > 0);
          const newTags = taggedOther.length ? [...buildTags] : r.tags.some((t) => buildTags.includes(t)) ? r.tags : [...r.tags, ...buildTags];
          if (!sameSet(newTags, r.tags)) change({ setting: 'tag_list', from: r.tags, to: newTags, where: 'api' });
          for (const pl of privJobs) {
            if (!(pl.job.tags.length > 0 && subset(pl.job.tags, newTags))) addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...buildTags], why: 'privileged build: route it to the build tier (protected refs only)', problems: [p.id] });
          }
          for (const pl of taggedOther) addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...policy.tiers.general], why: `does not need ${label(r)}: move it to the general tier`, problems: [p.id] });
        }
      } else {
        if (r.config?.privileged) change({ setting: 'privileged', from: true, to: false, where: 'config' });
        for (const pl of privJobs) addAction(pl.project.path, { kind: 'retag', job: pl.job.name, from: pl.job.tags, to: [...policy.tiers.build], why: 'privileged build: route it to the build tier (protected refs only)', problems: [p.id] });
      }
      for (const pl of privJobs.filter((x) => x.job.contexts.some(isUntrusted))) {
        addAction(pl.project.path, {
          kind: 'rerule',
          job: pl.job.name,
          why: 'a privileged build runs for merge requests and unprotected refs',
          suggestion: 'run it on protected refs only (`rules: - if: $CI_COMMIT_REF_PROTECTED == "true"`), and build merge request images rootless (kaniko, buildah) on the general tier',
          problems: [p.id],
        });
      }
    }
    if (privileged && (proposed === 'build' || r.config?.privileged)) {
      exceptions.push({
        runner: r.id,
        description: r.description,
        jobs: privJobs.map((pl) => ({ project: pl.project.path, job: pl.job.name, contexts: pl.contexts })),
        why: 'privileged containers (Docker-in-Docker): allowed only on a protected build-tier runner, each job reviewed',
      });
    }

    // Host state shared across projects: shell executors, persistent builds/caches.
    const hostState = r.config && (r.config.executor === 'shell' || r.config.findings.some((f) => f.ruleId === 'runner-persistent-builds' || f.ruleId === 'runner-shared-cache'));
    const projectsServed = new Set(list.map((pl) => pl.project.path));
    if (hostState && (r.kind !== 'project' || projectsServed.size > 1)) {
      const shell = r.config!.executor === 'shell';
      const evidence: Evidence[] = [];
      if (shell) evidence.push({ file: r.config!.file, detail: `executor = "shell" in ${r.config!.file} (runner "${r.config!.name}"): jobs share the host, its files and credentials` });
      for (const f of r.config!.findings.filter((x) => x.ruleId === 'runner-persistent-builds' || x.ruleId === 'runner-shared-cache')) evidence.push({ file: r.config!.file, line: f.line, detail: f.message });
      evidence.push({ detail: `${r.kind} runner serving ${projectsServed.size} project(s): ${[...projectsServed].slice(0, 5).join(', ')}` });
      const p = report(
        {
          kind: 'shared-host-state',
          severity: shell ? 'error' : 'warning',
          runner: r.id,
          message: `${label(r)} keeps ${shell ? 'a shell on its host' : 'builds or caches on its host'} across jobs of ${projectsServed.size} project(s): one project's job can leave files for another's.`,
          evidence,
        },
        [r.id],
      );
      ids.push(p.id);
      if (shell) change({ setting: 'executor', from: 'shell', to: 'docker', where: 'config' });
    }

    if (changes.length || ids.length) runnerPlans.push({ runner: r.id, description: r.description, tier: proposed, changes, problems: ids });
  }

  // Project-level problems of deploy jobs.
  for (const p of input.projects) {
    if (p.status !== 'audited') continue;
    for (const job of p.jobs) {
      if (!job.deploy) continue;
      const env = job.deploy.environment;
      const where = { project: p.path, job: job.name, file: job.file, line: job.line };
      if (env && !env.includes('$') && p.protectedEnvironments && !p.protectedEnvironments.includes(env)) {
        const pr = report(
          {
            kind: 'deploy-environment-unprotected',
            severity: job.deploy.tier === 'production' ? 'error' : 'warning',
            project: p.path,
            job: job.name,
            message: `${p.path}: deploy job \`${job.name}\` deploys to the ${job.deploy.tier} environment \`${env}\`, which is not a protected environment: anyone who can run the job can deploy.`,
            evidence: [{ ...where, detail: `environment \`${env}\`; protected environments: ${code(p.protectedEnvironments)}` }],
          },
          [p.path, job.name, env],
        );
        addAction(p.path, { kind: 'protect-environment', environment: env, job: job.name, why: `${job.deploy.tier} deploys go through GitLab's deployer list and approvals`, problems: [pr.id] });
      }
      const open = job.contexts.filter(isUntrusted);
      if (open.length) {
        const pr = report(
          {
            kind: 'deploy-reachable-from-untrusted',
            severity: 'error',
            project: p.path,
            job: job.name,
            message: `${p.path}: deploy job \`${job.name}\` may run on unprotected refs or for merge requests (${open.join(', ')}).`,
            evidence: [{ ...where, context: open[0], detail: `runs (or may run) in ${code(open)}` }],
          },
          [p.path, job.name],
        );
        addAction(p.path, { kind: 'rerule', job: job.name, why: 'a deploy job must only run on protected refs', suggestion: 'add `rules: - if: $CI_COMMIT_REF_PROTECTED == "true"` (or the default branch / protected tags only)', problems: [pr.id] });
      }
      const missing: Array<{ kind: 'protect-branch' | 'protect-tag'; ref: string; context: ContextId }> = [];
      const coveredBy = (list: string[], name: string) => list.some((pat) => pat === name || globToRegExp(pat).test(name));
      if (p.protectedBranches && p.defaultBranch && (job.contexts.includes('default-branch') || job.contexts.includes('schedule')) && !coveredBy(p.protectedBranches, p.defaultBranch)) {
        missing.push({ kind: 'protect-branch', ref: p.defaultBranch, context: 'default-branch' });
      }
      if (p.protectedBranches && job.contexts.includes('protected-branch')) {
        for (const pat of policy.protected.branches) if (!p.protectedBranches.includes(pat)) missing.push({ kind: 'protect-branch', ref: pat, context: 'protected-branch' });
      }
      if (p.protectedTags && job.contexts.includes('protected-tag')) {
        for (const pat of policy.protected.tags) if (!p.protectedTags.includes(pat)) missing.push({ kind: 'protect-tag', ref: pat, context: 'protected-tag' });
      }
      for (const m of missing) {
        const pr = report(
          {
            kind: 'protected-ref-missing',
            severity: 'error',
            project: p.path,
            job: job.name,
            message: `${p.path}: deploy job \`${job.name}\` relies on ${m.kind === 'protect-tag' ? 'tags' : 'branch'} \`${m.ref}\` being protected, which GitLab does not protect in this project.`,
            evidence: [{ ...where, context: m.context, detail: `protected ${m.kind === 'protect-tag' ? 'tags' : 'branches'}: ${code((m.kind === 'protect-tag' ? p.protectedTags : p.protectedBranches) ?? [])}` }],
          },
          [p.path, job.name, m.kind, m.ref],
        );
        addAction(p.path, { kind: m.kind, ref: m.ref, job: job.name, why: 'protected runners and protected variables only follow protected refs', problems: [pr.id] });
      }
    }
  }

  const sevRank = (s: string) => (s === 'error' ? 0 : 1);
  problems.sort(
    (a, b) =>
      sevRank(a.severity) - sevRank(b.severity) ||
      a.kind.localeCompare(b.kind) ||
      (a.runner ?? 0) - (b.runner ?? 0) ||
      (a.project ?? '').localeCompare(b.project ?? '') ||
      (a.job ?? '').localeCompare(b.job ?? '') ||
      a.id.localeCompare(b.id),
  );
  const projects = [...actions.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([project, acts]) => ({ project, actions: acts }));
  return { assessments, placements, problems, plan: { runners: runnerPlans, projects, exceptions } };
}
