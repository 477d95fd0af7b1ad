import { Lexer } from 'yaml';
import type { Finding, Severity } from '../findings/finding.js';
import { fingerprintOf } from '../findings/finding.js';
import { pointLocation, type SourceLocation } from '../model/location.js';
import { matchesAny } from '../util/glob.js';
import type { Policy, PolicyException, RuleSetting } from './types.js';
import { PolicyError } from './errors.js';
import { policyMessage } from './rules.js';

/**
 * A rule's effective setting: the merged policy entry over the rule's defaults. A policy
 * entry without options keeps the default options; policy options shallow-merge onto them.
 */
export function effectiveSetting(
  policy: Policy,
  ruleId: string,
  defaultSeverity: Severity,
  defaultOptions: Record<string, unknown> = {},
): RuleSetting {
  const s = policy.rules[ruleId];
  return { severity: s?.severity ?? defaultSeverity, options: { ...defaultOptions, ...(s?.options ?? {}) } };
}

/** A rule as the policy configures it: effective severity, validated options, and the severity the policy itself set (which overrides per-finding severities). */
export interface ConfiguredRule<O = unknown> {
  severity: Severity;
  options: O;
  policySeverity?: Severity;
}

/**
 * Resolve a rule's setting against the policy and validate its options with the rule's
 * schema. `undefined` when the policy turns the rule off. Invalid options are a PolicyError
 * naming the key path (policy files are validated again with exact positions at load time).
 */
export function configureRule<O>(policy: Policy, meta: { id: string; defaultSeverity: Severity; options?: { safeParse(v: unknown): { success: true; data: O } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } } }): ConfiguredRule<O> | undefined {
  const setting = effectiveSetting(policy, meta.id, meta.defaultSeverity);
  if (setting.severity === 'off') return undefined;
  let options = setting.options as unknown as O;
  if (meta.options) {
    const parsed = meta.options.safeParse(setting.options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const src = policy.sources[policy.sources.length - 1] ?? '<policy>';
      throw PolicyError.at(src, 0, 0, ['rules', meta.id, 'options', ...issue.path.map(String)].join('.'), issue.message);
    }
    options = parsed.data;
  }
  const ps = policy.rules[meta.id]?.severity;
  return { severity: setting.severity, options, policySeverity: ps && ps !== 'off' ? ps : undefined };
}

/** `YYYY-MM-DD` of `today` in UTC. */
function isoDay(today: Date): string {
  return today.toISOString().slice(0, 10);
}

/** An exception applies through its `expires` day (inclusive, UTC) and is expired after it. */
export function isExpired(ex: PolicyException, today: Date): boolean {
  return isoDay(today) > ex.expires;
}

/** Rule matches, and the job (exact) and/or the file (glob) written in the exception match. */
export function exceptionMatches(ex: PolicyException, f: Finding): boolean {
  if (ex.rule !== f.ruleId) return false;
  if (ex.job !== undefined && ex.job !== f.job) return false;
  if (ex.file !== undefined && !matchesAny(f.location.file, [ex.file])) return false;
  return ex.job !== undefined || ex.file !== undefined;
}

/** A `# tierguard-ignore` comment found in a CI YAML file. */
export interface InlineIgnore {
  file: string;
  /** Where the comment is (for the `inline-ignore-blocking` report). */
  location: SourceLocation;
  /** The line it silences, or `'file'` for `# tierguard-ignore-file`. */
  target: number | 'file';
  rules: string[];
  reason?: string;
}

const IGNORE_RE = /^#\s*tierguard-ignore(-file)?(?=\s|$)(.*)$/;

/**
 * Finds `# tierguard-ignore <rule>[,<rule>…] [-- reason]` (silences findings on the same line
 * when it trails code, or on the next line that is neither blank nor a comment when it stands
 * alone) and `# tierguard-ignore-file <rule>[,…] [-- reason]` (the whole file). Only real YAML
 * comments count (found with the YAML lexer): a `#` inside a quoted string or a block scalar
 * (`script: |` shell comments) is not an ignore comment. A comment naming no rule has no effect.
 */
export function parseInlineIgnores(file: string, text: string): InlineIgnore[] {
  const lines = text.split(/\r?\n/);
  const lineStarts: number[] = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const posOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo] + 1 };
  };

  const out: InlineIgnore[] = [];
  let offset = 0;
  let prev = '';
  for (const tok of new Lexer().lex(text)) {
    const zeroWidth = tok === '\x02' || tok === '\x18' || tok === '\x1f';
    if (!zeroWidth && tok.startsWith('#') && prev !== '\x1f') {
      const m = IGNORE_RE.exec(tok.replace(/\r$/, ''));
      if (m) {
        const { line, column } = posOf(offset);
        let body = m[2];
        let reason: string | undefined;
        const dash = body.search(/(^|\s)--(\s|$)/);
        if (dash >= 0) {
          reason = body.slice(dash).replace(/^\s*--\s*/, '').trim() || undefined;
          body = body.slice(0, dash);
        }
        const rules = body.split(/[\s,]+/).filter(Boolean);
        const standalone = lines[line - 1].slice(0, column - 1).trim() === '';
        let target: number | 'file' = line;
        if (m[1]) target = 'file';
        else if (standalone) {
          target = 0; // nothing follows: silences nothing
          for (let l = line + 1; l <= lines.length; l++) {
            const t = lines[l - 1].trim();
            if (t !== '' && !t.startsWith('#')) {
              target = l;
              break;
            }
          }
        }
        const location: SourceLocation = { file, line, column, endLine: line, endColumn: column + tok.replace(/\r$/, '').length };
        const ig: InlineIgnore = { file, location, target, rules };
        if (reason) ig.reason = reason;
        if (rules.length > 0) out.push(ig);
      }
    }
    if (!zeroWidth) offset += tok.length;
    prev = tok;
  }
  return out;
}

