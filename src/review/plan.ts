import type { Finding } from '../findings/finding.js';
import { changedLines, normalizePath } from './diff.js';
import { actionMarker, findingMarker, markerSafe, readOwnState } from './markers.js';
import { mdCode, renderInline, renderSummary, renderTrustGraph, sameNoteBody, type Masker, type SummaryInput, type SummaryRow } from './render.js';
import type { PlannedDiscussion, ReviewInput, ReviewPlan } from './types.js';

/** GitLab's commit status description limit (app/models/commit_status.rb). */
const DESCRIPTION_MAX = 255;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const short = (sha: string): string => sha.slice(0, 8);

/** Several maskers in a row (the head evaluation's sources, then extra sources). */
export function combineMaskers(...maskers: (Masker | undefined)[]): Masker {
  const list = maskers.filter((m): m is Masker => m !== undefined);
  return { maskText: (t) => list.reduce((acc, m) => m.maskText(acc), t) };
}

/**
 * Decide what tierguard says on the MR, from the evaluation and what is already there. Pure:
 * no I/O, same input → same plan, so a re-run with the same findings plans nothing but an
 * (unchanged) summary.
 *
 * - new = fingerprint not among the base findings; status blocks on new blocking findings, or
 *   on every blocking finding with `blockOn: 'all'`; suppressed findings never block.
 * - a new, unsuppressed finding on a line the MR adds or changes gets one inline discussion,
 *   unless tierguard already has a discussion with that fingerprint;
 * - a tierguard discussion that tierguard itself resolved, whose finding is back, is reopened
 *   (one a person resolved while the finding was still there stays resolved: their call);
 * - a tierguard discussion whose finding is gone (or now suppressed) is resolved with a reply,
 *   once; already-resolved ones are left alone;
 * - every finding is listed in the summary note.
 */
