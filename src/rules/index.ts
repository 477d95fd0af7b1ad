import type { RuleMeta } from './meta.js';
import type { PipelineRule } from './types.js';
import ciConfigInvalid from './pipeline/ci-config-invalid.js';

/**
 * The pipeline rule catalogue in the order of SPEC.md. One module per rule under
 * `src/rules/pipeline/<id>.ts`, each with its docs page `docs/rules/<id>.md`.
 */
export const pipelineRules: PipelineRule<any>[] = [ciConfigInvalid];

export function pipelineRuleMetas(): RuleMeta<any>[] {
  return pipelineRules.map((r) => r.meta);
}