function ignoreCovers(ig: InlineIgnore, f: Finding): boolean {
  if (ig.file !== f.location.file || !ig.rules.includes(f.ruleId)) return false;
  if (ig.target === 'file') return true;
  return f.location.line <= ig.target && ig.target <= Math.max(f.location.line, f.location.endLine);
}

export interface SuppressOptions {
  today: Date;
  /** Ignore comments of every CI file evaluated (see `parseInlineIgnores`). */
  inlineIgnores?: readonly InlineIgnore[];
}

/**
 * Applies the policy's exceptions and the CI files' inline ignore comments to findings whose
 * severity is already the effective one. Returns a new list (inputs are not modified):
 * - a finding matched by an exception that has not expired is suppressed (kind `exception`,
 *   never blocking) — exceptions come from administrators, so they may silence errors;
 * - every expired exception is reported once (`policy-exception-expired`, warning by default);
 * - an inline ignore silences a matching `warning` finding (kind `inline`); for an `error`
 *   finding it silences nothing and is itself reported (`inline-ignore-blocking`), because
 *   the MR author controls the CI file.
 * `policy.rules` may re-rate or turn off the two policy rules like any other.
 */
/**
 * Exceptions only (no inline ignores, no expired-exception findings: those are reported once, by
 * the pipeline evaluation): for findings judged outside the pipeline traversal, such as runner
 * configurations, so the CLI and the service give them the same verdict.
 */
export function applyExceptions(findings: readonly Finding[], policy: Policy, today: Date): Finding[] {
  return suppress(findings, { ...policy, exceptions: policy.exceptions.filter((e) => !isExpired(e, today)) }, { today });
}

export function suppress(findings: readonly Finding[], policy: Policy, opts: SuppressOptions): Finding[] {
  const active = policy.exceptions.filter((e) => !isExpired(e, opts.today));
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
      out.push({ ...f, blocking: false, suppressed: { kind: 'inline', reason: igs[0].reason ?? 'tierguard-ignore comment' } });
      continue;
    }
    for (const ig of igs) {
      const l = ig.location;
      const key = `${l.file}:${l.line}:${l.column}:${f.ruleId}`;
      if (!blockedIgnores.has(key)) blockedIgnores.set(key, { ig, rule: f.ruleId, fp: f.fingerprint });
    }
    out.push({ ...f });
  }

  const expired = effectiveSetting(policy, 'policy-exception-expired', 'warning');
  if (expired.severity !== 'off') {
    for (const ex of policy.exceptions) {
      if (!isExpired(ex, opts.today)) continue;
      const src = ex.source ?? { file: policy.sources[policy.sources.length - 1] ?? '<policy>', line: 1, column: 1 };
      const target = [ex.job !== undefined ? `job "${ex.job}"` : '', ex.file !== undefined ? `file "${ex.file}"` : '']
        .filter(Boolean)
        .join(' in ');
      out.push({
        ruleId: 'policy-exception-expired',
        severity: expired.severity,
        blocking: expired.severity === 'error',
        ...policyMessage('policy-exception-expired', 'expired', { rule: ex.rule, target, expires: ex.expires }),
        location: pointLocation(src.file, src.line, src.column),
        keyPath: ['exceptions'],
        fingerprint: fingerprintOf({
          ruleId: 'policy-exception-expired',
          file: src.file,
          keyPath: ['exceptions'],
          discriminator: [ex.rule, ex.job ?? '', ex.file ?? '', ex.expires].join('|'),
        }),
      });
    }
  }

  const blocked = effectiveSetting(policy, 'inline-ignore-blocking', 'warning');
  if (blocked.severity !== 'off') {
    for (const { ig, rule, fp } of blockedIgnores.values()) {
      out.push({
        ruleId: 'inline-ignore-blocking',
        severity: blocked.severity,
        blocking: blocked.severity === 'error',
        ...policyMessage('inline-ignore-blocking', 'blocking', { rule }),
        location: { ...ig.location },
        keyPath: ['tierguard-ignore', rule],
        fingerprint: fingerprintOf({
          ruleId: 'inline-ignore-blocking',
          file: ig.file,
          keyPath: ['tierguard-ignore', rule],
          // The silenced finding's own (line-free) fingerprint keeps two comments apart.
          discriminator: `${ig.target === 'file' ? 'file' : 'line'}:${fp}`,
        }),
      });
    }
  }
  return out;
}
