import type { RuleOptions } from '../findings/rule-meta.js';
import type { Severity } from '../findings/finding.js';
import { PolicyDocument, PolicyError, sortIssues, zodIssues, type PathSeg, type PolicyIssue } from './errors.js';
import { policyFileSchema, ruleOptionsSchema, type PolicyFile } from './schema.js';
import type { Policy, PolicyException } from './types.js';

/** The rule ids the policy system itself reports (always known, may be re-rated in `rules`). */
const POLICY_RULE_IDS = ['policy-exception-expired', 'inline-ignore-blocking', 'policy-project-override-rejected'] as const;

/** What a layer is checked against; all optional (without it, any rule id is accepted). */
export interface RuleCatalogue {
  /** Rule ids that exist; unknown ids in `rules:` and `exceptions[].rule` become errors. */
  knownRules?: readonly string[];
  /**
   * Rule metadata (a `RuleMeta[]` fits): default severities let an options-only entry keep the
   * rule's default severity; a rule's options schema validates `rules.<id>.options`.
   */
  rules?: readonly { id: string; defaultSeverity: Severity; options?: RuleOptions<unknown> }[];
}

/**
 * Whether a policy says anything the catalogue checks (see `parseLayer` and `mergeLayer`: rule
 * ids, options and default severities under `rules`, rule ids of `exceptions`). A policy read
 * without the catalogue that says none of it is the policy the catalogue would have given:
 * layers merge rules per id and append exceptions, so no layer of it named a rule.
 */
export function namesRules(policy: Pick<Policy, 'rules' | 'exceptions'>): boolean {
  return Object.keys(policy.rules).length > 0 || policy.exceptions.length > 0;
}

export interface ParsedLayer {
  doc: PolicyDocument;
  layer: PolicyFile;
}

/** Parses and validates one policy file; every problem is a PolicyError with file:line:col. */
export function parseLayer(file: string, text: string, catalogue: RuleCatalogue = {}): ParsedLayer {
  const doc = PolicyDocument.parse(file, text);
  // zod drops `__proto__` keys silently; a policy must never lose a key without a word.
  const hostile = protoKeys(doc.object, []);
  if (hostile.length > 0) throw new PolicyError(hostile.map((p) => doc.issue(p, 'key "__proto__" is not allowed', 'key')));
  const res = policyFileSchema().safeParse(doc.object);
  if (!res.success) throw new PolicyError(sortIssues(zodIssues(doc, res.error.issues)));
  const layer = res.data;
  const issues: PolicyIssue[] = [];
  const known = knownRuleSet(catalogue);
  const metas = new Map((catalogue.rules ?? []).map((r) => [r.id, r]));
  for (const [id, entry] of Object.entries(layer.rules ?? {})) {
    if (known && !known.has(id)) {
      issues.push(doc.issue(['rules', id], `unknown rule "${id}"${suggest(id, known)}`, 'key'));
      continue;
    }
    const options = metas.get(id)?.options;
    if (options && typeof entry === 'object' && entry.options) {
      const r = ruleOptionsSchema(options).safeParse(entry.options);
      if (!r.success) issues.push(...zodIssues(doc, r.error.issues, ['rules', id, 'options']));
    }
  }
  (layer.exceptions ?? []).forEach((ex, i) => {
    if (known && !known.has(ex.rule))
      issues.push(doc.issue(['exceptions', i, 'rule'], `unknown rule "${ex.rule}"${suggest(ex.rule, known)}`));
  });
  if (issues.length > 0) throw new PolicyError(sortIssues(issues));
  return { doc, layer };
}

function protoKeys(v: unknown, path: PathSeg[]): PathSeg[][] {
  if (v === null || typeof v !== 'object') return [];
  const out: PathSeg[][] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...protoKeys(x, [...path, i])));
  else
    for (const k of Object.getOwnPropertyNames(v)) {
      if (k === '__proto__') out.push([...path, k]);
      else out.push(...protoKeys((v as Record<string, unknown>)[k], [...path, k]));
    }
  return out;
}

