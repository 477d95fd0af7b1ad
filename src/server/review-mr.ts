/**
 * The review of one MR for one queued job: read through the GitLab adapter, evaluate the CI
 * configuration at the head and at the base commit, plan and apply the review, set the commit
 * status (and the External Status Check where configured).
 */
import type { Logger } from 'pino';
import { allRuleMetas } from '../catalogue/catalogue.js';
import type { Finding } from '../findings/finding.js';
import { SourceFiles } from '../findings/sources.js';
import { FileCache, GitLabConfigSource, type RemoteFetchOptions } from '../gitlab/config-source.js';
import { isPermanent, isTransient } from '../gitlab/errors.js';
import type { ReadResult } from '../model/source.js';
import { LiveCache, runLiveChecks, type LiveCheckResult } from '../live/index.js';
import { protectedTagsFallbackNote, readProtectedRefs, withProtectedRefs, type ProtectedRefs } from '../live/protected-refs.js';
import type { GitLabApi, GitLabDiscussion, GitLabMergeRequest, GitLabProject } from '../gitlab/types.js';
import { PolicyError } from '../policy/errors.js';
import { applyProjectOverride, projectOverrideFindings, PROJECT_POLICY_FILE } from '../policy/project.js';
import type { Policy } from '../policy/types.js';
import { applyReview } from '../review/apply.js';
import { planReview } from '../review/plan.js';
import { renderSummary, sameNoteBody } from '../review/render.js';
import type { ReviewPlan } from '../review/types.js';
import type { Evaluation } from '../rules/engine.js';
import { lintPipeline } from '../rules/run.js';
import { checkRunnerConfig, looksLikeRunnerConfig, MAX_RUNNER_CONFIG_BYTES } from '../runner/check.js';
import type { ServiceConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { PolicyLoader } from './policies.js';
import type { FinalFailureInfo, ReviewJob } from './queue.js';

/** Rule metadata for the review's "how to fix" text and the project-file validation. */
const RULE_CATALOGUE = allRuleMetas();

export const STATUS_NAME = 'tierguard';
export const STATUS_CHECK_NAME = 'tierguard';

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
}

