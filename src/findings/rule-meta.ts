import type { ZodType } from 'zod';
import type { Severity } from './finding.js';

export type RuleKind = 'pipeline' | 'runner' | 'live';

/**
 * Metadata every rule module carries next to its logic (ESLint / zizmor style). The rule
 * table in the README, `tierguard rules` and `tierguard explain` are generated from it.
 */
export interface RuleMeta<O = Record<string, unknown>> {
  /** Kebab-case id; the module file and docs page are named after it. */
  id: string;
  kind: RuleKind;
  /** One-line title. */
  title: string;
  defaultSeverity: Severity;
  /** The trust principle the rule protects. */
  principle: string;
  /** How to fix a finding. */
  fix: string;
  /**
   * The rule's messages by id (ESLint style): one sentence-case line each — what is wrong, why
   * it matters, the short fix — with `{{name}}` placeholders that a report fills with `data`.
   */
  messages: Readonly<Record<string, string>>;
  /** Options schema with defaults; `{}` parses to the defaults. */
  options?: ZodType<O>;
}

export function docsPath(id: string): string {
  return `docs/rules/${id}.md`;
}
