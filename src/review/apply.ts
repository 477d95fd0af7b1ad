import { PositionRejectedError } from '../gitlab/errors.js';
import type { GitLabApi } from '../gitlab/types.js';
import { SUMMARY_MARKER } from './markers.js';
import { renderSummary, sameNoteBody } from './render.js';
import type { ReviewInput, ReviewPlan } from './types.js';
import { firstLine } from '../util/text.js';

interface ApplyLogger {
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface ApplyOptions {
  /**
   * Pause between note creations (discussions, replies, the summary). GitLab.com allows as few
   * as 60 new notes a minute per user (GITLAB-FACTS "Rate limits"); default 1000 ms.
   */
  paceMs?: number;
  logger?: ApplyLogger;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
}

interface ApplyFailure {
  action: 'create' | 'reopen' | 'resolve' | 'reply';
  fingerprint: string;
  message: string;
}

export interface ApplyResult {
  created: number;
  reopened: number;
  resolved: number;
  replies: number;
  summary: 'created' | 'edited' | 'unchanged';
  summaryNoteId: number;
  /** Findings planned inline but listed in the summary because GitLab refused the position. */
  inlineRejected: string[];
  /** Findings planned inline whose create failed otherwise (listed in the summary; retried next run). */
  inlineFailed: string[];
  /** Non-fatal failures (the summary still went out). */
  failures: ApplyFailure[];
  /** API calls made / skipped because nothing would change. */
  calls: number;
  skipped: number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Perform a review plan on GitLab, idempotently:
 * 1. reopen tierguard's discussions whose finding is back (with a one-line reply);
 * 2. resolve the ones whose finding is gone (reply once, then resolve);
 * 3. create the inline discussions, each with its finding marker as idempotency marker, so an
 *    ambiguous failure (timeout, 5xx) that actually landed is found instead of posted twice;
 *    a position GitLab refuses (PositionRejectedError) moves the finding to the summary;
 * 4. edit the summary note in place (skipped when the body is unchanged, like Renovate's
 *    ensureComment), or create it with the summary marker as idempotency marker.
 * Note creations are paced by `paceMs`. The commit status is left to the caller.
 *
 * Discussion-level failures other than a refused position are collected in `failures` (the
 * finding goes to the summary); a failure to write the summary is thrown.
 */
export async function applyReview(
  api: GitLabApi,
  input: Pick<ReviewInput, 'projectId' | 'mrIid'>,
  plan: ReviewPlan,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const { projectId, mrIid } = input;
  const paceMs = Math.max(0, opts.paceMs ?? 1000);
  const sleep = opts.sleep ?? realSleep;
  const log = opts.logger;
  const result: ApplyResult = {
    created: 0,
    reopened: 0,
    resolved: 0,
    replies: 0,
    summary: 'unchanged',
    summaryNoteId: plan.summary.noteId ?? 0,
    inlineRejected: [],
    inlineFailed: [],
    failures: [],
    calls: 0,
    skipped: 0,
  };
  let createdBefore = false;
  const paced = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (createdBefore && paceMs > 0) await sleep(paceMs);
    createdBefore = true;
    result.calls += 1;
    return fn();
  };
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    result.calls += 1;
    return fn();
  };

  for (const r of plan.reopen) {
    try {
      await call(() => api.resolveDiscussion(projectId, mrIid, r.discussionId, false));
      result.reopened += 1;
      if (r.reply) {
        await paced(() => api.replyToDiscussion(projectId, mrIid, r.discussionId, r.reply!, { idempotencyMarker: firstLine(r.reply!) }));
        result.replies += 1;
      }
    } catch (err) {
      result.failures.push({ action: 'reopen', fingerprint: r.fingerprint, message: describe(err) });
      log?.warn({ fingerprint: r.fingerprint, err: describe(err) }, 'could not reopen a tierguard discussion');
    }
  }

  for (const r of plan.resolve) {
    try {
      if (r.replied) result.skipped += 1;
      else {
        await paced(() => api.replyToDiscussion(projectId, mrIid, r.discussionId, r.reply, { idempotencyMarker: firstLine(r.reply) }));
        result.replies += 1;
      }
      await call(() => api.resolveDiscussion(projectId, mrIid, r.discussionId, true));
      result.resolved += 1;
    } catch (err) {
      result.failures.push({ action: 'resolve', fingerprint: r.fingerprint, message: describe(err) });
      log?.warn({ fingerprint: r.fingerprint, err: describe(err) }, 'could not resolve a tierguard discussion');
    }
  }

  for (const d of plan.create) {
    try {
      await paced(() =>
        api.createDiscussion(projectId, mrIid, d.body, d.position, { idempotencyMarker: d.marker ?? firstLine(d.body) }),
      );
      result.created += 1;
    } catch (err) {
      if (err instanceof PositionRejectedError) {
        result.inlineRejected.push(d.fingerprint, ...(d.covers ?? []));
        log?.info?.({ fingerprint: d.fingerprint, path: d.position.newPath, line: d.position.newLine }, 'GitLab refused the inline position; listing the finding in the summary');
      } else {
        result.inlineFailed.push(d.fingerprint, ...(d.covers ?? []));
        result.failures.push({ action: 'create', fingerprint: d.fingerprint, message: describe(err) });
        log?.warn({ fingerprint: d.fingerprint, err: describe(err) }, 'could not create an inline discussion; listing the finding in the summary');
      }
    }
  }

  const body =
    (result.inlineRejected.length || result.inlineFailed.length) && plan.summaryInput
      ? renderSummary(plan.summaryInput, result.inlineRejected, result.inlineFailed)
      : plan.summary.body;
  if (plan.summary.noteId !== undefined) {
    if (sameNoteBody(plan.summary.previousBody, body)) {
      result.skipped += 1;
    } else {
      await call(() => api.editNote(projectId, mrIid, plan.summary.noteId!, body));
      result.summary = 'edited';
    }
  } else {
    if (!body.startsWith(SUMMARY_MARKER)) throw new Error('review summary body lacks its marker');
    const note = await paced(() => api.createNote(projectId, mrIid, body, { idempotencyMarker: SUMMARY_MARKER }));
    result.summary = 'created';
    result.summaryNoteId = note.id;
  }
  return result;
}
