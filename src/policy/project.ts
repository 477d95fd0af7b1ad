import type { Severity } from '../findings/finding.js';
import { formatIssue, type PathSeg, type PolicyIssue } from './errors.js';
import { mergeLayer, parseLayer, type RuleCatalogue } from './merge.js';
import type { PolicyFile } from './schema.js';
import type { Policy, PolicyException } from './types.js';

/** Conventional location of the project file in a repository. */
export const PROJECT_POLICY_FILE = '.gitlab/tierguard.yml';

export interface ProjectOverrideResult {
  policy: Policy;
  /** One line per refused setting: `file:line:col: key.path: why`. */
  rejected: string[];
  /** The same, structured (for findings / the summary note). */
  rejections: PolicyIssue[];
}

const RANK: Record<Severity | 'off', number> = { off: 0, warning: 1, error: 2 };

/**
 * Applies a project's `.gitlab/tierguard.yml` on top of the team policy — only if the team
 * policy sets `review.allowProjectOverrides: true`, and only what tightens or tunes
 * warnings. The caller (the service) MUST pass the file as it is on the target branch at the
 * MR's base commit, never the MR head: otherwise the MR under review could weaken the gate
 * that judges it.
 *
 * Refused (reported in `rejected`, the rest still applies):
 * - `review.allowProjectOverrides` (any value), `review.blockOn: new` when the team says `all`;
 * - any rule entry that lowers a rule below its merged severity (so an error rule can never be
 *   turned off or down to warning), or that changes the options of a blocking rule;
 * - exceptions for a rule whose merged severity is `error` (or unknown);
 * - every other key (tiers, environments, protected refs, secret patterns, remote include
 *   hosts, runner settings): they define the trust boundary itself.
 * An invalid file is a PolicyError, as for every policy file.
 */
export function applyProjectOverride(
  policy: Policy,
  file: string,
  text: string,
  catalogue: RuleCatalogue = {},
): ProjectOverrideResult {
  if (!policy.review.allowProjectOverrides) {
    const issue = { file, line: 0, column: 0, path: '', message: 'project overrides are not allowed by the team policy (review.allowProjectOverrides); file ignored' };
    return { policy, rejected: [formatIssue(issue)], rejections: [issue] };
  }
  const parsed = parseLayer(file, text, catalogue);
  const { layer, doc } = parsed;
  const rejections: PolicyIssue[] = [];
  const reject = (path: PathSeg[], message: string, at: 'key' | 'value' = 'value') => rejections.push(doc.issue(path, message, at));
  const defaults = new Map((catalogue.rules ?? []).map((r) => [r.id, r.defaultSeverity]));
  const current = (id: string): Severity | 'off' | undefined => policy.rules[id]?.severity ?? defaults.get(id);

  const allowed: PolicyFile = {};
  for (const key of Object.keys(layer) as (keyof PolicyFile)[]) {
    if (key === 'version' || key === 'rules' || key === 'review' || key === 'exceptions') continue;
    reject([key], `"${key}" cannot be set by a project file (it defines the trust boundary)`, 'key');
  }

  if (layer.review) {
    if (layer.review.allowProjectOverrides !== undefined)
      reject(['review', 'allowProjectOverrides'], 'a project file cannot change whether project files apply', 'key');
    if (layer.review.blockOn === 'new' && policy.review.blockOn === 'all')
      reject(['review', 'blockOn'], 'a project file cannot weaken review.blockOn from "all" to "new"');
    else if (layer.review.blockOn !== undefined) allowed.review = { blockOn: layer.review.blockOn };
    if (layer.review.maxInlineDiscussions !== undefined && layer.review.maxInlineDiscussions > policy.review.maxInlineDiscussions)
      reject(['review', 'maxInlineDiscussions'], `a project file cannot raise review.maxInlineDiscussions above ${policy.review.maxInlineDiscussions}`);
    else if (layer.review.maxInlineDiscussions !== undefined) allowed.review = { ...allowed.review, maxInlineDiscussions: layer.review.maxInlineDiscussions };
  }

  for (const [id, entry] of Object.entries(layer.rules ?? {})) {
    const cur = current(id);
    const severity = typeof entry === 'string' ? entry : entry.severity;
    const options = typeof entry === 'string' ? undefined : entry.options;
    const curText = cur ?? 'unknown (treated as error)';
    if (severity !== undefined && RANK[severity] < RANK[cur ?? 'error']) {
      reject(['rules', id], `a project file cannot lower rule "${id}" from ${curText} to ${severity}`);
      continue;
    }
    if (options !== undefined && (cur === undefined || cur === 'error')) {
      reject(['rules', id, 'options'], `a project file cannot change the options of blocking rule "${id}"`, 'key');
      continue;
    }
    (allowed.rules ??= {})[id] = entry;
  }

  const merged = mergeLayer(policy, { doc, layer: allowed }, catalogue);
  (layer.exceptions ?? []).forEach((ex, i) => {
    const cur = current(ex.rule);
    if (cur === undefined || cur === 'error') {
      reject(['exceptions', i, 'rule'], `a project file cannot add an exception for blocking rule "${ex.rule}"`);
      return;
    }
    const e: PolicyException = { rule: ex.rule, reason: ex.reason, expires: ex.expires, source: { file, ...doc.position(['exceptions', i]) } };
    if (ex.job !== undefined) e.job = ex.job;
    if (ex.file !== undefined) e.file = ex.file;
    merged.exceptions.push(e);
  });
  merged.sources = [...policy.sources, file];
  rejections.sort((a, b) => a.line - b.line || a.column - b.column);
  return { policy: merged, rejected: rejections.map(formatIssue), rejections };
}
