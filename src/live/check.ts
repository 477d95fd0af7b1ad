/**
 * `runLiveChecks`: run the live rules for one project against an evaluated pipeline. Data is
 * read lazily (a rule with nothing to judge costs no API call), once per run, and through the
 * optional per-project `LiveCache` across runs. A read the token is not allowed to make
 * (401/403/404) turns the checks that need it into *skipped* entries — never into a pass.
 */
import type { Finding } from '../findings/finding.js';
import type { GitLabApi } from '../gitlab/types.js';
import { Reporter } from '../policy/reporter.js';
import type { Policy } from '../policy/types.js';
import type { Evaluation } from '../rules/engine.js';
import { LiveCache } from './cache.js';
import { liveRules } from './catalogue.js';
import { liveLoader, type Loaded } from './load.js';
import type { ProtectedRefs } from './protected-refs.js';
import { allJobs } from './jobs.js';
import { pickers, runnerLabel } from './runners.js';
import { NEEDS, SkipCheck, type LiveData, type LiveDataKey, type LiveRule, type LiveRuleContext } from './types.js';

export interface LiveCheckInput {
  projectId: number | string;
  evaluation: Evaluation;
  policy: Policy;
  /** The project's protected refs when the caller has read them already (the service has). */
  protectedRefs?: ProtectedRefs;
}

export interface LiveCheckOptions {
  cache?: LiveCache;
  now?: () => number;
  /** For exception expiry (default: now). */
  today?: Date;
  /** Rules to run (default: the whole live catalogue). */
  rules?: readonly LiveRule<unknown>[];
}

export interface SkippedCheck {
  check: string;
  needs: string;
  reason: string;
}

export interface LiveCheckResult {
  findings: Finding[];
  skipped: SkippedCheck[];
  notes: string[];
}

export async function runLiveChecks(api: GitLabApi, input: LiveCheckInput, opts: LiveCheckOptions = {}): Promise<LiveCheckResult> {
  const { projectId, evaluation, policy } = input;
  const now = opts.now ?? Date.now;
  const today = opts.today ?? new Date(now());
  const load = liveLoader(api, projectId, { ...(opts.cache ? { cache: opts.cache } : {}), now, ...(input.protectedRefs ? { protectedRefs: input.protectedRefs } : {}) });

  async function need<K extends LiveDataKey>(key: K): Promise<LiveData[K]> {
    let r: Loaded<LiveData[K]>;
    try {
      r = await load(key);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new SkipCheck(NEEDS[key], `GitLab could not be read: ${msg}`);
    }
    if (!r.ok) throw new SkipCheck(NEEDS[key], r.reason);
    return r.data;
  }

  const reporter = new Reporter(policy, { today });
  const skipped: SkippedCheck[] = [];
  const notes: string[] = [];

  for (const rule of opts.rules ?? liveRules) {
    const id = rule.meta.id;
    const { configured, report } = reporter.rule(rule.meta);
    if (!configured) continue;
    const ctx: LiveRuleContext<unknown> = {
      projectId,
      evaluation,
      policy,
      options: configured.options,
      load: need,
      note: (text) => notes.push(text),
      skipPart: (needs, reason) => skipped.push({ check: id, needs, reason }),
      report,
    };
    try {
      await rule.run(ctx);
    } catch (err) {
      if (!(err instanceof SkipCheck)) throw err;
      skipped.push({ check: id, needs: err.needs, reason: err.reason });
    }
  }

  await untaggedJobNotes(evaluation, load, notes);

  const seenSkip = new Set<string>();
  const uniqueSkipped = skipped.filter((s) => {
    const k = `${s.check}\u0000${s.reason}`;
    if (seenSkip.has(k)) return false;
    seenSkip.add(k);
    return true;
  });
  for (const s of uniqueSkipped) notes.push(`Live check \`${s.check}\` skipped: ${s.reason} (needs ${s.needs}).`);

  return { findings: reporter.finish(), skipped: uniqueSkipped, notes };
}

/** "Untagged jobs are reported with the runners they would actually land on." */
async function untaggedJobNotes(
  evaluation: Evaluation,
  load: <K extends 'runners' | 'settings'>(key: K) => Promise<Loaded<LiveData[K]>>,
  notes: string[],
): Promise<void> {
  const untagged = allJobs(evaluation).filter(({ job: j }) => j.kind !== 'bridge' && j.tags.length === 0);
  if (untagged.length === 0) return;
  let runners: LiveData['runners'];
  let settings: LiveData['settings'] | null = null;
  try {
    const r = await load('runners');
    if (!r.ok) return; // already reported as skipped by the runner checks, or not needed
    runners = r.data;
    const s = await load('settings');
    if (s.ok) settings = s.data;
  } catch {
    return;
  }
  const MAX = 20;
  for (const { job, trust } of untagged.slice(0, MAX)) {
    const onUnprotected = !trust || trust.untrusted.length > 0;
    const list = pickers(runners, [], { refProtected: !onUnprotected, settings });
    notes.push(
      list.length
        ? `Untagged job \`${job.name}\` lands on ${list.map(runnerLabel).join(', ')}.`
        : `Untagged job \`${job.name}\`: no available runner takes untagged jobs${onUnprotected ? ' on unprotected refs' : ''}; it would stay pending.`,
    );
  }
  if (untagged.length > MAX) notes.push(`… and ${untagged.length - MAX} more untagged jobs.`);
}

