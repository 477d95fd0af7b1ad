import { buildPipeline } from '../model/pipeline.js';
import type { ConfigSource } from '../model/source.js';
import type { Policy } from '../policy/types.js';
import type { VariableAssumptions } from '../contexts/contexts.js';
import { evaluatePipeline, type Evaluation } from './engine.js';
import { pipelineRules } from './index.js';
import { defaultTrustFactory } from './trust-provider.js';

export interface LintOptions {
  policy: Policy;
  defaultBranch?: string;
  today?: Date;
  /** Unread configuration is a blocking finding (service, `tierguard lint --strict`). */
  strict?: boolean;
  /** Live data about variables that override YAML values (see `VariableAssumptions`). */
  variables?: VariableAssumptions;
}

/** Build the pipeline from `rootFile` and judge it with the whole catalogue: the one entry point the CLI and the service share. */
export async function lintPipeline(source: ConfigSource, rootFile: string, opts: LintOptions): Promise<Evaluation> {
  const pipeline = await buildPipeline(source, rootFile);
  return evaluatePipeline(pipeline, {
    policy: opts.policy,
    rules: pipelineRules,
    trust: defaultTrustFactory,
    defaultBranch: opts.defaultBranch,
    today: opts.today,
    strict: opts.strict,
    variables: opts.variables,
  });
}
