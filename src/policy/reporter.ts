/**
 * The one route every finding takes, whatever rule kind reports it (pipeline, runner, live, the
 * policy system's own): configured from the policy (severity, options, off) → built by
 * `makeFinding` → suppressed by a policy exception or an inline ignore → deduplicated → sorted.
 */
import { makeFinding, sortFindings, type Finding, type Report } from '../findings/finding.js';
import type { RuleMeta } from '../findings/rule-meta.js';
import type { SourceFiles } from '../findings/sources.js';
import { pointLocation } from '../model/location.js';
import { configureRule, exceptionMatches, ignoreCovers, isExpired, type ConfiguredRule, type InlineIgnore } from './apply.js';
import { policyRuleMetas } from './rules.js';
import type { Policy, PolicyException } from './types.js';

export interface ReporterOptions {
  /** For exception expiry. */
  today: Date;
  /** Reported secrets are registered here, so every output masks them. */
  sources?: SourceFiles;
  /** Mask the registered secrets in finding messages too (runner configs quote their values). */
  maskMessages?: boolean;
  /** One finding per fingerprint (first wins) instead of one per fingerprint and position. */
  oncePerFingerprint?: boolean;
}

/** One rule as the policy configures it: `configured` is undefined when the policy turns it off. */
export interface RuleReporter<O> {
  configured?: ConfiguredRule<O>;
  /** Build the finding (a report of a rule turned off only registers its secret). */
  report(r: Report): void;
}

export interface FinishOptions {
  /** Ignore comments of the CI files judged (see `parseInlineIgnores`). */
  inlineIgnores?: readonly InlineIgnore[];
  /** Report every expired exception (`policy-exception-expired`): once per judgment. */
  expiredExceptions?: boolean;
}

export class Reporter {
  private readonly found: Finding[] = [];

  constructor(
    readonly policy: Policy,
    private readonly opts: ReporterOptions,
  ) {}

  /** The rule's reporter: resolves its setting once (a PolicyError for invalid options). */
  rule<O>(meta: RuleMeta<O>): RuleReporter<O> {
    const configured = configureRule(this.policy, meta);
    const report = (r: Report) => {
      // Secrets are masked even when the rule that found them is off.
      if (r.secret) this.opts.sources?.addSecret(r.secret);
      if (!configured) return;
      const severity = configured.policySeverity ?? r.severity ?? configured.severity;
      this.found.push(makeFinding(meta.id, severity, r, meta.messages));
    };
    return configured ? { configured, report } : { report };
  }

  /** What was reported so far, as built (not yet suppressed, deduplicated or sorted). */
  reported(): Finding[] {
    return [...this.found];
  }

  /** Suppress, deduplicate and sort what was reported. */
  finish(opts: FinishOptions = {}): Finding[] {
    const unique = dedupe(this.found, this.opts.oncePerFingerprint ?? false);
    const judged = suppress(unique, this.policy, { today: this.opts.today, inlineIgnores: opts.inlineIgnores, expiredExceptions: opts.expiredExceptions ?? false });
    const sources = this.opts.sources;
    if (this.opts.maskMessages && sources) for (const f of judged) f.message = sources.maskText(f.message);
    return sortFindings(judged);
  }
}

/**
 * One finding per fingerprint and position (a value shared through anchors can be reached twice,
 * a child pipeline's findings can repeat its parent's); `byFingerprint`: one per fingerprint.
 */
export function dedupe(findings: readonly Finding[], byFingerprint: boolean): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = byFingerprint ? f.fingerprint : f.fingerprint + ':' + f.location.line + ':' + f.location.column;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface SuppressOptions {
  today: Date;
  /** Ignore comments of every CI file evaluated (see `parseInlineIgnores`). */
  inlineIgnores?: readonly InlineIgnore[];
  /** Report expired exceptions (default true). */
  expiredExceptions?: boolean;
}

const POLICY_RULES = new Map(policyRuleMetas.map((m) => [m.id, m]));

