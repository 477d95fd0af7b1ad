/**
 * Shared wording and small helpers for the pipeline rules that judge trust: how to say in
 * which untrusted contexts a job can run and why, where the deciding rule is, whether a ref
 * is protected, and the "insert a line under the job key" mechanical fix.
 */
import type { Fix } from '../../findings/finding.js';
import type { SourceLocation } from '../../model/location.js';
import type { Job } from '../../model/pipeline.js';
import type { Policy } from '../../policy/types.js';
import { matchesAny } from '../../util/glob.js';
import type { ContextId, JobTrust, RuleContext } from '../types.js';

/** Code-formatted list: `a`, `b` and `c`. */
export function codeList(items: readonly string[]): string {
  const q = items.map((i) => `\`${i}\``);
  if (q.length <= 1) return q.join('');
  return `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}

/**
 * A code-formatted list of names shortened after `max` (5): "`$A`, `$B`, … and 12 more". The
 * full list belongs in the finding's `details`.
 */
export function nameList(items: readonly string[], max = 5): string {
  if (items.length <= max) return codeList(items);
  return `${items.slice(0, max).map((i) => `\`${i}\``).join(', ')} and ${items.length - max} more`;
}

/**
 * One phrase saying where a job can run untrusted and why, e.g.
 * "can run in untrusted contexts `mr-fork` and `mr` (rules[0] `if: …` matches)" or
 * "may run in `branch` (depends on $DEPLOY)". Contexts are grouped by their reason. `shown`:
 * the deciding rule the finding already points at (its location or a related location), whose
 * text the phrase then leaves out to keep the message short.
 */
export function untrustedPhrase(trust: JobTrust, contexts: readonly ContextId[] = trust.untrusted, shown?: SourceLocation): string {
  const sure = contexts.filter((c) => trust.byContext[c]?.runs === 'yes');
  const maybe = contexts.filter((c) => trust.byContext[c]?.runs !== 'yes');
  const parts: string[] = [];
  if (sure.length) parts.push(`can run in untrusted ${sure.length > 1 ? 'contexts' : 'context'} ${codeList(sure)}${reasons(trust, sure, shown)}`);
  if (maybe.length) parts.push(`${sure.length ? 'and may run' : 'may run'} in untrusted ${maybe.length > 1 ? 'contexts' : 'context'} ${codeList(maybe)}${reasons(trust, maybe, shown)}`);
  return parts.join(' ');
}

const sameLocation = (a: SourceLocation | undefined, b: SourceLocation | undefined) =>
  !!a && !!b && a.file === b.file && a.line === b.line && a.column === b.column;

function reasons(trust: JobTrust, contexts: readonly ContextId[], shown?: SourceLocation): string {
  const groups = new Map<string, ContextId[]>();
  let left = 0;
  for (const c of contexts) {
    const r = trust.byContext[c];
    // The finding points at this context's deciding rule: its text need not be repeated.
    if (r?.runs === 'yes' && !r.assumptions?.length && sameLocation(r.at, shown)) {
      left++;
      continue;
    }
    const unknown = r?.runs === 'unknown' ? (r.unknownVariables ?? []) : [];
    const named = unknown.slice(0, 5).map((v) => `$${v}`).join(', ') + (unknown.length > 5 ? ` and ${unknown.length - 5} more` : '');
    const vars = unknown.length ? `depends on ${named}` : '';
    // which assumption about YAML variables the verdict rests on (overridable, or the YAML value)
    const assumed = r?.assumptions?.length ? `; ${r.assumptions.join('; ')}` : '';
    const text = (vars || shortReason(r?.reason ?? '')) + (vars || r?.reason ? assumed : '');
    if (!text) continue;
    const list = groups.get(text) ?? [];
    list.push(c);
    groups.set(text, list);
  }
  if (groups.size === 0) return '';
  if (groups.size === 1 && left === 0) return ` (${[...groups.keys()][0]})`;
  return ` (${[...groups].map(([text, cs]) => `${cs.join(', ')}: ${text}`).join('; ')})`;
}

/** The implicit `only: [branches, tags]` reasons differ per context only in wording: say it once. */
function shortReason(reason: string): string {
  return reason.startsWith('no rules/only: implicit') ? 'no `rules:`/`only:`: every branch and tag pipeline' : reason;
}

/** Where the deciding rule for the first untrusted context is written (runs 'yes' preferred). */
export function decidingLocation(trust: JobTrust, contexts: readonly ContextId[] = trust.untrusted): SourceLocation | undefined {
  const ordered = [...contexts.filter((c) => trust.byContext[c]?.runs === 'yes'), ...contexts.filter((c) => trust.byContext[c]?.runs !== 'yes')];
  for (const c of ordered) {
    const at = trust.byContext[c]?.at;
    if (at) return at;
  }
  return undefined;
}

/** Whether a literal ref name is protected by policy (the default branch always is). */
export function isProtectedRef(ref: string, policy: Policy, defaultBranch: string): boolean {
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  return name === defaultBranch || matchesAny(name, policy.protected.branches) || matchesAny(name, policy.protected.tags);
}

/** A ref that GitLab expands from a variable (`$X`, `${X}`, `%X%`). */
export function isVariableRef(ref: string): boolean {
  return /\$|%\w+%/.test(ref);
}

/**
 * A fix that keeps the job's key line and adds `lines` (without indentation) right under it,
 * indented like the job's own keys. Only for a block-style job key in the job's own file;
 * otherwise undefined (no mechanical fix).
 */
export function insertUnderJobKey(ctx: RuleContext<any>, job: Job, lines: string[], description: string): Fix | undefined {
  const keyLine = ctx.sources.line(job.keyLoc.file, job.keyLoc.line);
  if (keyLine === undefined) return undefined;
  const rest = keyLine.slice(job.keyLoc.endColumn - 1);
  if (!/^\s*:\s*(&[^\s]+\s*)?(#.*)?$/.test(rest)) return undefined;
  // Indentation of the job's own keys written in the same file below the key.
  let indent: number | undefined;
  for (const e of job.node.entries.values()) {
    if (e.keyLoc.file !== job.keyLoc.file || e.keyLoc.line <= job.keyLoc.line) continue;
    if (e.value.via?.length) continue;
    indent = indent === undefined ? e.keyLoc.column - 1 : Math.min(indent, e.keyLoc.column - 1);
  }
  if (indent === undefined || indent <= job.keyLoc.column - 1) indent = job.keyLoc.column - 1 + 2;
  const pad = ' '.repeat(indent);
  return {
    description,
    location: { file: job.keyLoc.file, line: job.keyLoc.line, column: 1, endLine: job.keyLoc.line, endColumn: keyLine.length + 1 },
    replacement: [keyLine, ...lines.map((l) => pad + l)].join('\n'),
  };
}

/**
 * A fix that replaces the scalar at `loc` (a single-line value) with `value` on its line.
 * Undefined when the value spans lines or the line cannot be read.
 */
export function replaceScalar(ctx: RuleContext<any>, loc: SourceLocation, value: string, description: string): Fix | undefined {
  if (loc.endLine !== loc.line) return undefined;
  const text = ctx.sources.line(loc.file, loc.line);
  if (text === undefined || loc.endColumn - 1 > text.length) return undefined;
  return {
    description,
    location: { file: loc.file, line: loc.line, column: 1, endLine: loc.line, endColumn: text.length + 1 },
    replacement: text.slice(0, loc.column - 1) + value + text.slice(loc.endColumn - 1),
  };
}