export interface LiveReviewOptions {
  /** TTL of the per-project live data cache in seconds (default 60; 0: no caching). */
  cacheTtlSeconds?: number;
  /** A cache to use instead of a new one (tests, or sharing between reviewers). */
  cache?: LiveCache;
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
export function skippedLiveNotes(skipped: readonly { check: string; needs: string; reason: string }[], catalogue: readonly { id: string; title: string }[] = []): string[] {
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

export type ReviewOutcome =
  | { result: 'skipped'; why: string }
  /** GitLab refused a read or write for good (401/403/404): one failed status where possible, no retry. */
  | { result: 'refused'; why: string; sha?: string }
  | { result: 'no_ci_changes'; sha: string }
  | { result: 'success' | 'failed'; sha: string; blocking: number; warnings: number; summaryNoteId?: number };

/** Files whose change can change what tierguard judges: includes must end in .yml/.yaml, runner configs are .toml or Helm values. */
const CONFIG_EXT = /\.(ya?ml|toml)$/i;

export interface Reviewer {
  review(job: ReviewJob): Promise<ReviewOutcome>;
  /** After the last failed attempt: make sure the status says so (fail closed), once. */
  reportFailure(job: ReviewJob, err: unknown, info?: FinalFailureInfo): Promise<void>;
  /** tierguard's own user id once known (events it caused are ignored). */
  botUserId(): number | undefined;
}

export function createReviewer(opts: ReviewerOptions): Reviewer {
  const { api, metrics } = opts;
  const cache = new FileCache();
  const liveCache =
    opts.live === undefined || opts.live === false ? undefined : (opts.live.cache ?? new LiveCache({ ttlMs: Math.max(0, opts.live.cacheTtlSeconds ?? 60) * 1000 }));
  /** project:iid → last head sha fully evaluated (stale events for older shas are skipped). */
  const done = new Map<string, string>();
  /** project:iid → the MR as the last attempt saw it (where the failure report sets its status). */
  const lastTarget = new Map<string, StatusMr & { webUrl: string }>();
  const checkIds = new Map<number, { id: number | null; at: number }>();
  let botId: number | undefined;

  const remember = (key: string, sha: string): void => {
    done.set(key, sha);
    if (done.size > 10_000) done.delete(done.keys().next().value as string);
  };

  async function statusCheckId(projectId: number, log: Logger): Promise<number | null> {
    const list = opts.statusCheckProjects ?? [];
    if (list !== 'all' && !list.includes(projectId)) return null;
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

  async function answerCheck(projectId: number, iid: number, sha: string, passed: boolean, log: Logger): Promise<void> {
    const id = await statusCheckId(projectId, log);
    if (id === null) return;
    try {
      await api.postStatusCheckResponse(projectId, iid, { sha, externalStatusCheckId: id, status: passed ? 'passed' : 'failed' });
    } catch (err) {
      log.warn({ err: errText(err) }, 'could not answer the external status check');
    }
  }

  async function setStatus(
    projectId: number,
    mr: Pick<GitLabMergeRequest, 'iid' | 'sha' | 'headPipelineId' | 'sourceProjectId' | 'targetProjectId'>,
    state: 'pending' | 'running' | 'success' | 'failed',
    description: string,
    targetUrl?: string,
  ): Promise<void> {
    await api.setCommitStatus(projectId, mr.sha, {
      state,
      name: STATUS_NAME,
      description,
      ...(targetUrl ? { targetUrl } : {}),
      ...statusTarget(mr),
    });
  }

  async function review(job: ReviewJob): Promise<ReviewOutcome> {
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
    const diffRefs = mr.diffRefs;
    lastTarget.set(key, mr);

    // One listing of the MR's discussions per review (the no-CI check and the plan share it).
    let discussions: Promise<GitLabDiscussion[]> | undefined;
    const listDiscussionsOnce = (): Promise<GitLabDiscussion[]> => {
      discussions ??= api.listDiscussions(job.projectId, job.mrIid);
      discussions.catch(() => {
        discussions = undefined;
      });
      return discussions;
    };
    const hasOwnDiscussions = async (): Promise<boolean> =>
      (await listDiscussionsOnce()).some((d) => d.notes[0]?.authorId === botId && d.notes[0].body.includes('<!-- tierguard:'));

    try {
      const project = await api.getProject(job.projectId);
      await setStatus(job.projectId, mr, 'running', 'tierguard is evaluating the CI configuration');

      const diffs = await api.listMergeRequestDiffs(job.projectId, job.mrIid);
      const changed = new Set<string>();
      for (const d of diffs) {
        changed.add(d.newPath);
        changed.add(d.oldPath);
      }
      const rootFile = project.ciConfigPath ?? '.gitlab-ci.yml';
      if (/@|^https?:\/\//i.test(rootFile)) {
        // The configuration lives in another project or at a URL (ci_config_path `file@group/project`):
        // this MR cannot change it.
        return await noCiChanges(job, mr, log, 'CI configuration is outside this project');
      }
      const anyConfigish = [...changed].some((p) => CONFIG_EXT.test(p) || p === rootFile);
      if (!anyConfigish && !(await hasOwnDiscussions())) return await noCiChanges(job, mr, log);

      const { policy, protectedRefs, extraFindings: policyFindings, notes: policyNotes } = await projectPolicy(project, diffRefs.baseSha, log);
      const today = opts.today?.() ?? new Date();
      // strict: what tierguard could not read is a blocking ci-config-unverified finding.
      const lintOpts = { policy, defaultBranch: project.defaultBranch ?? 'main', today, strict: true };
      const source = (sha: string) =>
        new GitLabConfigSource({
          api,
          projectId: job.projectId,
          sha,
          cache,
          remote: { ...opts.remote, allowedHosts: policy.remoteIncludeHosts },
          // GitLab reads other projects' includes as the pipeline's user: check the author may.
          pipelineUserId: mr.authorId,
        });

      const head = await lintPipeline(source(headSha), rootFile, lintOpts);
      let base: Evaluation | undefined;
      try {
        base = await lintPipeline(source(diffRefs.baseSha), rootFile, lintOpts);
      } catch (err) {
        if (isTransient(err)) throw err;
        log.warn({ err: errText(err) }, 'base commit could not be evaluated; its findings are treated as empty');
      }

      const readFiles = new Set<string>([rootFile, ...head.pipeline.files.map((f) => f.name), ...(base?.pipeline.files.map((f) => f.name) ?? [])]);
      const runner = await runnerConfigs(job.projectId, diffs, headSha, diffRefs.baseSha, policy, today, opts.maxRunnerCandidates ?? 50);
      const ciTouched = [...changed].some((p) => readFiles.has(p)) || runner.files.length > 0;
      if (!ciTouched && !(await hasOwnDiscussions())) return await noCiChanges(job, mr, log);

      // Live checks judge the head configuration against what GitLab has now: their findings
      // have no base counterpart, so they count as new (they describe the current state).
      const live = liveCache ? await liveChecks(job.projectId, head, policy, protectedRefs, today, log) : undefined;

      const existing = await listDiscussionsOnce();
      const plan = planReview({
        projectId: job.projectId,
        mrIid: job.mrIid,
        headSha,
        diffRefs,
        diffs,
        head,
        baseFindings: [...(base?.findings ?? []), ...runner.baseFindings],
        extraFindings: [...runner.headFindings, ...policyFindings, ...(live?.findings ?? [])],
        extraSources: runner.sources,
        existing,
        botUserId: me.id,
        policySources: policy.sources,
        notes: [...head.notes, ...runner.notes, ...policyNotes, ...(live?.notes ?? [])],
        blockOn: policy.review.blockOn,
        mrWebUrl: mr.webUrl,
        // For the runner tiers of the picture and the "how to fix" text of each rule.
        policy,
        catalogue: RULE_CATALOGUE,
      });
      if (live && live.skipped.length > 0) markLiveSkipped(plan, live.skipped);
      const applied = await applyReview(api, { projectId: job.projectId, mrIid: job.mrIid }, plan, { paceMs: opts.paceMs ?? 1000, logger: log });
      const summaryNoteId = applied.summaryNoteId || plan.summary.noteId;
      const targetUrl = summaryNoteId !== undefined ? `${mr.webUrl}#note_${summaryNoteId}` : mr.webUrl;
      await setStatus(job.projectId, mr, plan.status.state, plan.status.description, targetUrl);
      await answerCheck(job.projectId, job.mrIid, headSha, plan.status.state === 'success', log);

      for (const f of [...head.findings, ...runner.headFindings, ...(live?.findings ?? [])]) metrics?.findings.inc({ severity: f.severity });
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
      if (!isPermanent(err)) metrics?.evaluations.inc({ result: 'error' });
      log.error({ err: errText(err) }, 'review failed');
      if (isPermanent(err)) {
        // 401/403/404 will not heal by retrying: one clear failed status, and the job ends.
        metrics?.reviewsAbandoned.inc({ kind: 'permanent' });
        await setStatus(job.projectId, mr, 'failed', `tierguard could not evaluate: ${errText(err)}`, mr.webUrl).catch((e: unknown) =>
          log.error({ err: errText(e) }, 'could not set the failed status (the token may lack the Developer role)'),
        );
        return finish({ result: 'refused', why: errText(err), sha: headSha });
      }
      // The queue decides what follows: a transient GitLab failure is retried (for the retry
      // window), and the MR shows `pending` "waiting for GitLab" meanwhile — never `failed`,
      // and never a stale `success` (posting pending over `running` is a no-op: the status
      // stays `running`). When the queue gives up, reportFailure posts the one `failed` status.
      if (isTransient(err)) {
        await setStatus(job.projectId, mr, 'pending', `tierguard is waiting for GitLab (will retry): ${errText(err)}`, mr.webUrl).catch((e: unknown) =>
          log.warn({ err: errText(e) }, 'could not set the pending status'),
        );
      }
      throw err;
    }
  }

  async function noCiChanges(job: ReviewJob, mr: GitLabMergeRequest, log: Logger, description = 'no CI configuration changes'): Promise<ReviewOutcome> {
    await setStatus(job.projectId, mr, 'success', description, mr.webUrl);
    await answerCheck(job.projectId, job.mrIid, mr.sha, true, log);
    remember(`${job.projectId}:${job.mrIid}`, mr.sha);
    metrics?.evaluations.inc({ result: 'no_ci_changes' });
    log.info({ sha: mr.sha }, description);
    return { result: 'no_ci_changes', sha: mr.sha };
  }

  /**
   * Run the live checks for the head evaluation. Checks the token cannot run come back as
   * `skipped` (shown as such, never as passed); a failure of the checks as a whole (e.g. bad
   * rule options in the policy) skips them all with the reason rather than failing the review.
   */
  async function liveChecks(
    projectId: number,
    head: Evaluation,
    policy: Policy,
    protectedRefs: ProtectedRefs,
    today: Date,
    log: Logger,
  ): Promise<{ findings: Finding[]; notes: string[]; skipped: LiveCheckResult['skipped'] }> {
    let r: LiveCheckResult;
    try {
      r = await runLiveChecks(api, { projectId, evaluation: head, policy, protectedRefs }, { cache: liveCache, today });
    } catch (err) {
      if (isTransient(err)) throw err;
      log.warn({ err: errText(err) }, 'live checks could not run');
      const skipped = [{ check: 'live checks', needs: 'a valid policy and GitLab access', reason: errText(err) }];
      return { findings: [], notes: skippedLiveNotes(skipped, RULE_CATALOGUE), skipped };
    }
    // runLiveChecks words its own skip lines; the summary shows them in one fixed form.
    const own = new Set(r.skipped.map((s) => `Live check \`${s.check}\` skipped: ${s.reason} (needs ${s.needs}).`));
    const notes = [...skippedLiveNotes(r.skipped, RULE_CATALOGUE), ...r.notes.filter((n) => !own.has(n))];
    if (r.skipped.length) log.info({ skipped: [...new Set(r.skipped.map((s) => s.check))] }, 'live checks skipped');
    return { findings: r.findings, notes, skipped: r.skipped };
  }

  /** Load a file at a commit through the shared FileCache (same keys as GitLabConfigSource). */
  async function rawAt(projectId: number, path: string, sha: string): Promise<string | null> {
    const r: ReadResult = await cache.get(`${projectId}\0${sha}\0${path}`, async () => {
      const text = await api.getRawFile(projectId, path, sha);
      return text === null ? { status: 'missing' } : { status: 'ok', text };
    });
    if (r.status === 'ok') return r.text;
    if (r.status === 'missing') return null;
    // 'unavailable' (too large for an include, or no access): nothing tierguard can judge.
    return null;
  }

  async function projectPolicy(
    project: GitLabProject,
    baseSha: string,
    log: Logger,
  ): Promise<{ policy: Policy; protectedRefs: ProtectedRefs; extraFindings: Finding[]; notes: string[] }> {
    const teamPolicy = opts.policies.forGroup(project.namespaceFullPath);
    // The project's real protected branches and tags join the policy's patterns; a ref the
    // pipeline relies on that GitLab does not protect is the live check protected-ref-assumed.
    const protectedRefs = await readProtectedRefs(api, project.id);
    let policy = withProtectedRefs(teamPolicy, protectedRefs);
    const notes: string[] = [];
    const fallback = protectedTagsFallbackNote(protectedRefs, teamPolicy.protected.tags);
    if (fallback) notes.push(fallback);
    const extraFindings: Finding[] = [];
    // Read from the target branch at the base commit only: the MR must not weaken its own gate.
    const text = await rawAt(project.id, PROJECT_POLICY_FILE, baseSha);
    if (text !== null) {
      try {
        const r = applyProjectOverride(policy, PROJECT_POLICY_FILE, text, { rules: RULE_CATALOGUE });
        policy = r.policy;
        extraFindings.push(...projectOverrideFindings(r.rejections, teamPolicy));
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        notes.push(`${PROJECT_POLICY_FILE} on the target branch is invalid and was ignored: ${err.message}`);
        log.warn({ err: err.message }, 'invalid project policy file ignored');
      }
    }
    return { policy, protectedRefs, extraFindings, notes };
  }

  async function runnerConfigs(
    projectId: number,
    diffs: { newPath: string; oldPath: string; deletedFile: boolean; newFile: boolean }[],
    headSha: string,
    baseSha: string,
    policy: Policy,
    today: Date,
    max: number,
  ): Promise<{ files: string[]; headFindings: Finding[]; baseFindings: Finding[]; sources: SourceFiles; notes: string[] }> {
    const out = { files: [] as string[], headFindings: [] as Finding[], baseFindings: [] as Finding[], sources: new SourceFiles(), notes: [] as string[] };
    const candidates = diffs.filter((d) => /\.(toml|ya?ml)$/i.test(d.newPath)).slice(0, max);
    for (const d of candidates) {
      // The CI files among them were read for the evaluation already: the FileCache serves them.
      const headText = d.deletedFile ? null : await rawAt(projectId, d.newPath, headSha);
      const baseText = d.newFile ? null : await rawAt(projectId, d.oldPath, baseSha);
      const isRunner = (f: string, t: string | null) => t !== null && Buffer.byteLength(t) <= MAX_RUNNER_CONFIG_BYTES && looksLikeRunnerConfig(f, t) !== undefined;
      if (!isRunner(d.newPath, headText) && !isRunner(d.oldPath, baseText)) continue;
      out.files.push(d.newPath);
      if (headText !== null && isRunner(d.newPath, headText)) {
        try {
          const r = checkRunnerConfig(d.newPath, headText, policy, { today });
          out.headFindings.push(...r.findings);
          out.sources.absorb(r.sources);
        } catch (err) {
          out.notes.push(`${d.newPath}: runner configuration could not be read: ${errText(err)}`);
        }
      }
      if (baseText !== null && isRunner(d.oldPath, baseText)) {
        try {
          out.baseFindings.push(...checkRunnerConfig(d.oldPath, baseText, policy, { today }).findings);
        } catch {
          // An unreadable base file has no findings to compare with.
        }
      }
    }
    return out;
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
      await setStatus(job.projectId, target, 'failed', `tierguard could not evaluate: ${why}${errText(err)}`, target.webUrl);
    } catch (e) {
      log.error({ err: errText(e) }, 'could not report the evaluation failure on the merge request');
    }
  }

  return { review, reportFailure, botUserId: () => botId };
}

/**
 * Live checks that could not run are not a pass: the status description and the summary's
 * headline say how many were skipped (the summary lists which and why).
 */
function markLiveSkipped(plan: ReviewPlan, skipped: readonly { check: string }[]): void {
  const n = new Set(skipped.map((s) => s.check)).size;
  const suffix = `; ${n} live check${n === 1 ? '' : 's'} skipped (not verified)`;
  const max = 255;
  const base = plan.status.description;
  const description = base.length + suffix.length <= max ? base + suffix : base.slice(0, max - suffix.length - 1) + '…' + suffix;
  plan.status = { ...plan.status, description };
  if (plan.summaryInput) {
    plan.summaryInput = { ...plan.summaryInput, status: plan.status };
    const body = renderSummary(plan.summaryInput);
    plan.summary = { ...plan.summary, body, ...(plan.summary.previousBody !== undefined ? { unchanged: sameNoteBody(plan.summary.previousBody, body) } : {}) };
  }
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
  return msg.split('\n')[0].slice(0, 200);
}
