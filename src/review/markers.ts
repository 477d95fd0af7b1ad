import type { GitLabDiscussion, GitLabNote } from '../gitlab/types.js';

/**
 * Hidden markers that tie GitLab notes to tierguard's state. They survive in the raw note body
 * and do not render (GITLAB-FACTS "REST API"); they are not secret, so they are only believed
 * in notes authored by tierguard's own user (an MR author can paste any marker), and only on
 * the leading lines tierguard writes itself, before any text taken from the CI files.
 */

const FP = /^[A-Za-z0-9_-]{1,128}$/;

/** Whether a fingerprint can go into a marker (engine fingerprints are hex; others may not be). */
export function markerSafe(fingerprint: string): boolean {
  return FP.test(fingerprint);
}

export function findingMarker(fingerprint: string): string {
  if (!FP.test(fingerprint)) throw new Error(`invalid fingerprint for a marker: ${JSON.stringify(fingerprint)}`);
  return `<!-- tierguard:finding fp=${fingerprint} -->`;
}

export const SUMMARY_MARKER = '<!-- tierguard:summary -->';

/** Machine-readable state of the summary note. */
export interface SummaryState {
  v: 1;
  /** Fingerprints of every finding at `sha` (suppressed ones included). */
  fps: string[];
  /** Head sha the summary describes. */
  sha: string;
  /** Findings GitLab refused to place inline at `sha` (listed in the summary instead). */
  rej?: string[];
}

export function stateMarker(state: SummaryState): string {
  // JSON of fingerprints and a sha: no `-->` can occur; escape `<`/`>` anyway.
  const json = JSON.stringify(state).replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
  return `<!-- tierguard:state ${json} -->`;
}

/** Reply markers: what tierguard did to one of its discussions, and at which sha. */
export type ActionKind = 'resolved' | 'reopened';

export function actionMarker(kind: ActionKind, fingerprint: string, sha: string): string {
  if (!FP.test(fingerprint)) throw new Error(`invalid fingerprint for a marker: ${JSON.stringify(fingerprint)}`);
  if (!/^[0-9a-f]{1,64}$/i.test(sha)) throw new Error(`invalid sha for a marker: ${JSON.stringify(sha)}`);
  return `<!-- tierguard:${kind} fp=${fingerprint} sha=${sha} -->`;
}

// ---------------------------------------------------------------------------------------------
// Parsing (first line only: tierguard always writes its marker first)

const FINDING_RE = /^<!-- tierguard:finding fp=([A-Za-z0-9_-]{1,128}) -->$/;
const ACTION_RE = /^<!-- tierguard:(resolved|reopened) fp=([A-Za-z0-9_-]{1,128}) sha=([0-9a-fA-F]{1,64}) -->$/;
const STATE_RE = /^<!-- tierguard:state (\{.*\}) -->$/;

const firstLines = (body: string, n: number): string[] => body.split('\n', n).map((l) => l.replace(/\r$/, ''));

/** The fingerprint of a finding discussion's first note, or undefined. */
export function parseFindingMarker(body: string): string | undefined {
  return FINDING_RE.exec(firstLines(body, 1)[0] ?? '')?.[1];
}

export function parseActionMarker(body: string): { kind: ActionKind; fingerprint: string; sha: string } | undefined {
  const m = ACTION_RE.exec(firstLines(body, 1)[0] ?? '');
  return m ? { kind: m[1] as ActionKind, fingerprint: m[2]!, sha: m[3]! } : undefined;
}

function isSummaryBody(body: string): boolean {
  return firstLines(body, 1)[0] === SUMMARY_MARKER;
}

/** The state marker on the second line of a summary body; malformed → undefined. */
export function parseSummaryState(body: string): SummaryState | undefined {
  const lines = firstLines(body, 2);
  if (lines[0] !== SUMMARY_MARKER) return undefined;
  const m = STATE_RE.exec(lines[1] ?? '');
  if (!m) return undefined;
  try {
    const v = JSON.parse(m[1]!) as unknown;
    if (!v || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string' && FP.test(s));
    if (o.v !== 1 || typeof o.sha !== 'string' || !strings(o.fps)) return undefined;
    if (o.rej !== undefined && !strings(o.rej)) return undefined;
    return { v: 1, fps: o.fps, sha: o.sha, ...(o.rej ? { rej: o.rej } : {}) };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// What tierguard already has on the MR

interface OwnDiscussion {
  discussionId: string;
  fingerprint: string;
  resolved: boolean;
  /** The last action tierguard recorded in a reply (resolved/reopened), if any. */
  lastAction?: { kind: ActionKind; sha: string };
  firstNote: GitLabNote;
}

export interface OwnState {
  /** tierguard's finding discussions by fingerprint (the first one when duplicated). */
  discussions: Map<string, OwnDiscussion>;
  /** tierguard's summary note (the oldest, if several). */
  summary?: { noteId: number; body: string; state?: SummaryState };
}

/** Recognise tierguard's own discussions and summary note; notes by anyone else are ignored. */
export function readOwnState(discussions: readonly GitLabDiscussion[], botUserId: number): OwnState {
  const out: OwnState = { discussions: new Map() };
  for (const d of discussions) {
    const first = d.notes[0];
    if (!first || first.system || first.authorId !== botUserId) continue;
    if (isSummaryBody(first.body)) {
      if (!out.summary) out.summary = { noteId: first.id, body: first.body, state: parseSummaryState(first.body) };
      continue;
    }
    const fp = parseFindingMarker(first.body);
    if (!fp || out.discussions.has(fp)) continue;
    let lastAction: OwnDiscussion['lastAction'];
    for (const n of d.notes.slice(1)) {
      if (n.authorId !== botUserId || n.system) continue;
      const a = parseActionMarker(n.body);
      if (a && a.fingerprint === fp) lastAction = { kind: a.kind, sha: a.sha };
    }
    out.discussions.set(fp, {
      discussionId: d.id,
      fingerprint: fp,
      resolved: d.notes.some((n) => n.resolvable) ? d.notes.every((n) => !n.resolvable || n.resolved) : first.resolved,
      ...(lastAction ? { lastAction } : {}),
      firstNote: first,
    });
  }
  return out;
}
