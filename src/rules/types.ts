import type { ReportSink } from '../findings/finding.js';
import type { SourceFiles } from '../findings/sources.js';
import type { IncludeRecord } from '../model/include.js';
import type { SourceLocation } from '../model/location.js';
import type { Job, Pipeline } from '../model/pipeline.js';
import type { Policy } from '../policy/types.js';
import type { DeployInfo, RunnerTier } from './deploy.js';
import type { RuleMeta } from '../findings/rule-meta.js';
import type { LineFacts } from './line-facts.js';

import type { ContextId } from '../contexts/contexts.js';
import type { JobTrust } from '../contexts/reach.js';

export type { ContextId, JobTrust };
export { CONTEXT_IDS, TRUSTED_CONTEXTS, UNTRUSTED_CONTEXTS } from '../contexts/contexts.js';

/** One command of `before_script`, `script`, `after_script` or `hooks:pre_get_sources_script`. */
export interface ScriptLine {
  key: 'before_script' | 'script' | 'after_script' | 'pre_get_sources_script';
  index: number;
  text: string;
  /** The list item (a block scalar spans several lines). */
  loc: SourceLocation;
  /** What the rules found out about this text, shared by every line with it (`line-facts.ts`). */
  facts: LineFacts;
}

export interface RuleContext<O = Record<string, unknown>> extends ReportSink {
  pipeline: Pipeline;
  policy: Policy;
  options: O;
  sources: SourceFiles;
  defaultBranch: string;
  /**
   * Unread configuration is a blocking finding (`ci-config-unverified`) rather than a note: the
   * service, and the CLI with `--strict`.
   */
  strict: boolean;
  /**
   * The job's trust and deploy info, worked out when first asked and kept for the evaluation:
   * ask them only for a job with something to report, and as often as needed.
   */
  trust(job: Job): JobTrust;
  deploy(job: Job): DeployInfo | undefined;
  /** The tier a set of runner tags routes to (the strictest tag wins). */
  tagTier(tags: readonly string[]): RunnerTier;
  /** Script lines of a job with positions, block scalars split per line. */
  scriptLines(job: Job): readonly ScriptLine[];
  /** Locate `index` (a character offset into `line.text`) in the source file. */
  locateInScript(line: ScriptLine, index: number, length: number): SourceLocation;
}

/** Hooks a rule implements (one traversal of the model calls them in order). */
export interface RuleHooks {
  pipeline?(p: Pipeline): void;
  include?(inc: IncludeRecord): void;
  job?(job: Job): void;
  scriptLine?(line: ScriptLine, job: Job): void;
}

export interface PipelineRule<O = Record<string, unknown>> {
  meta: RuleMeta<O>;
  create(ctx: RuleContext<O>): RuleHooks;
}

/** Identity helper that keeps the options type (`export default defineRule({...})`). */
export function defineRule<O = Record<string, unknown>>(rule: PipelineRule<O>): PipelineRule<O> {
  return rule;
}