/** The policy system's own findings take the same route as every rule's. */
function policyRule(policy: Policy, today: Date, id: 'policy-exception-expired' | 'inline-ignore-blocking'): { reporter: Reporter; rule: RuleReporter<unknown> } {
  const reporter = new Reporter(policy, { today });
  return { reporter, rule: reporter.rule(POLICY_RULES.get(id)!) };
}

/**
 * Applies the policy's exceptions and the CI files' inline ignore comments to findings whose
 * severity is already the effective one. Returns a new list (inputs are not modified):
 * - a finding matched by an exception that has not expired is suppressed (kind `exception`,
 *   never blocking) — exceptions come from administrators, so they may silence errors;
 * - every expired exception is reported once (`policy-exception-expired`, warning by default)
 *   unless `expiredExceptions` is false;
 * - an inline ignore silences a matching `warning` finding (kind `inline`); for an `error`
 *   finding it silences nothing and is itself reported (`inline-ignore-blocking`), because
 *   the MR author controls the CI file.
 * `policy.rules` may re-rate or turn off the two policy rules like any other.
 */
export function suppress(findings: readonly Finding[], policy: Policy, opts: SuppressOptions): Finding[] {
  const active: PolicyException[] = [];
  const expiredNow: PolicyException[] = [];
  for (const e of policy.exceptions) (isExpired(e, opts.today) ? expiredNow : active).push(e);
  const ignores = opts.inlineIgnores ?? [];
  const blockedIgnores = new Map<string, { ig: InlineIgnore; rule: string; fp: string }>();
  const out: Finding[] = [];

  for (const f of findings) {
    if (f.suppressed) {
      out.push({ ...f });
      continue;
    }
    const ex = active.find((e) => exceptionMatches(e, f));
    if (ex) {
      out.push({ ...f, blocking: false, suppressed: { kind: 'exception', reason: ex.reason } });
      continue;
    }
    const igs = ignores.filter((ig) => ignoreCovers(ig, f));
    if (igs.length > 0 && f.severity === 'warning') {
      out.push({ ...f, blocking: false, suppressed: { kind: 'inline', reason: igs[0]!.reason ?? 'tierguard-ignore comment' } });
      continue;
    }
    for (const ig of igs) {
      const l = ig.location;
      const key = `${l.file}:${l.line}:${l.column}:${f.ruleId}`;
      if (!blockedIgnores.has(key)) blockedIgnores.set(key, { ig, rule: f.ruleId, fp: f.fingerprint });
    }
    out.push({ ...f });
  }

  // The policy rules' reporters are made only when they have something to report: every
  // judgment passes here, and most have no expired exception and no blocking inline ignore.
  const expired = (opts.expiredExceptions ?? true) ? expiredNow : [];
  if (expired.length > 0) {
    const { reporter, rule } = policyRule(policy, opts.today, 'policy-exception-expired');
    for (const ex of expired) {
      const src = ex.source ?? { file: policy.sources[policy.sources.length - 1] ?? '<policy>', line: 1, column: 1 };
      const target = [ex.job !== undefined ? `job "${ex.job}"` : '', ex.file !== undefined ? `file "${ex.file}"` : '']
        .filter(Boolean)
        .join(' in ');
      rule.report({
        messageId: 'expired',
        data: { rule: ex.rule, target, expires: ex.expires },
        at: pointLocation(src.file, src.line, src.column),
        keyPath: ['exceptions'],
        discriminator: [ex.rule, ex.job ?? '', ex.file ?? '', ex.expires].join('|'),
      });
    }
    out.push(...reporter.reported());
  }

  if (blockedIgnores.size === 0) return out;
  const { reporter, rule } = policyRule(policy, opts.today, 'inline-ignore-blocking');
  for (const { ig, rule: blockedRule, fp } of blockedIgnores.values()) {
    rule.report({
      messageId: 'blocking',
      data: { rule: blockedRule },
      at: { ...ig.location },
      keyPath: ['tierguard-ignore', blockedRule],
      // The silenced finding's own (line-free) fingerprint keeps two comments apart.
      discriminator: `${ig.target === 'file' ? 'file' : 'line'}:${fp}`,
    });
  }
  out.push(...reporter.reported());
  return out;
}
