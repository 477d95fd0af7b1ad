/**
 * `runAudit`: gather the runner inventory and every project of a group, judge each project's
 * default-branch pipeline, place its jobs on runners, classify, plan, and compare with a baseline.
 * GitLab is read with bounded concurrency through one rate limiter and a per-run read cache;
 * finished projects go to the state file so an interrupted run resumes where it stopped.
 */
import { FileCache } from '../gitlab/config-source.js';
import { createGitLabApi } from '../gitlab/client.js';
import { RateLimiter } from '../gitlab/limiter.js';
import { withReadCache } from '../gitlab/read-cache.js';
import { createGitLabOrgApi, type GitLabOrgApi, type OrgProject, type OrgRunner } from '../gitlab/org.js';
import type { GitLabLogger } from '../gitlab/requester.js';
import type { GitLabApi } from '../gitlab/types.js';
import type { Policy } from '../policy/types.js';
import { checkRunnerConfig, getPath, parseRunnerConfig } from '../runner/check.js';
import { matchesAny } from '../util/glob.js';
import { classify } from './classify.js';
import { auditProject, denial } from './project.js';
import type { Progress } from './progress.js';
import { openState } from './state.js';
import { AUDIT_SCHEMA, type AuditProgress, type AuditProject, type AuditReport, type AuditRunner, type RunnerConfigFacts } from './types.js';
import { blank } from '../util/table.js';

interface RunnerConfigInput {
  file: string;
  text: string;
}

export interface AuditOptions {
  gitlabUrl: string;
  token: string;
  group: string;
  policy: Policy;
  /** Team overrides per project namespace (default: `policy` for every project). */
  policyFor?: (namespace: string) => Policy;
  /** Project path patterns (`*`, `?`), matched against the full path and the path inside the group. */
  include?: string[];
  exclude?: string[];
  runnerConfigs?: RunnerConfigInput[];
  /** Projects audited at once (default 4). */
  concurrency?: number;
  /** GitLab requests per minute for the whole run (default 1200; 0: only Retry-After). */
  ratePerMinute?: number;
  statePath?: string;
  baseline?: AuditReport | null;
  progress?: Progress;
  logger?: GitLabLogger;
  toolVersion: string;
  now?: () => Date;
  /** Tests: GitLab retry settings. */
  retry?: { retries?: number; baseMs?: number; maxMs?: number };
  /**
   * Judge the projects on the replicas instead of here: BullMQ jobs on Redis (./fanout.ts),
   * taken by every replica that runs an audit worker.
   */
  fanout?: { redisUrl: string; prefix?: string; queueName?: string };
  /** Tests and benchmarks: clients to use instead of creating them. */
  clients?: { api: GitLabApi; org: GitLabOrgApi };
}

/** Run `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  // One iterator shared by the workers: each takes the next item when it is free.
  const queue = items.values();
  const worker = async () => {
    for (const item of queue) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

function selectProjects(projects: OrgProject[], group: string, include: string[] = [], exclude: string[] = []): OrgProject[] {
  const rel = (p: OrgProject) => (p.pathWithNamespace.startsWith(`${group}/`) ? p.pathWithNamespace.slice(group.length + 1) : p.pathWithNamespace);
  const hit = (p: OrgProject, pats: string[]) => matchesAny(p.pathWithNamespace, pats) || matchesAny(rel(p), pats);
  return projects.filter((p) => !p.archived && (include.length === 0 || hit(p, include)) && !hit(p, exclude));
}

function runnerKind(r: OrgRunner): AuditRunner['kind'] {
  if (r.isShared || r.runnerType === 'instance_type') return 'instance';
  return r.runnerType === 'group_type' ? 'group' : 'project';
}

/** Match `[[runners]]` entries of the given files to API runners: by `id`, token prefix, then name. */
function matchRunnerConfigs(runners: AuditRunner[], configs: RunnerConfigInput[], policy: Policy, shortShas: Map<number, string | null>): string[] {
  const notes: string[] = [];
  for (const { file, text } of configs) {
    const doc = parseRunnerConfig(file, text, policy);
    const checked = checkRunnerConfig(file, text, policy);
    for (const entry of doc.runners) {
      const idValue = entry.table.id;
      const token = typeof entry.table.token === 'string' ? entry.table.token : '';
      let matchedBy: RunnerConfigFacts['matchedBy'] | undefined;
      let r = runners.find((x) => typeof idValue === 'number' && x.id === idValue);
      if (r) matchedBy = 'id';
      if (!r && token) {
        const bare = token.replace(/^glrt-/, '');
        r = runners.find((x) => {
          const s = shortShas.get(x.id);
          return !!s && (bare.startsWith(s) || token.startsWith(s));
        });
        if (r) matchedBy = 'token';
      }
      if (!r) {
        r = runners.find((x) => x.description !== null && x.description === entry.name);
        if (r) matchedBy = 'name';
      }
      if (!r || !matchedBy) {
        notes.push(`${file}: runner "${entry.name}" matches no runner of the group (by id, token prefix or name)`);
        continue;
      }
      const privileged = getPath(entry.table, ['docker', 'privileged']) === true || getPath(entry.table, ['kubernetes', 'privileged']) === true;
      r.config = {
        file,
        name: entry.name,
        matchedBy,
        executor: entry.executor ?? null,
        privileged,
        findings: checked.findings
          .filter((f) => f.job === entry.name)
          .map((f) => ({ ruleId: f.ruleId, severity: f.severity, message: f.message, line: f.location.line, column: f.location.column })),
      };
    }
  }
  return notes;
}

