import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { SourceLocation } from '../model/location.js';
import { resolveMessage, type MessageData } from './messages.js';
import { compareText } from '../util/text.js';
import { BoundedMemo } from '../util/bounded-memo.js';

export type Severity = 'error' | 'warning';

/** A secondary place that explains a finding ("the rule that lets MRs run it is here"). */
export interface RelatedLocation {
  location: SourceLocation;
  message: string;
}

/**
 * A mechanical fix: replace the whole lines `location.line..location.endLine` of
 * `location.file` with `replacement` (which may span several lines, no trailing newline).
 * The review turns it into a GitLab ```suggestion``` block.
 */
export interface Fix {
  description: string;
  location: SourceLocation;
  replacement: string;
}

export interface Suppression {
  kind: 'exception' | 'inline';
  reason: string;
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  /** true when this finding fails the commit status / CLI exit code. */
  blocking: boolean;
  message: string;
  /** The rule's message id the text was built from (`meta.messages`), for tests and tooling. */
  messageId?: string;
  location: SourceLocation;
  job?: string;
  /** Key path inside the job or file (e.g. ["environment", "name"]); part of the fingerprint. */
  keyPath: string[];
  /** Stable id: rule, file, job, key path (and a discriminator) — never the line number. */
  fingerprint: string;
  related?: RelatedLocation[];
  fix?: Fix;
  /** Set when an exception or inline comment silenced it: kept and counted, never blocking. */
  suppressed?: Suppression;
  /** Small structured facts behind the message (e.g. the full variable list a message shortens). */
  details?: FindingDetails;
}

/** String or string-list values only, so every output can mask them like the message. */
type FindingDetails = Record<string, string | string[]>;

export function fingerprintOf(parts: {
  ruleId: string;
  file: string;
  job?: string;
  keyPath: string[];
  discriminator?: string;
}): string {
  const text = [parts.ruleId, parts.file, parts.job ?? '', parts.keyPath.join('.'), parts.discriminator ?? ''].join('\u0000');
  // The same findings come back in every evaluation of the same configuration (a merge
  // request's base and head, each recheck): hashed once per text. Bounded: the texts hold YAML
  // an MR author writes.
  let hit = fingerprints.get(text);
  if (hit === undefined) fingerprints.set(text, (hit = sha256Hex(text).slice(0, 16)));
  return hit;
}
const fingerprints = new BoundedMemo<string>(20_000, 4_000_000);

/**
 * SHA-256 of a fingerprint's text, in hex. Loading node:crypto takes about 10 ms (Node 20 and
 * 24), more than a typical `lint` run spends on all its fingerprints: the first ones of a
 * process are hashed in JavaScript (@noble/hashes, the same SHA-256 of the same UTF-8 bytes,
 * about 30-70 µs each before V8 optimizes it), the rest by node:crypto (about 0.5 µs each once
 * loaded). `tierguard jobs` and `rules` make no finding and load neither.
 */
export function sha256Hex(text: string): string {
  if (jsHashes < JS_HASHES) {
    jsHashes++;
    return bytesToHex(sha256(utf8ToBytes(text)));
  }
  crypto ??= process.getBuiltinModule('node:crypto');
  return crypto.hash('sha256', text, 'hex');
}
/** Fingerprints hashed in JavaScript before node:crypto takes over (where the two cost about the same). */
const JS_HASHES = 100;
let jsHashes = 0;
let crypto: typeof import('node:crypto') | undefined;

/**
 * What a rule of any kind (pipeline, runner, live, policy) reports; the Reporter adds the rule
 * id, the severity the policy gives it and the fingerprint. The text is either `message` or a
 * `messageId` of the rule's `meta.messages` with `data` for its `{{name}}` placeholders.
 */
export interface Report {
  at: SourceLocation;
  /** A key of the rule's `meta.messages`; the finding's text is that template filled with `data`. */
  messageId?: string;
  /** Values for the template's `{{placeholders}}`. */
  data?: MessageData;
  /** Plain text, only for findings built outside a rule (a rule reports `messageId`). */
  message?: string;
  job?: string;
  /**
   * The job's name in the fingerprint when it differs from `job` (a runner name written twice
   * in one file is told apart by its index).
   */
  identity?: string;
  keyPath: string[];
  /** Distinguishes several findings of one rule at one key path (e.g. the variable name). */
  discriminator?: string;
  related?: RelatedLocation[];
  fix?: Fix;
  /** A range holding a secret value: masked in every output. */
  secret?: SourceLocation;
  /** Per-finding severity when a rule has two levels (unless the policy re-rates the rule). */
  severity?: Severity;
  /** Structured facts for the JSON output (the full list a message shortens to "and N more"). */
  details?: FindingDetails;
}

/** What a rule reports: a Report by message id (the rule's texts live in its `meta.messages`). */
export type RuleReport = Report & { messageId: string };

/** A rule's context reports through this (every rule kind has it). */
export interface ReportSink {
  report(r: RuleReport): void;
}

/**
 * The one place a finding is built from a rule's report (every rule kind, through the Reporter):
 * `messages` is the rule's `meta.messages`, which `r.messageId` names (see messages.ts).
 */
export function makeFinding(ruleId: string, severity: Severity, r: Report, messages?: Readonly<Record<string, string>>): Finding {
  return {
    ruleId,
    severity,
    blocking: severity === 'error',
    message: resolveMessage(ruleId, r, messages),
    ...(r.messageId !== undefined ? { messageId: r.messageId } : {}),
    location: r.at,
    job: r.job,
    keyPath: r.keyPath,
    fingerprint: fingerprintOf({ ruleId, file: r.at.file, job: r.identity ?? r.job, keyPath: r.keyPath, discriminator: r.discriminator }),
    related: r.related,
    fix: r.fix,
    ...(r.details ? { details: r.details } : {}),
  };
}

export interface FindingSummary {
  errors: number;
  warnings: number;
  blocking: number;
  suppressed: number;
}

export function summarize(findings: readonly Finding[]): FindingSummary {
  let errors = 0;
  let warnings = 0;
  let blocking = 0;
  let suppressed = 0;
  for (const f of findings) {
    if (f.suppressed) {
      suppressed++;
      continue;
    }
    if (f.severity === 'error') errors++;
    else warnings++;
    if (f.blocking) blocking++;
  }
  return { errors, warnings, blocking, suppressed };
}

/** Stable order for every output, the same in every locale: file, line, column, rule. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      compareText(a.location.file, b.location.file) ||
      a.location.line - b.location.line ||
      a.location.column - b.location.column ||
      compareText(a.ruleId, b.ruleId),
  );
}
