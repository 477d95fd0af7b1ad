import type { Finding } from '../findings/finding.js';
import type { Policy } from '../policy/types.js';
import { tagTier } from '../rules/deploy.js';
import type { Evaluation } from '../rules/engine.js';
import type { RuleMeta } from '../findings/rule-meta.js';
import { docsPath } from '../findings/rule-meta.js';
import type { ContextId } from '../rules/types.js';
import { findingMarker, markerSafe, stateMarker, SUMMARY_MARKER, type SummaryState } from './markers.js';

/** Anything that masks secret values in text (SourceFiles, or several combined). */
export interface Masker {
  maskText(text: string): string;
}

/** GitLab's Note validation: `note` ≤ 1 000 000 characters (app/models/note.rb). */
export const NOTE_MAX_LENGTH = 1_000_000;
/** Leave room for the table's tail, notes and the graph. */
const SUMMARY_BUDGET = 900_000;
/** Fingerprints recorded in the summary's hidden state at most. */
const STATE_FPS_MAX = 2000;
/** lib/gitlab/diff/suggestions_parser.rb: lines above/below are capped at 100. */
const SUGGESTION_MAX_OFFSET = 100;
const MESSAGE_MAX = 600;

// ---------------------------------------------------------------------------------------------
// Markdown safety

/**
 * Text from the CI files (job names, values quoted in messages) goes into notes that tierguard
 * posts with its own identity, so it must not become markup: no HTML (or hidden markers), no
 * `@mentions` (an `@all` would ping everyone), no links or images, no table breaks. Code spans
 * the message itself contains are kept (rules quote keys and values in backticks).
 */
export function mdInline(text: string, opts: { table?: boolean } = {}): string {
  const oneLine = text.replace(/\r?\n|\r/g, ' ');
  let out = '';
  let i = 0;
  while (i < oneLine.length) {
    if (oneLine[i] === '`') {
      let run = 1;
      while (oneLine[i + run] === '`') run += 1;
      const fence = '`'.repeat(run);
      const close = findClosingRun(oneLine, i + run, run);
      if (close >= 0) {
        let inner = oneLine.slice(i + run, close);
        if (opts.table) inner = inner.replace(/\|/g, '\\|');
        out += fence + inner + fence;
        i = close + run;
        continue;
      }
      out += '\\`'.repeat(run);
      i += run;
      continue;
    }
    out += escapeChar(oneLine.charAt(i));
    i += 1;
  }
  return out;
}

function findClosingRun(s: string, from: number, run: number): number {
  for (let j = from; j < s.length; j += 1) {
    if (s[j] !== '`') continue;
    let k = 0;
    while (s[j + k] === '`') k += 1;
    if (k === run) return j;
    j += k - 1;
  }
  return -1;
}

function escapeChar(c: string): string {
  switch (c) {
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '@':
      return '&#64;';
    case '&':
      return '&amp;';
    case '\\':
    case '*':
    case '_':
    case '[':
    case ']':
    case '|':
    case '~':
    case '#':
    case '!':
    case '$':
      return '\\' + c;
    default:
      return c;
  }
}