function compareWithBaseline(baseline: AuditReport, problems: AuditReport['problems']): AuditProgress {
  const now = new Set(problems.map((p) => p.id));
  const before = new Set(baseline.problems.map((p) => p.id));
  return {
    baseline: { runId: baseline.runId, generatedAt: baseline.generatedAt },
    resolved: baseline.problems.filter((p) => !now.has(p.id)).map((p) => ({ id: p.id, kind: p.kind, message: p.message })),
    added: problems.filter((p) => !before.has(p.id)).map((p) => ({ id: p.id, kind: p.kind, message: p.message })),
    remaining: problems.filter((p) => before.has(p.id)).length,
  };
}

export async function runAudit(opts: AuditOptions): Promise<AuditReport> {
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  const group = opts.group.replace(/^\/+|\/+$/g, '');
  const limiter = new RateLimiter({ perMinute: opts.ratePerMinute ?? 1200 });
  let apiCalls = 0;
  const common = {
    url: opts.gitlabUrl,
    token: opts.token,
    logger: opts.logger,
    throttle: limiter.acquire,
    onRateLimit: limiter.pause,
    retry: opts.retry,
  };
  const org = opts.clients?.org ?? createGitLabOrgApi(common);
  const api = withReadCache(opts.clients?.api ?? createGitLabApi({ ...common, onCall: () => (apiCalls += 1) }));
  const policyFor = opts.policyFor ?? (() => opts.policy);
  const skipped: AuditReport['skipped'] = [];

  const me = await org.currentUser();
  const top = await org.getGroup(group);
  let groups = [top];
  try {
    groups = [top, ...(await org.listDescendantGroups(top.fullPath))];
  } catch (err) {
    const why = denial(err);
    if (!why) throw err;
    skipped.push({ what: `subgroups of ${top.fullPath} (GET /groups/:id/descendant_groups)`, reason: why });
  }
  const listed = await org.listGroupProjects(top.fullPath);
  const projects = selectProjects(listed, top.fullPath, opts.include, opts.exclude);

  // Runner inventory: group runners per (sub)group, instance runners, then per project.
  const groupRunners = blank<number[]>();
  const seenIn = new Map<number, Set<string>>();
  const see = (id: number, where: string) => {
    const s = seenIn.get(id) ?? new Set<string>();
    s.add(where);
    seenIn.set(id, s);
  };
  await pool(groups, opts.concurrency ?? 4, async (g) => {
    try {
      const ids = await org.listGroupRunnerIds(g.fullPath, 'group_type');
      groupRunners[g.fullPath] = ids;
      for (const id of ids) see(id, `group:${g.fullPath}`);
    } catch (err) {
      const why = denial(err);
      if (!why) throw err;
      skipped.push({ what: `group runners of ${g.fullPath} (GET /groups/:id/runners, group Owner)`, reason: why });
    }
  });
  let instanceRunners: number[] = [];
  try {
    instanceRunners = me.isAdmin ? await org.listInstanceRunnerIds() : await org.listGroupRunnerIds(top.fullPath, 'instance_type');
    for (const id of instanceRunners) see(id, 'instance');
  } catch (err) {
    const why = denial(err);
    if (!why) throw err;
    skipped.push({ what: `instance runners (GET /runners/all as admin, or GET /groups/:id/runners?type=instance_type as group Owner)`, reason: why });
  }

  const state = openState(opts.statePath, top.fullPath, opts.gitlabUrl, now);
  const results = new Map<number, AuditProject>();
  let resumed = 0;
  for (const p of projects) {
    const prev = state.done.get(p.id);
    if (prev) {
      results.set(p.id, prev);
      resumed += 1;
    }
  }
  const todo = projects.filter((p) => !results.has(p.id));
  const cache = new FileCache(5000);
  opts.progress?.update(results.size, projects.length);
  const done = (audited: AuditProject) => {
    results.set(audited.id, audited);
    state.record(audited);
    opts.progress?.update(results.size, projects.length);
  };
  if (opts.fanout) {
    const { fanOutProjects } = await import('./fanout.js');
    await fanOutProjects(todo, state.runId, { ...opts.fanout, onDone: done });
  } else {
    await pool(todo, opts.concurrency ?? 4, async (p) => done(await auditProject(p, { api, org, policyFor, cache })));
  }
  opts.progress?.finish(results.size, projects.length);
  const audited = projects.map((p) => results.get(p.id)!);
  for (const p of audited) for (const id of p.runnerIds ?? []) see(id, `project:${p.path}`);

  // Runner details, once each.
  const runners: AuditRunner[] = [];
  const shortShas = new Map<number, string | null>();
  const ids = [...seenIn.keys()].sort((a, b) => a - b);
  await pool(ids, opts.concurrency ?? 4, async (id) => {
    const where = [...seenIn.get(id)!].sort();
    try {
      const r = await org.getRunner(id);
      shortShas.set(id, r.shortSha);
      runners.push({
        id,
        description: r.description,
        kind: runnerKind(r),
        tags: [...r.tagList].sort(),
        runUntagged: r.runUntagged,
        accessLevel: r.accessLevel,
        paused: r.paused,
        locked: r.locked,
        maximumTimeout: r.maximumTimeout,
        contactedAt: r.contactedAt,
        version: r.version,
        platform: r.platform,
        detailsReadable: true,
        seenIn: where,
        config: null,
      });
    } catch (err) {
      const why = denial(err);
      if (!why) throw err;
      skipped.push({ what: `runner #${id} details (GET /runners/:id, Maintainer of its group or project)`, reason: why });
      const kind = where.some((w) => w === 'instance') ? 'instance' : where.some((w) => w.startsWith('group:')) ? 'group' : 'project';
      runners.push({ id, description: null, kind, tags: [], runUntagged: false, accessLevel: 'unknown', paused: false, locked: false, maximumTimeout: null, contactedAt: null, version: null, platform: null, detailsReadable: false, seenIn: where, config: null });
    }
  });
  runners.sort((a, b) => a.id - b.id);
  const configNotes = matchRunnerConfigs(runners, opts.runnerConfigs ?? [], opts.policy, shortShas);
  for (const n of configNotes) skipped.push({ what: 'runner configuration', reason: n });
  for (const p of audited) skipped.push(...p.skipped);

  const c = classify({ runners, projects: audited, groupRunners, instanceRunners, policy: opts.policy });
  state.complete();

  const byKind: AuditReport['summary']['problems']['byKind'] = {};
  for (const p of c.problems) byKind[p.kind] = (byKind[p.kind] ?? 0) + 1;
  const gitlabCalls = org.calls + apiCalls;
  const fresh = Math.max(1, todo.length);
  return {
    schema: AUDIT_SCHEMA,
    tool: { name: 'tierguard', version: opts.toolVersion },
    runId: state.runId,
    group: top.fullPath,
    gitlabUrl: opts.gitlabUrl,
    generatedAt: now().toISOString(),
    summary: {
      projects: {
        total: audited.length,
        audited: audited.filter((p) => p.status === 'audited').length,
        noCi: audited.filter((p) => p.status === 'no-ci').length,
        errors: audited.filter((p) => p.status === 'error').length,
      },
      runners: {
        total: runners.length,
        instance: runners.filter((r) => r.kind === 'instance').length,
        group: runners.filter((r) => r.kind === 'group').length,
        project: runners.filter((r) => r.kind === 'project').length,
        unreadable: runners.filter((r) => !r.detailsReadable).length,
      },
      jobs: audited.reduce((n, p) => n + p.jobs.length, 0),
      problems: {
        errors: c.problems.filter((p) => p.severity === 'error').length,
        warnings: c.problems.filter((p) => p.severity === 'warning').length,
        byKind,
      },
    },
    runners: runners.map((r) => ({
      ...r,
      assessment: c.assessments.get(r.id)!,
      placements: (c.placements.get(r.id) ?? []).map((pl) => ({ project: pl.project.path, job: pl.job.name, contexts: pl.contexts })),
    })),
    projects: audited,
    problems: c.problems,
    plan: c.plan,
    progress: opts.baseline ? compareWithBaseline(opts.baseline, c.problems) : null,
    skipped,
    stats: { gitlabCalls, callsPerProject: Math.round((gitlabCalls / fresh) * 100) / 100, durationMs: Date.now() - started, resumedProjects: resumed, rateLimitedMs: Math.round(limiter.pausedMs) },
  };
}