export function planReview(input: ReviewInput): ReviewPlan {
  const masker = combineMaskers(input.head.sources, input.extraSources);
  const findings: Finding[] = [...input.head.findings, ...(input.extraFindings ?? [])];
  const baseFps = new Set(input.baseFindings.map((f) => f.fingerprint));
  const changed = changedLines(input.diffs);
  const paths = new Map<string, { newPath: string; oldPath: string }>();
  for (const d of input.diffs) if (!d.deletedFile) paths.set(normalizePath(d.newPath), { newPath: d.newPath, oldPath: d.oldPath });
  const own = readOwnState(input.existing, input.botUserId);
  const meta = new Map((input.catalogue ?? []).map((m) => [m.id, m]));
  const sha = input.diffRefs.headSha || input.headSha;
  // Positions GitLab refused at this very sha (a recheck): do not ask again.
  const refusedHere = new Set(own.summary?.state?.sha === input.headSha ? (own.summary.state.rej ?? []) : []);

  const maxInline = Math.max(0, input.maxInlineDiscussions ?? input.policy?.review.maxInlineDiscussions ?? DEFAULT_MAX_INLINE);
  const groups = groupSameLine(findings, baseFps, changed, own.discussions);

  const create: PlannedDiscussion[] = [];
  const planned = new Set<string>();
  /** Row of each finding a planned discussion stands for (the group members ride along). */
  const rowOf = new Map<string, SummaryRow>();
  const reopen: ReviewPlan['reopen'] = [];
  const reopened = new Set<string>();
  const rows: SummaryRow[] = [];
  const present = new Set<string>();

  for (const f of findings) {
    const isNew = !baseFps.has(f.fingerprint);
    const active = !f.suppressed;
    const row: SummaryRow = { finding: f, isNew, blocksStatus: active && f.blocking && (input.blockOn === 'all' || isNew), placement: 'summary' };
    rows.push(row);
    if (!active) continue;
    present.add(f.fingerprint);
    rowOf.set(f.fingerprint, row);
    const group = groups.get(f.fingerprint);
    if (group && group.leader !== f.fingerprint) {
      // One discussion (the leader's, existing or planned) speaks for the whole line.
      row.placement = 'inline';
      continue;
    }

    const ex = own.discussions.get(f.fingerprint);
    if (ex) {
      row.placement = 'inline';
      if (ex.resolved && ex.lastAction?.kind === 'resolved' && !reopened.has(f.fingerprint)) {
        reopened.add(f.fingerprint);
        reopen.push({
          discussionId: ex.discussionId,
          fingerprint: f.fingerprint,
          reply: `${actionMarker('reopened', f.fingerprint, sha)}\nReopened: this finding appears again at \`${short(sha)}\`.`,
        });
      }
      continue;
    }
    if (!isNew || !markerSafe(f.fingerprint)) continue;
    const file = normalizePath(f.location.file);
    const lines = changed.get(file);
    const where = paths.get(file);
    if (!lines || !where || !lines.has(f.location.line)) continue;
    if (planned.has(f.fingerprint)) {
      row.placement = 'inline';
      continue;
    }
    if (refusedHere.has(f.fingerprint)) {
      row.placement = 'inline-rejected';
      continue;
    }
    const r = renderInline(f, { isNew, meta: meta.get(f.ruleId), docsBaseUrl: input.docsBaseUrl, changed: lines, masker });
    planned.add(f.fingerprint);
    row.placement = 'inline';
    create.push({
      fingerprint: f.fingerprint,
      finding: f,
      body: group ? withJobs(r.body, group.jobs, masker) : r.body,
      ...(group ? { covers: group.members.filter((fp) => fp !== f.fingerprint) } : {}),
      marker: findingMarker(f.fingerprint),
      suggestion: r.suggestion,
      position: {
        baseSha: input.diffRefs.baseSha,
        startSha: input.diffRefs.startSha,
        headSha: input.diffRefs.headSha,
        newPath: where.newPath,
        oldPath: where.oldPath,
        newLine: r.line,
      },
    });
  }

  // The budget: at most maxInline tierguard discussions on the MR (the open ones it keeps count
  // too); blocking findings first, then by file and line. The rest are listed in the summary.
  const kept = [...own.discussions.values()].filter((d) => present.has(d.fingerprint) && !d.resolved).length;
  const room = Math.max(0, maxInline - kept);
  let overBudget = 0;
  if (create.length > room) {
    const blocks = (d: PlannedDiscussion) => Number(rowOf.get(d.fingerprint)?.blocksStatus ?? false);
    create.sort(
      (a, b) =>
        blocks(b) - blocks(a) ||
        Number(b.finding.severity === 'error') - Number(a.finding.severity === 'error') ||
        a.position.newPath.localeCompare(b.position.newPath) ||
        a.position.newLine - b.position.newLine ||
        a.fingerprint.localeCompare(b.fingerprint),
    );
    for (const d of create.splice(room)) {
      for (const fp of groups.get(d.fingerprint)?.members ?? [d.fingerprint]) {
        const row = rowOf.get(fp);
        if (row) row.placement = 'over-budget';
        overBudget += 1;
      }
    }
  }

  const resolve: ReviewPlan['resolve'] = [];
  for (const ex of own.discussions.values()) {
    if (present.has(ex.fingerprint) || ex.resolved) continue;
    const suppressed = findings.find((f) => f.fingerprint === ex.fingerprint && f.suppressed);
    const why = suppressed
      ? `Resolved: this finding is suppressed by ${suppressed.suppressed!.kind === 'exception' ? 'a policy exception' : 'an inline comment'} at \`${short(sha)}\`.`
      : `Resolved: this finding no longer appears at \`${short(sha)}\`.`;
    resolve.push({
      discussionId: ex.discussionId,
      fingerprint: ex.fingerprint,
      reply: `${actionMarker('resolved', ex.fingerprint, sha)}\n${why}`,
      ...(ex.lastAction?.kind === 'resolved' ? { replied: true } : {}),
    });
  }

  const active = rows.filter((r) => !r.finding.suppressed);
  const counts = {
    blocking: active.filter((r) => r.blocksStatus).length,
    errors: active.filter((r) => r.finding.severity === 'error').length,
    warnings: active.filter((r) => r.finding.severity === 'warning').length,
    newFindings: active.filter((r) => r.isNew).length,
  };
  const otherErrors = counts.errors - active.filter((r) => r.blocksStatus && r.finding.severity === 'error').length;
  const status = {
    state: counts.blocking > 0 ? ('failed' as const) : ('success' as const),
    description: withLiveSkipped(statusDescription(counts.blocking, counts.warnings, otherErrors), input.liveSkipped ?? 0),
  };

  const summaryInput: SummaryInput = {
    headSha: input.headSha,
    blockOn: input.blockOn,
    rows,
    status,
    policySources: input.policySources,
    notes: [...new Set([...input.head.notes, ...input.notes])],
    graph: renderTrustGraph(input.head, { policy: input.policy, maxJobs: input.maxGraphJobs }),
    masker,
    docsBaseUrl: input.docsBaseUrl,
    ...(overBudget > 0 ? { inlineBudget: { max: maxInline, over: overBudget } } : {}),
  };
  const body = renderSummary(summaryInput);
  return {
    create,
    resolve,
    reopen,
    summary: {
      ...(own.summary ? { noteId: own.summary.noteId, previousBody: own.summary.body, unchanged: sameNoteBody(own.summary.body, body) } : {}),
      body,
    },
    summaryInput,
    status,
    counts,
    ...(overBudget > 0 ? { overBudget } : {}),
  };
}

