/**
 * The review of one MR for one queued job: read through the GitLab adapter, evaluate the CI
 * configuration at the head and at the base commit, plan and apply the review, set the commit
 * status (and the External Status Check where configured).
 */
import type { Logger } from 'pino';
import { allRuleMetas } from '../catalogue/catalogue.js';
import { FileCache, GitLabConfigSource, type GitLabConfigSourceOptions, type RemoteFetchOptions } from '../gitlab/config-source.js';
import { isPermanent, isTransient } from '../gitlab/errors.js';
import type { DiffRefs, GitLabApi, GitLabDiff, GitLabDiscussion, GitLabMergeRequest, GitLabProject } from '../gitlab/types.js';
import { judge, judgeLive, type CiJudgment, type Judgment, type RunnerFile } from '../judge/judge.js';
import { readLiveVariables } from '../live/assumptions.js';
import { LiveCache } from '../live/cache.js';
import { jsonCodec, type ProjectCache } from '../gitlab/project-cache.js';
import { protectedTagsFallbackNote, readProtectedRefs, withProtectedRefs, type ProtectedRefs } from '../live/protected-refs.js';
import type { ReadResult } from '../model/source.js';
import { PolicyError, type PolicyIssue } from '../policy/errors.js';
import { applyProjectOverride, PROJECT_POLICY_FILE } from '../policy/project.js';
import type { Policy } from '../policy/types.js';
import { applyReview } from '../review/apply.js';
import { planReview } from '../review/plan.js';
import type { ReviewPlan } from '../review/types.js';
import { looksLikeRunnerConfig, MAX_RUNNER_CONFIG_BYTES } from '../runner/check.js';
import type { ServiceConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { PolicyLoader } from './policies.js';
import type { FinalFailureInfo, ReviewJob } from './queue.js';
import { settleAll } from '../util/async.js';

/** Rule metadata for the review's "how to fix" text and the project-file validation. */
const RULE_CATALOGUE = allRuleMetas();

export const STATUS_NAME = 'tierguard';
const STATUS_CHECK_NAME = 'tierguard';
/** The project policy file's text (null: none) as kept in the project cache, shared with REDIS_URL. */
const policyFileCodec = jsonCodec<string | null>();

export interface ReviewerOptions {
  api: GitLabApi;
  logger: Logger;
  policies: PolicyLoader;
  metrics?: Metrics;
  /** Projects whose External Status Check named "tierguard" is answered. */
  statusCheckProjects?: 'all' | number[];
  /** include:remote fetch settings (hosts come from the policy). */
  remote?: Omit<RemoteFetchOptions, 'allowedHosts'>;
  /** Pause between GitLab writes in applyReview (rate limits). */
  paceMs?: number;
  today?: () => Date;
  /** Changed files looked at as possible runner configs (each is one raw read), default 50. */
  maxRunnerCandidates?: number;
  /**
   * Live checks (runners, protected environments, variables, settings as GitLab has them),
   * with one LiveCache per reviewer. Off unless given: the composition root passes
   * `liveOptionsFromConfig(config)` (LIVE_CHECKS, LIVE_CACHE_TTL_SECONDS).
   */
  live?: LiveReviewOptions | false;
  /**
   * Per-project TTL cache of project-level reads (the composition root passes the one it shares
   * with the GitLab adapter wrapper). The project policy file is kept there per target branch, so
   * a review on a new base sha does not read it again within the TTL; the live checks use it too
   * (without it they get their own, with `live.cacheTtlSeconds`).
   */
  projectCache?: ProjectCache;
}

export interface LiveReviewOptions {
  /** TTL of the per-project live data cache in seconds (default 60; 0: no caching). */
  cacheTtlSeconds?: number;
}

/** LIVE_CHECKS=off → false; else the cache TTL from LIVE_CACHE_TTL_SECONDS. */
export function liveOptionsFromConfig(config: Pick<ServiceConfig, 'LIVE_CHECKS' | 'LIVE_CACHE_TTL_SECONDS'>): LiveReviewOptions | false {
  return config.LIVE_CHECKS ? { cacheTtlSeconds: config.LIVE_CACHE_TTL_SECONDS } : false;
}

/**
 * How skipped live checks are shown in the summary: one line per missing read, naming the checks
 * by their title (`Not verified (skipped): <titles> — needs <role/scope>: <reason>`). Rule ids
 * are left out on purpose: a summary that names a rule id reads as a finding of that rule.
 */
function skippedLiveNotes(skipped: readonly { check: string; needs: string; reason: string }[], catalogue: readonly { id: string; title: string }[] = []): string[] {
  const groups = new Map<string, { needs: string; reason: string; titles: string[] }>();
  for (const s of skipped) {
    const k = `${s.needs}\u0000${s.reason}`;
    const g = groups.get(k) ?? { needs: s.needs, reason: s.reason, titles: [] };
    const title = catalogue.find((m) => m.id === s.check)?.title ?? s.check;
    if (!g.titles.includes(title)) g.titles.push(title);
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => `Not verified (skipped): ${g.titles.map((t) => `"${t}"`).join('; ')} — needs ${g.needs}: ${g.reason}`);
}

type ReviewOutcome =
  | { result: 'skipped'; why: string }
  /** GitLab refused a read or write for good (401/403/404): one failed status where possible, no retry. */
  | { result: 'refused'; why: string; sha?: string }
  | { result: 'no_ci_changes'; sha: string }
  | { result: 'success' | 'failed'; sha: string; blocking: number; warnings: number; summaryNoteId?: number };

export interface Reviewer {
  review(job: ReviewJob): Promise<ReviewOutcome>;
  /** After the last failed attempt: make sure the status says so (fail closed), once. */
  reportFailure(job: ReviewJob, err: unknown, info?: FinalFailureInfo): Promise<void>;
  /** tierguard's own user id once known (events it caused are ignored). */
  botUserId(): number | undefined;
}

/** What every step of a review may use: the adapter, the options, the caches of this reviewer. */
interface ReviewDeps {
  api: GitLabApi;
  opts: ReviewerOptions;
  cache: FileCache;
  liveCache?: LiveCache;
}

/** One review's event: the job, its log, the MR as read, and the MR's discussions (listed once). */
interface ReviewEvent {
  job: ReviewJob;
  log: Logger;
  mr: GitLabMergeRequest;
  diffRefs: DiffRefs;
  botUserId: number;
  discussions(): Promise<GitLabDiscussion[]>;
}

/** Step 1: the MR's project and diffs. */
interface Collected {
  project: GitLabProject;
  diffs: GitLabDiff[];
  /** Old and new paths of every changed file GitLab listed. */
  changed: Set<string>;
  /**
   * Whether GitLab listed the whole diff: false when it listed only part (`changes_count`
   * "1000+", `overflow`) and any file may have changed; null when its answer did not say.
   */
  complete: boolean | null;
  rootFile: string;
}

/**
 * The MR's diff changed between reading the MR and reading the diff's files (a push: a new head;
 * or a new diff of the same head from another base): the files GitLab listed are another diff's,
 * and judging the sha read first by them could pass a change that diff never had (a CI change
 * pushed and reverted in between). The review starts again from the MR.
 */
class HeadMovedError extends Error {
  constructor(read: DiffRefs, listed: DiffRefs | null) {
    const what = (r: DiffRefs | null) => (r ? `${r.baseSha.slice(0, 8)}..${r.headSha.slice(0, 8)}` : 'none');
    super(`the merge request's diff changed from ${what(read)} to ${what(listed)} while its files were read`);
  }
}
/** How many times one review starts again after its head moved; then the queue retries it. */
const HEAD_MOVED_RESTARTS = 2;

/** Step 2: the policy as it applies to the project, and the MR judged at its head and base. */
interface Judged {
  policy: Policy;
  protectedRefs: ProtectedRefs;
  today: Date;
  /** Notes about the policy (invalid project file, protected tags read from the policy). */
  policyNotes: string[];
  head: CiJudgment;
  base: Judgment;
  /** Changed files judged as runner configurations (head or base). */
  runnerFiles: string[];
}

export function createReviewer(opts: ReviewerOptions): Reviewer {
  const { api, metrics } = opts;
  const deps: ReviewDeps = {
    api,
    opts,
    cache: new FileCache(),
    ...(opts.live === undefined || opts.live === false ? {} : { liveCache: opts.projectCache ?? new LiveCache({ ttlMs: Math.max(0, opts.live.cacheTtlSeconds ?? 60) * 1000 }) }),
  };
  const statuses = createStatusReporter(api, opts.statusCheckProjects ?? []);
  /** project:iid → last head sha fully evaluated (stale events for older shas are skipped). */
  const done = new Map<string, string>();
  /** project:iid → the MR as the last attempt saw it (where the failure report sets its status). */
  const lastTarget = new Map<string, StatusMr & { webUrl: string }>();
  let botId: number | undefined;

  const remember = (key: string, sha: string): void => {
    done.set(key, sha);
    if (done.size > 10_000) done.delete(done.keys().next().value as string);
  };

  const review = (job: ReviewJob): Promise<ReviewOutcome> => reviewFrom(job, 0);

  async function reviewFrom(job: ReviewJob, restarts: number): Promise<ReviewOutcome> {
    const started = process.hrtime.bigint();
    const log = opts.logger.child({ deliveryId: job.deliveryId, project: job.projectId, mr: job.mrIid, attempt: job.attempt ?? 1 });
    const key = `${job.projectId}:${job.mrIid}`;
    const finish = (o: ReviewOutcome): ReviewOutcome => {
      const result = o.result;
      metrics?.evaluations.inc({ result });
      metrics?.evaluationDuration.observe({ result }, Number(process.hrtime.bigint() - started) / 1e9);
      log.info({ result, ...('why' in o ? { why: o.why } : {}), ...('sha' in o ? { sha: o.sha } : {}) }, 'review finished');
      return o;
    };

    // Failures before the MR is read are counted too; 401/403/404 end the job (not retried).
    let me: Awaited<ReturnType<GitLabApi['currentUser']>>;
    let mr: GitLabMergeRequest;
    try {
      me = await api.currentUser();
      botId = me.id;
      if (job.actorId !== undefined && job.actorId === me.id) return finish({ result: 'skipped', why: 'event caused by tierguard itself' });
      mr = await api.getMergeRequest(job.projectId, job.mrIid);
    } catch (err) {
      metrics?.evaluations.inc({ result: 'error' });
      if (!isPermanent(err)) {
        log.error({ err: errText(err) }, 'review failed before the merge request was read');
        throw err;
      }
      // Without the MR there is no sha to put a status on: the error log is all there is.
      metrics?.reviewsAbandoned.inc({ kind: 'permanent' });
      log.error({ err: errText(err) }, 'GitLab refused to show the merge request to tierguard; not retried');
      return finish({ result: 'refused', why: errText(err) });
    }
    if (mr.state !== 'opened') return finish({ result: 'skipped', why: `merge request is ${mr.state}` });
    const headSha = mr.sha;
    // An event for an older head whose newer head was already evaluated (out-of-order delivery).
    if (job.sha && job.sha !== headSha && done.get(key) === headSha && job.reason !== 'note:recheck') {
      return finish({ result: 'skipped', why: `stale event for ${job.sha.slice(0, 8)}; ${headSha.slice(0, 8)} already evaluated` });
    }
    if (!mr.diffRefs) {
      metrics?.evaluations.inc({ result: 'error' });
      throw new Error('GitLab has not computed the merge request diff yet (no diff_refs)');
    }
    lastTarget.set(key, mr);
    // An MR without a single user note has no discussion of tierguard's to find: GitLab's
    // `user_notes_count` is a live count of the MR's non-system notes, tierguard's own included
    // (app/models/concerns/issuable.rb `notes.user.count`), so the list is not read. An answer
    // without the count reads the list as before.
    const discussions = mr.userNotesCount === 0 ? async (): Promise<GitLabDiscussion[]> => [] : listOnce(() => api.listDiscussions(job.projectId, job.mrIid));
    const ev: ReviewEvent = { job, log, mr, diffRefs: mr.diffRefs, botUserId: me.id, discussions };

    /** The one "no CI configuration changes" answer: success, nothing else said on the MR. */
    const noCiChanges = async (description = 'no CI configuration changes'): Promise<ReviewOutcome> => {
      await statuses.set(job.projectId, mr, 'success', description, mr.webUrl);
      await statuses.answer(job.projectId, job.mrIid, mr.sha, true, log);
      remember(key, mr.sha);
      metrics?.evaluations.inc({ result: 'no_ci_changes' });
      log.info({ sha: mr.sha }, description);
      return { result: 'no_ci_changes', sha: mr.sha };
    };

    try {
      const collected = await collect(deps, ev);
      // The configuration lives in another project or at a URL (ci_config_path `file@group/project`):
      // this MR cannot change it.
      if (/@|^https?:\/\//i.test(collected.rootFile)) return await noCiChanges('CI configuration is outside this project');

      // Does the MR change what tierguard judges? Decided once: only a changed YAML/TOML file (or
      // the root file) can be one, so nothing is judged when none changed (a diff GitLab listed
      // only in part is judged: what it left out may be one); tierguard's own discussions on the
      // MR are kept up to date either way.
      const mayChange = collected.complete === false || [...collected.changed].some((p) => CONFIG_EXT.test(p) || p === collected.rootFile);
      let judged = mayChange ? await judgeMr(deps, ev, collected) : undefined;
      if (!(judged && touchesJudged(collected, judged)) && !(await ownDiscussions(ev))) return await noCiChanges();
      judged ??= await judgeMr(deps, ev, collected);
      await liveStep(deps, ev, judged);

      const plan = await planStep(deps, ev, collected, judged);
      const summaryNoteId = await applyStep(deps, ev, plan);
      await reportStatus(statuses, ev, plan, summaryNoteId);

      for (const f of judged.head.findings) if (f.ruleId !== PROJECT_OVERRIDE_RULE) metrics?.findings.inc({ severity: f.severity });
      if (plan.overBudget) metrics?.findingsOverBudget.inc(plan.overBudget);
      remember(key, headSha);
      return finish({
        result: plan.status.state,
        sha: headSha,
        blocking: plan.counts.blocking,
        warnings: plan.counts.warnings,
        ...(summaryNoteId !== undefined ? { summaryNoteId } : {}),
      });
    } catch (err) {
      // Nothing was posted yet (the diff is read before `running`): read the MR again.
      if (err instanceof HeadMovedError && restarts < HEAD_MOVED_RESTARTS) {
        log.info({ why: err.message }, 'reviewing the merge request again from its new head');
        return reviewFrom(job, restarts + 1);
      }
      if (!isPermanent(err)) metrics?.evaluations.inc({ result: 'error' });
      log.error({ err: errText(err) }, 'review failed');
      if (isPermanent(err)) {
        // 401/403/404 will not heal by retrying: one clear failed status, and the job ends.
        metrics?.reviewsAbandoned.inc({ kind: 'permanent' });
        await statuses.set(job.projectId, mr, 'failed', `tierguard could not evaluate: ${errText(err)}`, mr.webUrl).catch((e: unknown) =>
          log.error({ err: errText(e) }, 'could not set the failed status (the token may lack the Developer role)'),
        );
        return finish({ result: 'refused', why: errText(err), sha: headSha });
      }
      // The queue decides what follows: a transient GitLab failure is retried (for the retry
      // window), and the MR shows `pending` "waiting for GitLab" meanwhile — never `failed`,
      // and never a stale `success` (posting pending over `running` is a no-op: the status
      // stays `running`). When the queue gives up, reportFailure posts the one `failed` status.
      if (isTransient(err)) {
        await statuses.set(job.projectId, mr, 'pending', `tierguard is waiting for GitLab (will retry): ${errText(err)}`, mr.webUrl).catch((e: unknown) =>
          log.warn({ err: errText(e) }, 'could not set the pending status'),
        );
      }
      throw err;
    }
  }

  async function reportFailure(job: ReviewJob, err: unknown, info?: FinalFailureInfo): Promise<void> {
    const key = `${job.projectId}:${job.mrIid}`;
    const log = opts.logger.child({ deliveryId: job.deliveryId, project: job.projectId, mr: job.mrIid });
    try {
      let target: (StatusMr & { webUrl?: string }) | undefined = lastTarget.get(key);
      if (!target) {
        try {
          target = await api.getMergeRequest(job.projectId, job.mrIid);
        } catch (e) {
          // The MR cannot be read (GitLab still failing): the event's head sha, if it named one.
          if (!job.sha) throw e;
          target = { iid: job.mrIid, sha: job.sha, headPipelineId: null, sourceProjectId: job.projectId, targetProjectId: job.projectId };
        }
      }
      const why = info?.kind === 'transient' || info?.kind === 'other' ? `${info.why}: ` : '';
      await statuses.set(job.projectId, target, 'failed', `tierguard could not evaluate: ${why}${errText(err)}`, target.webUrl);
    } catch (e) {
      log.error({ err: errText(e) }, 'could not report the evaluation failure on the merge request');
    }
  }

  return { review, reportFailure, botUserId: () => botId };
}

/** Files whose change can change what tierguard judges: includes must end in .yml/.yaml, runner configs are .toml or Helm values. */
const CONFIG_EXT = /\.(ya?ml|toml)$/i;

const PROJECT_OVERRIDE_RULE = 'policy-project-override-rejected';

/**
 * Said on an MR whose diff GitLab listed only in part: the CI configuration is judged whole (every
 * file read at the head and the base), but a runner configuration file is checked only when the
 * listed part names it, and inline comments can only go on listed files.
 */
const PARTIAL_DIFF_NOTE =
  'GitLab listed only part of this merge request\'s diff (`changes_count` ends in `+` or `overflow` is set: past the instance\'s diff limits): the CI configuration was judged in full, but runner configuration files outside the listed part were not checked, and findings in files outside it appear only in this summary.';

/** A read made once per review (a failed read is tried again by the next caller). */
function listOnce<T>(read: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= read();
    p.catch(() => {
      p = undefined;
    });
    return p;
  };
}

/** tierguard has discussions on the MR (to resolve or keep, whatever changed). */
async function ownDiscussions(ev: ReviewEvent): Promise<boolean> {
  return (await ev.discussions()).some((d) => d.notes[0]?.authorId === ev.botUserId && d.notes[0].body.includes('<!-- tierguard:'));
}

/** Step 1: the project and the MR's diff (the diff of the head read first, or HeadMovedError). */
async function collect(deps: ReviewDeps, ev: ReviewEvent): Promise<Collected> {
  const { api } = deps;
  // Both at once: the diff does not depend on the project.
  const [project, changes] = await settleAll([api.getProject(ev.job.projectId), api.getMergeRequestChanges(ev.job.projectId, ev.job.mrIid)]);
  const listed = changes.diffRefs;
  const same = changes.sha === ev.mr.sha && listed !== null && listed.headSha === ev.diffRefs.headSha && listed.baseSha === ev.diffRefs.baseSha && listed.startSha === ev.diffRefs.startSha;
  if (!same) throw new HeadMovedError(ev.diffRefs, listed);
  const { diffs } = changes;
  const changed = new Set<string>();
  for (const d of diffs) {
    changed.add(d.newPath);
    changed.add(d.oldPath);
  }
  return { project, diffs, changed, complete: changes.complete, rootFile: project.ciConfigPath ?? '.gitlab-ci.yml' };
}

/** Whether a changed file is one the judgment read: a CI file of either side, or a runner config. */
function touchesJudged(c: Collected, j: Judged): boolean {
  if (c.complete === false) return true;
  const read = new Set<string>([c.rootFile, ...j.head.evaluation.pipeline.files.map((f) => f.name), ...(j.base.evaluation?.pipeline.files.map((f) => f.name) ?? [])]);
  return [...c.changed].some((p) => read.has(p)) || j.runnerFiles.length > 0;
}

/**
 * Step 2: the policy for the project, then one `judge()` of the head and one of the base commit
 * (the same call `tierguard lint` makes). Strict: what tierguard could not read is a blocking
 * ci-config-unverified finding. Live checks judge the head against what GitLab has now: their
 * findings have no base counterpart, so they count as new (they describe the current state).
 */
async function judgeMr(deps: ReviewDeps, ev: ReviewEvent, c: Collected): Promise<Judged> {
  const { job, mr } = ev;
  // `running` before the judgment, not before the diffs: an MR that changes no configuration file
  // is answered with its one `success`. Either way nothing green shows before the verdict, and
  // a failure on the way leaves `pending` or `failed` (review()'s catch, reportFailure).
  const announced = statusOf(deps.api, job.projectId, mr, 'running', 'tierguard is evaluating the CI configuration');
  // Its failure is handled (below) even while the reads are still under way.
  announced.catch(() => undefined);
  // Settled before the judgment's answer is used and before any error leaves (so the verdict's or
  // the failure's status always comes after `running`), not before the files are read: the
  // status write overlaps the reads.
  try {
    return await judgeWhileAnnounced(deps, ev, c, announced);
  } catch (err) {
    await announced.catch(() => undefined);
    throw err;
  }
}

async function judgeWhileAnnounced(deps: ReviewDeps, ev: ReviewEvent, c: Collected, announced: Promise<void>): Promise<Judged> {
  const { api, opts } = deps;
  const { job, mr, diffRefs, log } = ev;
  const { policy, teamPolicy, protectedRefs, rejections, notes: policyNotes } = await projectPolicy(deps, c.project, { sha: diffRefs.baseSha, branch: mr.targetBranch }, log);
  const today = opts.today?.() ?? new Date();
  const source = (sha: string, sameAs?: GitLabConfigSourceOptions['sameAs']) =>
    new GitLabConfigSource({
      api,
      projectId: job.projectId,
      sha,
      cache: deps.cache,
      remote: { ...opts.remote, allowedHosts: policy.remoteIncludeHosts },
      // GitLab reads other projects' includes as the pipeline's user: check the author may.
      pipelineUserId: mr.authorId,
      ...(sameAs ? { sameAs } : {}),
    });
  // The base's files that the MR's diff does not list are the head's: read once, at the head.
  // Only when GitLab listed the whole diff, and that diff is the one from the base to this head.
  const baseSameAs = c.complete === true && diffRefs.headSha === mr.sha ? { sha: mr.sha, changed: c.changed } : undefined;
  // With live checks on: the variables GitLab has that override YAML values, read through the
  // live cache (the reads the live checks make too), for the head and the base alike.
  const variables = deps.liveCache ? await readLiveVariables(api, job.projectId, { cache: deps.liveCache }) : undefined;
  const common = { policy, defaultBranch: c.project.defaultBranch ?? 'main', today, strict: true, ...(variables ? { variables } : {}) } as const;
  // Runner config candidates are read after the head's CI files: the FileCache then serves the
  // CI files among them as the configuration source read them.
  let runners: Promise<RunnerCandidates> | undefined;
  const runnerFiles = () => (runners ??= runnerConfigs(deps, job.projectId, c.diffs, mr.sha, diffRefs.baseSha, opts.maxRunnerCandidates ?? 50));

  // Head and base are judged side by side: their files are read over the API at the same time
  // (two immutable shas, nothing shared but the caches), so the MR waits for one chain of reads.
  const judgeHead = judge({
    ...common,
    ci: { source: source(mr.sha), rootFile: c.rootFile },
    runnerFiles: async () => (await runnerFiles()).head,
    ...(rejections.length ? { projectOverride: { rejections, teamPolicy } } : {}),
  });
  const judgeBase = judge({ ...common, ci: { source: source(diffRefs.baseSha, baseSameAs), rootFile: c.rootFile }, runnerFiles: async () => (await runnerFiles()).base }).catch(
    async (err: unknown): Promise<Judgment> => {
      if (isTransient(err)) throw err;
      log.warn({ err: errText(err) }, 'base commit could not be evaluated; its findings are treated as empty');
      return judge({ ...common, runnerFiles: async () => (await runnerFiles()).base });
    },
  );
  // All settle before any answer is used: a failed head never leaves the base's reads running.
  const [, head, base] = await settleAll([announced, judgeHead, judgeBase]);
  return { policy, protectedRefs, today, policyNotes, head, base, runnerFiles: (await runnerFiles()).files };
}

/**
 * Step 3: the live checks of the head judgment (runners, environments, variables, settings as
 * GitLab has them now), once the MR is known to change what tierguard judges.
 */
async function liveStep(deps: ReviewDeps, ev: ReviewEvent, j: Judged): Promise<void> {
  if (!deps.liveCache) return;
  await judgeLive(j.head, { policy: j.policy, today: j.today, live: { api: deps.api, projectId: ev.job.projectId, protectedRefs: j.protectedRefs, cache: deps.liveCache } });
  if (j.head.liveError) ev.log.warn({ err: j.head.liveError }, 'live checks could not run');
  if (j.head.skipped.length) ev.log.info({ skipped: [...new Set(j.head.skipped.map((s) => s.check))] }, 'live checks skipped');
}

/** Step 4: what tierguard says on the MR (the summary rendered once, skipped live checks included). */
async function planStep(deps: ReviewDeps, ev: ReviewEvent, c: Collected, j: Judged): Promise<ReviewPlan> {
  const { head, base, policy } = j;
  // runLiveChecks words its own skip lines; the summary shows them in one fixed form.
  const own = new Set(head.skipped.map((s) => `Live check \`${s.check}\` skipped: ${s.reason} (needs ${s.needs}).`));
  const liveNotes = deps.liveCache ? [...skippedLiveNotes(head.skipped, RULE_CATALOGUE), ...head.liveNotes.filter((n) => !own.has(n))] : [];
  return planReview({
    projectId: ev.job.projectId,
    mrIid: ev.job.mrIid,
    headSha: ev.mr.sha,
    diffRefs: ev.diffRefs,
    diffs: c.diffs,
    head: { ...head.evaluation, findings: head.findings, sources: head.sources, notes: head.notes },
    baseFindings: base.findings,
    existing: await ev.discussions(),
    botUserId: ev.botUserId,
    policySources: policy.sources,
    notes: [...(c.complete === false ? [PARTIAL_DIFF_NOTE] : []), ...j.policyNotes, ...liveNotes],
    blockOn: policy.review.blockOn,
    mrWebUrl: ev.mr.webUrl,
    // For the runner tiers of the picture and the "how to fix" text of each rule.
    policy,
    catalogue: RULE_CATALOGUE,
    liveSkipped: new Set(head.skipped.map((s) => s.check)).size,
  });
}

/** Step 5: the plan carried out on the MR (idempotent); the summary note's id. */
async function applyStep(deps: ReviewDeps, ev: ReviewEvent, plan: ReviewPlan): Promise<number | undefined> {
  const applied = await applyReview(deps.api, { projectId: ev.job.projectId, mrIid: ev.job.mrIid }, plan, { paceMs: deps.opts.paceMs ?? 1000, logger: ev.log });
  return applied.summaryNoteId || plan.summary.noteId;
}

/** Step 6: the verdict as the commit status (linking the summary note) and the External Status Check answer. */
async function reportStatus(statuses: StatusReporter, ev: ReviewEvent, plan: ReviewPlan, summaryNoteId: number | undefined): Promise<void> {
  const { job, mr, log } = ev;
  const targetUrl = summaryNoteId !== undefined ? `${mr.webUrl}#note_${summaryNoteId}` : mr.webUrl;
  await statuses.set(job.projectId, mr, plan.status.state, plan.status.description, targetUrl);
  await statuses.answer(job.projectId, job.mrIid, mr.sha, plan.status.state === 'success', log);
}

/** Load a file at a commit through the shared FileCache (same keys as GitLabConfigSource). */
async function rawAt(deps: ReviewDeps, projectId: number, path: string, sha: string): Promise<string | null> {
  const r: ReadResult = await deps.cache.get(`${projectId}\0${sha}\0${path}`, async () => {
    const text = await deps.api.getRawFile(projectId, path, sha);
    return text === null ? { status: 'missing' } : { status: 'ok', text };
  });
  if (r.status === 'ok') return r.text;
  // 'missing', or 'unavailable' (too large for an include, or no access): nothing tierguard can judge.
  return null;
}

/** The team policy, the project's protected refs, and the project file from the target branch. */
async function projectPolicy(
  deps: ReviewDeps,
  project: GitLabProject,
  base: { sha: string; branch: string },
  log: Logger,
): Promise<{ policy: Policy; teamPolicy: Policy; protectedRefs: ProtectedRefs; rejections: PolicyIssue[]; notes: string[] }> {
  const teamPolicy = deps.opts.policies.forGroup(project.namespaceFullPath);
  // The project's real protected branches and tags join the policy's patterns; a ref the
  // pipeline relies on that GitLab does not protect is the live check protected-ref-assumed.
  // Read from the target branch at the base commit only: the MR must not weaken its own gate.
  // Like the project's settings and protected refs, the file is kept per project (and target
  // branch) for the project cache's TTL: MRs on a moving target branch do not read it again per
  // base sha; a change to it on the target branch applies within the TTL. Never the MR head.
  // Read while the protected refs are read.
  const read = () => rawAt(deps, project.id, PROJECT_POLICY_FILE, base.sha);
  const [protectedRefs, text] = await settleAll([
    readProtectedRefs(deps.api, project.id),
    deps.opts.projectCache?.get(project.id, `file:${PROJECT_POLICY_FILE}@${base.branch}`, read, { shared: policyFileCodec }) ?? read(),
  ]);
  let policy = withProtectedRefs(teamPolicy, protectedRefs);
  const notes: string[] = [];
  const fallback = protectedTagsFallbackNote(protectedRefs, teamPolicy.protected.tags);
  if (fallback) notes.push(fallback);
  let rejections: PolicyIssue[] = [];
  if (text !== null) {
    try {
      const r = applyProjectOverride(policy, PROJECT_POLICY_FILE, text, { rules: RULE_CATALOGUE });
      policy = r.policy;
      rejections = r.rejections;
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      notes.push(`${PROJECT_POLICY_FILE} on the target branch is invalid and was ignored: ${err.message}`);
      log.warn({ err: err.message }, 'invalid project policy file ignored');
    }
  }
  return { policy, teamPolicy, protectedRefs, rejections, notes };
}

interface RunnerCandidates {
  files: string[];
  head: RunnerFile[];
  base: RunnerFile[];
}

/** Changed files that are runner configurations at the head or the base commit, with their text. */
async function runnerConfigs(deps: ReviewDeps, projectId: number, diffs: readonly GitLabDiff[], headSha: string, baseSha: string, max: number): Promise<RunnerCandidates> {
  const out: RunnerCandidates = { files: [], head: [], base: [] };
  const candidates = diffs.filter((d) => /\.(toml|ya?ml)$/i.test(d.newPath)).slice(0, max);
  for (const d of candidates) {
    // The CI files among them were read for the evaluation already: the FileCache serves them.
    const headText = d.deletedFile ? null : await rawAt(deps, projectId, d.newPath, headSha);
    const baseText = d.newFile ? null : await rawAt(deps, projectId, d.oldPath, baseSha);
    const isRunner = (f: string, t: string | null): t is string => t !== null && Buffer.byteLength(t) <= MAX_RUNNER_CONFIG_BYTES && looksLikeRunnerConfig(f, t) !== undefined;
    if (!isRunner(d.newPath, headText) && !isRunner(d.oldPath, baseText)) continue;
    out.files.push(d.newPath);
    if (isRunner(d.newPath, headText)) out.head.push({ path: d.newPath, text: headText });
    if (isRunner(d.oldPath, baseText)) out.base.push({ path: d.oldPath, text: baseText });
  }
  return out;
}

interface StatusReporter {
  set(projectId: number, mr: StatusMr, state: CommitState, description: string, targetUrl?: string): Promise<void>;
  answer(projectId: number, iid: number, sha: string, passed: boolean, log: Logger): Promise<void>;
}

/** Sets commit statuses (always on the target `statusTarget` names) and answers the External Status Check. */
function createStatusReporter(api: GitLabApi, statusCheckProjects: 'all' | number[]): StatusReporter {
  const checkIds = new Map<number, { id: number | null; at: number }>();

  async function statusCheckId(projectId: number, log: Logger): Promise<number | null> {
    if (statusCheckProjects !== 'all' && !statusCheckProjects.includes(projectId)) return null;
    const hit = checkIds.get(projectId);
    if (hit && Date.now() - hit.at < 5 * 60_000) return hit.id;
    try {
      const checks = await api.listExternalStatusChecks(projectId);
      const found = checks.find((c) => c.name.toLowerCase() === STATUS_CHECK_NAME);
      checkIds.set(projectId, { id: found?.id ?? null, at: Date.now() });
      return found?.id ?? null;
    } catch (err) {
      // 403/404: not GitLab Ultimate, or no permission: nothing to answer.
      log.warn({ err: errText(err) }, 'external status checks are not available for this project');
      checkIds.set(projectId, { id: null, at: Date.now() });
      return null;
    }
  }

  return {
    set: (projectId: number, mr: StatusMr, state: CommitState, description: string, targetUrl?: string) => statusOf(api, projectId, mr, state, description, targetUrl),
    async answer(projectId: number, iid: number, sha: string, passed: boolean, log: Logger): Promise<void> {
      const id = await statusCheckId(projectId, log);
      if (id === null) return;
      try {
        await api.postStatusCheckResponse(projectId, iid, { sha, externalStatusCheckId: id, status: passed ? 'passed' : 'failed' });
      } catch (err) {
        log.warn({ err: errText(err) }, 'could not answer the external status check');
      }
    },
  };
}

type CommitState = 'pending' | 'running' | 'success' | 'failed';

/** The one place a commit status is built: every status goes where `statusTarget` says. */
async function statusOf(api: GitLabApi, projectId: number, mr: StatusMr, state: CommitState, description: string, targetUrl?: string): Promise<void> {
  await api.setCommitStatus(projectId, mr.sha, {
    state,
    name: STATUS_NAME,
    description,
    ...(targetUrl ? { targetUrl } : {}),
    ...statusTarget(mr),
  });
}

type StatusMr = Pick<GitLabMergeRequest, 'iid' | 'sha' | 'headPipelineId' | 'sourceProjectId' | 'targetProjectId'>;

/**
 * Where a status goes. Attach to the MR's head pipeline, or a later CI pipeline would become the
 * head pipeline and a failed status in a separate external pipeline would stop blocking (GitLab
 * issues 443254, 535437). For a fork MR without a pipeline the head sha only exists in the target
 * project under refs/merge-requests/:iid/head, and GitLab needs that `ref` (lib/api/commit_statuses.rb
 * answers "404 References for commit Not Found" otherwise).
 */
function statusTarget(mr: StatusMr): { pipelineId: number } | { ref: string } | Record<string, never> {
  if (mr.headPipelineId !== null) return { pipelineId: mr.headPipelineId };
  if (mr.sourceProjectId !== mr.targetProjectId) return { ref: `refs/merge-requests/${mr.iid}/head` };
  return {};
}

/** A short, token-free description of an error for statuses and logs. */
export function errText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}
