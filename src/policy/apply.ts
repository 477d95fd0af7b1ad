import { Lexer } from 'yaml';
import type { Finding, Severity } from '../findings/finding.js';
import type { SourceLocation } from '../model/location.js';
import { matchesAny } from '../util/glob.js';
import type { Policy, PolicyException, RuleSetting } from './types.js';

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

type RuleToConfigure<O> = { id: string; defaultSeverity: Severity; options?: { defaults: O } };

/**
 * Resolve a rule's setting against the policy: its severity, and its options (the policy's
 * shallow-merged onto the rule's defaults). `undefined` when the policy turns the rule off.
 * The options were checked against the rule's schema when the policy file was parsed, with
 * exact positions (`parseLayer` in ./merge.ts, which every policy loader calls with the catalogue).
 */
export function configureRule<O>(policy: Policy, meta: RuleToConfigure<O>): ConfiguredRule<O> | undefined {
  // Remembered per rule and per policy entry: every judgment configures every rule. Keyed by the
  // entry's content, not the policy object, so a policy changed in place is configured afresh.
  const entry = policy.rules[meta.id];
  const key = entry === undefined ? '' : JSON.stringify(entry);
  let byEntry = configuredMemo.get(meta) as Map<string, ConfiguredRule<O> | undefined> | undefined;
  if (!byEntry) configuredMemo.set(meta, (byEntry = new Map<string, ConfiguredRule<O> | undefined>()));
  if (byEntry.has(key)) return byEntry.get(key);
  const configured = resolveRule(policy, meta);
  if (byEntry.size >= 64) byEntry.clear();
  byEntry.set(key, configured);
  return configured;
}
const configuredMemo = new WeakMap<object, Map<string, unknown>>();

function resolveRule<O>(policy: Policy, meta: RuleToConfigure<O>): ConfiguredRule<O> | undefined {
  const setting = effectiveSetting(policy, meta.id, meta.defaultSeverity, meta.options?.defaults as Record<string, unknown> | undefined);
  if (setting.severity === 'off') return undefined;
  const ps = policy.rules[meta.id]?.severity;
  return { severity: setting.severity, options: setting.options as O, policySeverity: ps && ps !== 'off' ? ps : undefined };
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
      if (lineStarts[mid]! <= offset) lo = mid; // lo <= mid <= hi are indexes of lineStarts
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
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
        let body = m[2] ?? '';
        let reason: string | undefined;
        const dash = body.search(/(^|\s)--(\s|$)/);
        if (dash >= 0) {
          reason = body.slice(dash).replace(/^\s*--\s*/, '').trim() || undefined;
          body = body.slice(0, dash);
        }
        const rules = body.split(/[\s,]+/).filter(Boolean);
        const standalone = (lines[line - 1] ?? '').slice(0, column - 1).trim() === '';
        let target: number | 'file' = line;
        if (m[1]) target = 'file';
        else if (standalone) {
          target = 0; // nothing follows: silences nothing
          for (const [i, text] of lines.entries()) {
            if (i < line) continue;
            const l = i + 1;
            const t = text.trim();
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

export function ignoreCovers(ig: InlineIgnore, f: Finding): boolean {
  if (ig.file !== f.location.file || !ig.rules.includes(f.ruleId)) return false;
  if (ig.target === 'file') return true;
  return f.location.line <= ig.target && ig.target <= Math.max(f.location.line, f.location.endLine);
}