/** A value shown as inline code, whatever backticks it contains. */
export function mdCode(text: string, opts: { table?: boolean } = {}): string {
  let t = text.replace(/\r?\n|\r/g, ' ');
  if (opts.table) t = t.replace(/\|/g, '\\|');
  let longest = 0;
  for (const m of t.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || t === '' ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** Mask everything after the marker lines (a secret can never alter tierguard's markers). */
function maskBody(header: string[], rest: string, masker: Masker): string {
  return [...header, masker.maskText(rest)].join('\n');
}

/**
 * Whether a note body on GitLab equals one we would post. Bodies sent as multipart form data
 * (discussions with a position) come back with CRLF line breaks (form encoding normalises them),
 * so line endings do not count.
 */
export function sameNoteBody(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.replace(/\r\n?/g, '\n') === b.replace(/\r\n?/g, '\n');
}

// ---------------------------------------------------------------------------------------------
// Inline discussion

const SEVERITY_ICON = { error: '🛑', warning: '⚠️' } as const;

export interface InlineRenderOptions {
  /** The finding is not on the target branch. */
  isNew: boolean;
  /** Rule metadata (for the "how to fix" text); without it only the message is shown. */
  meta?: RuleMeta<unknown>;
  /** Base for the docs link (e.g. the tierguard repository's blob URL); else the path as text. */
  docsBaseUrl?: string;
  /** Lines of the head version of the finding's file that the MR adds or changes. */
  changed?: ReadonlySet<number>;
  masker: Masker;
}

export interface InlineRender {
  body: string;
  /** The line the discussion goes on (the finding's line, or the first line a fix replaces). */
  line: number;
  /** Whether a suggestion block was included. */
  suggestion: boolean;
}

/**
 * The body of an inline discussion: severity and rule, the message, new vs existing, how to
 * fix, and a GitLab suggestion (```` ```suggestion:-A+B ````, replacing the A lines above and B
 * lines below the commented line) when the finding has a mechanical fix on lines the MR changes.
 */
export function renderInline(f: Finding, opts: InlineRenderOptions): InlineRender {
  const lines: string[] = [];
  const sev = f.severity;
  const docs = docsPath(f.ruleId);
  const docsRef = opts.docsBaseUrl ? `[${docs}](${opts.docsBaseUrl.replace(/\/+$/, '')}/${docs})` : mdCode(docs);
  const title = opts.meta ? ` — ${mdInline(opts.meta.title)}` : '';
  lines.push(`${SEVERITY_ICON[sev]} **${sev === 'error' ? 'Error' : 'Warning'}** ${mdCode(f.ruleId)}${title}`);
  lines.push('');
  lines.push(`**Finding:** ${mdInline(clip(f.message, MESSAGE_MAX * 4))}`);
  lines.push('');
  const facts = [opts.isNew ? '🆕 new in this MR' : 'already on the target branch'];
  if (f.job) facts.push(`job ${mdCode(f.job)}`);
  facts.push(f.blocking && !f.suppressed ? 'blocking' : 'not blocking');
  lines.push(facts.join(' · '));
  if (opts.meta?.fix) {
    lines.push('');
    lines.push(`**How to fix:** ${mdInline(opts.meta.fix)}`);
  }
  let line = f.location.line;
  let suggestion = false;
  const s = suggestionFor(f, opts.changed, opts.masker);
  if (s) {
    line = s.line;
    suggestion = true;
    lines.push('');
    lines.push(`**Suggested change:** ${mdInline(f.fix!.description)}`);
    lines.push('');
    lines.push(s.block);
  }
  lines.push('');
  lines.push(`<sub>tierguard · rule docs: ${docsRef}</sub>`);
  return { body: maskBody([findingMarker(f.fingerprint)], lines.join('\n'), opts.masker), line, suggestion };
}

/**
 * A suggestion block for the fix, or undefined when it cannot be offered safely: the fix is in
 * another file, touches a line the MR does not change (GitLab only takes suggestions on diff
 * lines), spans more than 100 lines either way, or its replacement would be altered by masking
 * (applying it would write asterisks into the file) or could fake a tierguard marker.
 */
function suggestionFor(f: Finding, changed: ReadonlySet<number> | undefined, masker: Masker): { line: number; block: string } | undefined {
  const fix = f.fix;
  if (!fix || !changed) return undefined;
  if (fix.location.file !== f.location.file) return undefined;
  const first = fix.location.line;
  const last = Math.max(fix.location.endLine, first);
  for (let l = first; l <= last; l += 1) if (!changed.has(l)) return undefined;
  // Comment on the finding's own line when the fix covers it, else on the fix's first line.
  const line = f.location.line >= first && f.location.line <= last ? f.location.line : first;
  const above = line - first;
  const below = last - line;
  if (above > SUGGESTION_MAX_OFFSET || below > SUGGESTION_MAX_OFFSET) return undefined;
  if (masker.maskText(fix.replacement) !== fix.replacement) return undefined;
  if (fix.replacement.includes('tierguard:')) return undefined;
  let longest = 0;
  for (const m of fix.replacement.matchAll(/`{3,}/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  const content = fix.replacement === '' ? '' : fix.replacement.replace(/\r\n/g, '\n') + '\n';
  return { line, block: `${fence}suggestion:-${above}+${below}\n${content}${fence}` };
}

// ---------------------------------------------------------------------------------------------
// Trust picture (Mermaid)

const DANGEROUS_TIERS = new Set(['deploy-production', 'deploy-staging', 'build']);

/** Text inside a quoted Mermaid label: entity codes for everything that could end it. */
export function mermaidText(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/#/g, '#35;')
    .replace(/&/g, '#38;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/`/g, '#96;')
    .replace(/@/g, '#64;')
    .replace(/\|/g, '#124;')
    .replace(/[[\]{}()]/g, (c) => `#${c.charCodeAt(0)};`);
}

export interface TrustGraphOptions {
  policy?: Policy;
  /** At most this many job names in the picture (default 40). */
  maxJobs?: number;
}

/** Runner tier of a job: the policy's tag tiers when known, else its tags. */
function tierLabel(tags: readonly string[], policy: Policy | undefined): { key: string; label: string; dangerous: boolean } {
  if (policy) {
    const t = tagTier(tags, policy);
    const label = t === 'unknown' ? (tags.length ? 'unknown tier (unlisted tags)' : 'untagged (any runner)') : `${t} tier`;
    return { key: t === 'unknown' && !tags.length ? 'untagged' : t, label, dangerous: DANGEROUS_TIERS.has(t) };
  }
  if (!tags.length) return { key: 'untagged', label: 'untagged (any runner)', dangerous: false };
  const sorted = [...tags].sort();
  return { key: 'tags:' + sorted.join(','), label: 'tags: ' + sorted.join(', '), dangerous: false };
}

/**
 * A `flowchart LR` of which jobs run in which untrusted contexts on which runner tier. Jobs are
 * grouped by (untrusted contexts, tier); deploy jobs are marked 🚀; groups that untrusted
 * contexts reach on a build or deploy tier, or that hold a deploy job, are drawn as dangerous. At most `maxJobs` job names are listed, then "… and N more".
 */
export function renderTrustGraph(ev: Pick<Evaluation, 'pipeline' | 'trust' | 'deploy' | 'children'>, opts: TrustGraphOptions = {}): string {
  const maxJobs = opts.maxJobs ?? 40;
  interface Group { untrusted: ContextId[]; trustedOnly: boolean; tier: ReturnType<typeof tierLabel>; jobs: { name: string; deploy: boolean }[]; deploys: number }
  const groups = new Map<string, Group>();
  let idle = 0;
  // The pipeline's jobs and those of the child pipelines it starts (named `trigger › job`).
  const all: { job: Evaluation['pipeline']['jobs'][number]; t: ReturnType<Evaluation['trust']['get']>; deploys: boolean; name: string }[] = [];
  const walk = (e: Pick<Evaluation, 'pipeline' | 'trust' | 'deploy' | 'children'>, prefix: string, depth: number): void => {
    for (const job of e.pipeline.jobs) all.push({ job, t: e.trust.get(job.name), deploys: e.deploy.has(job.name), name: prefix + job.name });
    if (depth < 3) for (const c of e.children ?? []) walk(c.evaluation, `${prefix}${c.trigger} › `, depth + 1);
  };
  walk(ev, '', 0);
  for (const { job, t, deploys, name } of all) {
    const untrusted = [...(t?.untrusted ?? [])].sort();
    const trusted = t?.trusted ?? [];
    if (t && untrusted.length === 0 && trusted.length === 0) {
      idle += 1;
      continue;
    }
    const tier = tierLabel(job.tags, opts.policy);
    const key = `${untrusted.join(',')}|${tier.key}`;
    const g = groups.get(key) ?? { untrusted, trustedOnly: untrusted.length === 0, tier, jobs: [], deploys: 0 };
    // Deploy jobs as the pipeline rules judged them (the evaluation's deploy info).
    if (deploys) g.deploys += 1;
    g.jobs.push({ name, deploy: deploys });
    groups.set(key, g);
  }
  // Untrusted contexts reaching a build/deploy tier, or a deploy job: drawn red.
  const isDangerous = (g: Group) => !g.trustedOnly && (g.tier.dangerous || g.deploys > 0);
  // Dangerous groups first, then the biggest: what matters survives the cap.
  const ordered = [...groups.values()].sort(
    (a, b) =>
      Number(isDangerous(b)) - Number(isDangerous(a)) ||
      b.untrusted.length - a.untrusted.length ||
      b.jobs.length - a.jobs.length ||
      a.tier.key.localeCompare(b.tier.key),
  );
  const out: string[] = ['```mermaid', 'flowchart LR'];
  if (ordered.length === 0) {
    out.push('  none["no jobs run in any context"]', '```');
    return out.join('\n');
  }
  const ctxIds = new Map<string, string>();
  const tierIds = new Map<string, string>();
  const edges: string[] = [];
  const dangerous: string[] = [];
  let shown = 0;
  let hiddenJobs = 0;
  let hiddenGroups = 0;
  const nodes: string[] = [];
  ordered.forEach((g, gi) => {
    if (shown >= maxJobs) {
      hiddenJobs += g.jobs.length;
      hiddenGroups += 1;
      return;
    }
    const names = [...g.jobs].sort((a, b) => Number(b.deploy) - Number(a.deploy) || a.name.localeCompare(b.name));
    const take = names.slice(0, maxJobs - shown);
    shown += take.length;
    const rest = names.length - take.length;
    const label = take.map((j) => (j.deploy ? '🚀 ' : '') + mermaidText(j.name)).join('<br/>') + (rest > 0 ? `<br/>… and ${rest} more` : '');
    const gid = `g${gi}`;
    nodes.push(`  ${gid}["${label}"]`);
    const sources = g.trustedOnly ? ['trusted refs only'] : g.untrusted;
    for (const c of sources) {
      let cid = ctxIds.get(c);
      if (!cid) {
        cid = `c${ctxIds.size}`;
        ctxIds.set(c, cid);
      }
      edges.push(`  ${cid} --> ${gid}`);
    }
    let tid = tierIds.get(g.tier.key);
    if (!tid) {
      tid = `t${tierIds.size}`;
      tierIds.set(g.tier.key, tid);
      nodes.push(`  ${tid}[["${mermaidText(g.tier.label)}"]]`);
    }
    edges.push(`  ${gid} --> ${tid}`);
    if (isDangerous(g)) dangerous.push(gid);
  });
  for (const [c, cid] of ctxIds) {
    const label = c === 'trusted refs only' ? 'trusted refs only' : `${c} (untrusted)`;
    out.push(`  ${cid}(["${mermaidText(label)}"])`);
  }
  out.push(...nodes, ...edges);
  if (hiddenJobs > 0) out.push(`  more["… and ${hiddenJobs} more jobs in ${hiddenGroups} more groups"]`);
  if (dangerous.length) {
    out.push('  classDef danger fill:#fdd,stroke:#c00,color:#600');
    out.push(`  class ${dangerous.join(',')} danger`);
  }
  out.push('```');
  const text = out.join('\n');
  return idle > 0 ? `${text}\n\n${idle} job(s) run in no context and are not shown.` : text;
}

// ---------------------------------------------------------------------------------------------
// Summary note

type Placement = 'inline' | 'summary' | 'inline-rejected' | 'inline-failed' | 'over-budget';

export interface SummaryRow {
  finding: Finding;
  isNew: boolean;
  /** Counts towards the commit status. */
  blocksStatus: boolean;
  placement: Placement;
}

export interface SummaryInput {
  headSha: string;
  blockOn: 'new' | 'all';
  rows: SummaryRow[];
  status: { state: 'success' | 'failed'; description: string };
  policySources: string[];
  notes: string[];
  /** The Mermaid picture (renderTrustGraph), or undefined to leave it out. */
  graph?: string;
  masker: Masker;
  docsBaseUrl?: string;
  /** Findings kept out of inline discussions by review.maxInlineDiscussions. */
  inlineBudget?: { max: number; over: number };
}

const placementLabel: Record<Placement, string> = {
  inline: '💬 inline',
  summary: 'here',
  'inline-rejected': 'here (GitLab refused the inline position)',
  'inline-failed': 'here (the inline comment failed; retried on the next run)',
  'over-budget': 'here (over the inline budget)',
};

/**
 * The summary note: headline, findings table, suppressed count, policy files, notes, picture.
 * `inlineRejected`: findings whose inline position GitLab refused (recorded in the state so a
 * recheck at the same sha does not ask again); `inlineFailed`: inline creates that failed for
 * another reason (listed here, tried again next run).
 */
export function renderSummary(input: SummaryInput, inlineRejected: readonly string[] = [], inlineFailed: readonly string[] = []): string {
  const rejected = new Set(inlineRejected);
  const failed = new Set(inlineFailed);
  const rows = input.rows.map((r) =>
    rejected.has(r.finding.fingerprint)
      ? { ...r, placement: 'inline-rejected' as const }
      : failed.has(r.finding.fingerprint)
        ? { ...r, placement: 'inline-failed' as const }
        : r,
  );
  const active = rows.filter((r) => !r.finding.suppressed);
  const suppressed = rows.filter((r) => r.finding.suppressed);
  const rej = [...new Set(rows.filter((r) => r.placement === 'inline-rejected').map((r) => r.finding.fingerprint).filter(markerSafe))].sort();
  const state: SummaryState = {
    v: 1,
    // Bounded, so the hidden state never crowds out the note (GitLab's limit: NOTE_MAX_LENGTH).
    fps: [...new Set(rows.map((r) => r.finding.fingerprint).filter(markerSafe))].sort().slice(0, STATE_FPS_MAX),
    sha: input.headSha,
    ...(rej.length ? { rej } : {}),
  };
  const header = [SUMMARY_MARKER, stateMarker(state)];

  const out: string[] = [];
  const ok = input.status.state === 'success';
  out.push(`## ${ok ? '✅' : '⛔'} tierguard: ${mdInline(input.status.description)}`);
  out.push('');
  out.push(
    `Evaluated at ${mdCode(input.headSha.slice(0, 8))}. ` +
      (input.blockOn === 'all'
        ? 'Every blocking finding fails the `tierguard` status (policy `review.blockOn: all`).'
        : 'Only blocking findings new in this MR fail the `tierguard` status.'),
  );
  out.push('');

  if (active.length === 0) {
    out.push('No findings.');
  } else {
    const sorted = [...active].sort(
      (a, b) =>
        Number(b.blocksStatus) - Number(a.blocksStatus) ||
        Number(b.isNew) - Number(a.isNew) ||
        Number(b.finding.severity === 'error') - Number(a.finding.severity === 'error') ||
        a.finding.location.file.localeCompare(b.finding.location.file) ||
        a.finding.location.line - b.finding.location.line ||
        a.finding.ruleId.localeCompare(b.finding.ruleId),
    );
    out.push('| | Rule | Severity | Location | Job | In this MR | Blocks | Message | Shown |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    let size = header.join('\n').length + out.join('\n').length;
    let left = 0;
    for (const [i, r] of sorted.entries()) {
      const f = r.finding;
      const row =
        `| ${SEVERITY_ICON[f.severity]} | ${mdCode(f.ruleId, { table: true })} | ${f.severity} | ` +
        `${mdCode(`${f.location.file}:${f.location.line}`, { table: true })} | ${f.job ? mdCode(f.job, { table: true }) : '—'} | ` +
        `${r.isNew ? '🆕 new' : 'existing'} | ${r.blocksStatus ? '**yes**' : 'no'} | ` +
        `${mdInline(clip(f.message, MESSAGE_MAX), { table: true })} | ${placementLabel[r.placement]} |`;
      if (size + row.length + 1 > SUMMARY_BUDGET) {
        left = sorted.length - i;
        break;
      }
      out.push(row);
      size += row.length + 1;
    }
    if (left > 0) {
      out.push('');
      out.push(`… and ${left} more findings not shown (GitLab's note size limit). Run \`tierguard lint\` for the full list.`);
    }
  }

  if (input.inlineBudget && input.inlineBudget.over > 0) {
    out.push('');
    out.push(
      `${input.inlineBudget.over} more finding(s) on changed lines are listed here only: tierguard opens at most ` +
        `${input.inlineBudget.max} inline discussions per merge request (policy \`review.maxInlineDiscussions\`), blocking findings first.`,
    );
  }

  if (rej.length) {
    out.push('');
    out.push(`${rej.length} finding(s) on changed lines are listed here because GitLab refused their inline position.`);
  }

  if (suppressed.length) {
    const byException = suppressed.filter((r) => r.finding.suppressed!.kind === 'exception').length;
    const byInline = suppressed.length - byException;
    out.push('');
    out.push(`<details><summary>${suppressed.length} suppressed finding(s) (${byException} by policy exception, ${byInline} by inline comment)</summary>`);
    out.push('');
    out.push('| Rule | Location | Job | Suppressed by | Reason |');
    out.push('|---|---|---|---|---|');
    for (const r of suppressed.slice(0, 200)) {
      const f = r.finding;
      out.push(
        `| ${mdCode(f.ruleId, { table: true })} | ${mdCode(`${f.location.file}:${f.location.line}`, { table: true })} | ` +
          `${f.job ? mdCode(f.job, { table: true }) : '—'} | ${f.suppressed!.kind === 'exception' ? 'exception' : 'inline comment'} | ` +
          `${mdInline(clip(f.suppressed!.reason, 300), { table: true })} |`,
      );
    }
    if (suppressed.length > 200) out.push('', `… and ${suppressed.length - 200} more.`);
    out.push('', '</details>');
  }

  out.push('');
  out.push('**Policy files applied:** ' + (input.policySources.length ? input.policySources.slice(0, 50).map((p) => mdCode(p)).join(', ') : 'built-in defaults'));

  if (input.notes.length) {
    out.push('');
    out.push('**Notes:**');
    out.push('');
    for (const n of input.notes.slice(0, 50)) out.push(`- ${mdInline(clip(n, 400))}`);
    if (input.notes.length > 50) out.push(`- … and ${input.notes.length - 50} more`);
  }

  if (input.graph) {
    out.push('');
    out.push('<details><summary>Which jobs run in which trust contexts, on which runner tier</summary>');
    out.push('');
    out.push(input.graph);
    out.push('');
    out.push('</details>');
  }

  let body = maskBody(header, out.join('\n'), input.masker);
  if (body.length > NOTE_MAX_LENGTH) body = body.slice(0, NOTE_MAX_LENGTH - 40) + '\n\n… (truncated)';
  return body;
}
