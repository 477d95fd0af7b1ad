import type { Finding } from '../findings/finding.js';
import type { SourceFiles } from '../findings/sources.js';
import type { DiffRefs, GitLabDiff, GitLabDiscussion } from '../gitlab/types.js';
import type { Policy } from '../policy/types.js';
import type { Evaluation } from '../rules/engine.js';
import type { RuleMeta } from '../findings/rule-meta.js';
import type { SummaryInput } from './render.js';

/**
 * The review of one merge request at one head sha: what tierguard found, compared with the
 * target branch, and what is already on the MR. `planReview` turns it into GitLab actions;
 * `applyReview` performs them idempotently.
 */
export interface ReviewInput {
  projectId: number;
  mrIid: number;
  headSha: string;
  diffRefs: DiffRefs;
  /** The MR's diffs (decides which findings are on added/changed lines). */
  diffs: GitLabDiff[];
  /** Evaluation at the head commit (findings, sources with secrets registered, trust per job). */
  head: Evaluation;
  /** Findings at the base commit, to tell "new in this MR" from "already on the target branch". */
  baseFindings: Finding[];
  /** Extra findings outside the pipeline evaluation (runner configs, live checks, policy). */
  extraFindings?: Finding[];
  extraSources?: SourceFiles;
  /** Discussions already on the MR (tierguard's own are recognised by their hidden marker). */
  existing: GitLabDiscussion[];
  /** tierguard's GitLab user id (only its own notes are edited/resolved). */
  botUserId: number;
  /** Policy files applied (shown in the summary). */
  policySources: string[];
  /** Notes such as unresolved includes and skipped live checks (shown in the summary). */
  notes: string[];
  /** `new`: only findings new in this MR block; `all`: every blocking finding blocks. */
  blockOn: 'new' | 'all';
  /** Link target for the status (the summary note URL is derived from the MR web URL). */
  mrWebUrl: string;
  /** The resolved policy: runner tiers of the jobs in the summary's picture (else their tags). */
  policy?: Policy;
  /** Rule metadata (title and "how to fix" text in inline discussions). */
  catalogue?: readonly RuleMeta<any>[];
  /** Base URL for rule docs links (`<base>/docs/rules/<id>.md`); else the path as text. */
  docsBaseUrl?: string;
  /** Cap on job names in the summary's Mermaid picture (default 40). */
  maxGraphJobs?: number;
  /** How many live checks could not run (said in the status and the summary, never a pass). */
  liveSkipped?: number;
  /** At most this many inline discussions (default: policy review.maxInlineDiscussions, else 25). */
  maxInlineDiscussions?: number;
}

export interface PlannedDiscussion {
  fingerprint: string;
  finding: Finding;
  /** Markdown body with the hidden marker and, where the fix is mechanical, a suggestion block. */
  body: string;
  position: { baseSha: string; startSha: string; headSha: string; newPath: string; oldPath: string; newLine: number };
  /** The hidden marker in `body` (the idempotency marker of the create). */
  marker?: string;
  /** Whether `body` carries a GitLab suggestion block. */
  suggestion?: boolean;
  /** Other findings this discussion speaks for (same rule and line, other jobs). */
  covers?: string[];
}

export interface ReviewPlan {
  /** New findings on changed lines: one inline discussion each. */
  create: PlannedDiscussion[];
  /** tierguard discussions whose finding is gone: resolve with a one-line reply. */
  resolve: {
    discussionId: string;
    fingerprint: string;
    reply: string;
    /** The reply is already on the discussion (an earlier run posted it, then failed to resolve). */
    replied?: boolean;
  }[];
  /** tierguard discussions that were resolved but whose finding is back: reopen. */
  reopen: { discussionId: string; fingerprint: string; /** One-line reply saying why. */ reply?: string }[];
  /** The one summary note (edited in place when it exists). */
  summary: {
    noteId?: number;
    body: string;
    /** The body currently on GitLab (the edit is skipped when equal). */
    previousBody?: string;
    /** `body` equals `previousBody` (line endings aside): nothing to edit. */
    unchanged?: boolean;
  };
  /** What the summary is rendered from, to re-render it with inline positions GitLab refused. */
  summaryInput?: SummaryInput;
  /** Commit status outcome. */
  status: { state: 'success' | 'failed'; description: string };
  counts: { blocking: number; errors: number; warnings: number; newFindings: number };
  /** Findings on changed lines listed only in the summary because of review.maxInlineDiscussions. */
  overBudget?: number;
}