function knownRuleSet(c: RuleCatalogue): Set<string> | undefined {
  if (!c.knownRules && !c.rules) return undefined;
  return new Set([...(c.knownRules ?? []), ...(c.rules ?? []).map((r) => r.id), ...POLICY_RULE_IDS]);
}

function suggest(id: string, known: Set<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(id, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(id.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

function distance(a: string, b: string): number {
  // Levenshtein over one row; every index below is within 0..b.length, the row's bounds.
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(tmp + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * Applies one layer onto the policy so far (which is not modified). Merge semantics, as
 * declared in `schema.ts`: maps merge key by key, lists replace, `rules` merge per rule
 * (a bare severity keeps the earlier options, an `options` map shallow-merges onto them),
 * `exceptions` append.
 */
export function mergeLayer(base: Policy, parsed: ParsedLayer, catalogue: RuleCatalogue = {}): Policy {
  const { layer, doc } = parsed;
  const p = structuredClone(base);
  const list = (v: string[] | undefined, prev: string[]): string[] => (v ? [...v] : prev);

  if (layer.tiers) {
    p.tiers.general = list(layer.tiers.general, p.tiers.general);
    p.tiers.build = list(layer.tiers.build, p.tiers.build);
    if (layer.tiers.deploy) {
      p.tiers.deploy.production = list(layer.tiers.deploy.production, p.tiers.deploy.production);
      p.tiers.deploy.staging = list(layer.tiers.deploy.staging, p.tiers.deploy.staging);
    }
  }
  if (layer.environments) {
    p.environments.production = list(layer.environments.production, p.environments.production);
    p.environments.staging = list(layer.environments.staging, p.environments.staging);
  }
  if (layer.protected) {
    p.protected.branches = list(layer.protected.branches, p.protected.branches);
    p.protected.tags = list(layer.protected.tags, p.protected.tags);
  }
  p.secretVariables = list(layer.secretVariables, p.secretVariables);
  p.remoteIncludeHosts = list(layer.remoteIncludeHosts, p.remoteIncludeHosts);
  if (layer.runners) {
    if (layer.runners.tiers) {
      p.runners.tiers.deploy = list(layer.runners.tiers.deploy, p.runners.tiers.deploy);
      p.runners.tiers.build = list(layer.runners.tiers.build, p.runners.tiers.build);
    }
    p.runners.privilegedAllowed = list(layer.runners.privilegedAllowed, p.runners.privilegedAllowed);
    p.runners.deniedHostPaths = list(layer.runners.deniedHostPaths, p.runners.deniedHostPaths);
  }
  if (layer.review) {
    if (layer.review.blockOn !== undefined) p.review.blockOn = layer.review.blockOn;
    if (layer.review.allowProjectOverrides !== undefined) p.review.allowProjectOverrides = layer.review.allowProjectOverrides;
    if (layer.review.maxInlineDiscussions !== undefined) p.review.maxInlineDiscussions = layer.review.maxInlineDiscussions;
  }

  const defaults = new Map((catalogue.rules ?? []).map((r) => [r.id, r.defaultSeverity]));
  for (const [id, entry] of Object.entries(layer.rules ?? {})) {
    const prev = p.rules[id];
    if (typeof entry === 'string') {
      p.rules[id] = { severity: entry, options: { ...(prev?.options ?? {}) } };
      continue;
    }
    const severity = entry.severity ?? prev?.severity ?? defaults.get(id);
    if (severity === undefined) {
      // Without the catalogue, the rule's default severity is unknown here: refuse rather
      // than guess one.
      throw new PolicyError([
        doc.issue(['rules', id], `give a "severity" too: no earlier policy layer rates rule "${id}"`, 'key'),
      ]);
    }
    p.rules[id] = { severity, options: { ...(prev?.options ?? {}), ...(entry.options ?? {}) } };
  }

  (layer.exceptions ?? []).forEach((ex, i) => {
    const pos = doc.position(['exceptions', i]);
    const e: PolicyException = { rule: ex.rule, reason: ex.reason, expires: ex.expires, source: { file: doc.file, ...pos } };
    if (ex.job !== undefined) e.job = ex.job;
    if (ex.file !== undefined) e.file = ex.file;
    p.exceptions.push(e);
  });
  return p;
}