/** review.maxInlineDiscussions when no policy says otherwise. */
export const DEFAULT_MAX_INLINE = 25;

/** Job names listed in a grouped discussion; past this, a count. */
const GROUP_JOBS_SHOWN = 10;

interface LineGroup {
  /** The finding whose discussion speaks for the group (an existing one if any). */
  leader: string;
  members: string[];
  jobs: string[];
}

/**
 * Findings of one rule on one line for many jobs (e.g. 100 jobs sharing one `tags: []` through
 * an anchor) become one discussion naming the jobs. Only new findings on changed lines that
 * would get a discussion are grouped; a line where tierguard already has a discussion for one of
 * them keeps that one for all. Fingerprint → its group (only groups of two or more).
 */
function groupSameLine(
  findings: readonly Finding[],
  baseFps: ReadonlySet<string>,
  changed: ReadonlyMap<string, ReadonlySet<number>>,
  existing: ReadonlyMap<string, unknown>,
): Map<string, LineGroup> {
  const byLine = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.suppressed || !markerSafe(f.fingerprint)) continue;
    const file = normalizePath(f.location.file);
    if (!existing.has(f.fingerprint) && (baseFps.has(f.fingerprint) || !changed.get(file)?.has(f.location.line))) continue;
    const key = `${f.ruleId}\0${file}\0${f.location.line}`;
    const list = byLine.get(key) ?? [];
    if (!list.some((x) => x.fingerprint === f.fingerprint)) list.push(f);
    byLine.set(key, list);
  }
  const out = new Map<string, LineGroup>();
  for (const list of byLine.values()) {
    if (list.length < 2) continue;
    const sorted = [...list].sort((a, b) => (a.job ?? '').localeCompare(b.job ?? '') || a.fingerprint.localeCompare(b.fingerprint));
    const leader = (sorted.find((f) => existing.has(f.fingerprint)) ?? sorted[0]).fingerprint;
    const group: LineGroup = { leader, members: sorted.map((f) => f.fingerprint), jobs: [...new Set(sorted.map((f) => f.job).filter((j): j is string => !!j))] };
    for (const f of sorted) out.set(f.fingerprint, group);
  }
  return out;
}

/** Name the jobs of a grouped discussion above its footer. */
function withJobs(body: string, jobs: readonly string[], masker: Masker): string {
  if (jobs.length < 2) return body;
  const shown = jobs.slice(0, GROUP_JOBS_SHOWN).map((j) => mdCode(j)).join(', ');
  const more = jobs.length > GROUP_JOBS_SHOWN ? ` and ${jobs.length - GROUP_JOBS_SHOWN} more` : '';
  const line = masker.maskText(`**The same finding on this line for ${jobs.length} jobs:** ${shown}${more}.`);
  const at = body.lastIndexOf('\n<sub>tierguard');
  return at < 0 ? `${body}\n\n${line}` : `${body.slice(0, at)}\n${line}\n${body.slice(at)}`;
}

/**
 * Live checks that could not run are not a pass: the status description (and so the summary's
 * headline) says how many were skipped; the summary lists which and why.
 */
function withLiveSkipped(description: string, skipped: number): string {
  if (skipped === 0) return description;
  const suffix = `; ${skipped} live check${skipped === 1 ? '' : 's'} skipped (not verified)`;
  return description.length + suffix.length <= DESCRIPTION_MAX ? description + suffix : description.slice(0, DESCRIPTION_MAX - suffix.length - 1) + '…' + suffix;
}

/**
 * "2 blocking, 3 warnings", "no blocking findings (1 error already on the target branch,
 * 3 warnings)", "no findings" — at most 255 characters.
 */
export function statusDescription(blocking: number, warnings: number, nonBlockingErrors: number): string {
  const extra: string[] = [];
  let text: string;
  if (blocking > 0) {
    text = `${blocking} blocking, ${plural(warnings, 'warning')}`;
    if (nonBlockingErrors > 0) text += `, ${plural(nonBlockingErrors, 'error')} already on the target branch`;
  } else {
    if (nonBlockingErrors > 0) extra.push(`${plural(nonBlockingErrors, 'error')} already on the target branch`);
    if (warnings > 0) extra.push(plural(warnings, 'warning'));
    text = extra.length ? `no blocking findings (${extra.join(', ')})` : 'no findings';
  }
  return text.length > DESCRIPTION_MAX ? text.slice(0, DESCRIPTION_MAX - 1) + '…' : text;
}
