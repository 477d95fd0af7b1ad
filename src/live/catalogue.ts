import type { RuleMeta } from '../findings/rule-meta.js';
import deployEnvironmentUnprotected from './rules/deploy-environment-unprotected.js';
import deployRunnerServesUntrusted from './rules/deploy-runner-serves-untrusted.js';
import deployRunnerUnprotected from './rules/deploy-runner-unprotected.js';
import forkPipelinesInParent from './rules/fork-pipelines-in-parent.js';
import forwardDeploymentDisabled from './rules/forward-deployment-disabled.js';
import pipelineVariablesUnrestricted from './rules/pipeline-variables-unrestricted.js';
import protectedRefAssumed from './rules/protected-ref-assumed.js';
import secretVariableUnscoped from './rules/secret-variable-unscoped.js';
import separatedCachesDisabled from './rules/separated-caches-disabled.js';
import unprotectedSecretVariable from './rules/unprotected-secret-variable.js';
import type { LiveRule } from './types.js';

/**
 * The live rule catalogue, SPEC order first, then the extra checks: one module per rule under
 * `src/live/rules/<id>.ts`, each with its docs page `docs/rules/<id>.md`.
 */
export const liveRules: LiveRule<unknown>[] = [
  deployRunnerUnprotected,
  deployRunnerServesUntrusted,
  deployEnvironmentUnprotected,
  unprotectedSecretVariable,
  forkPipelinesInParent,
  pipelineVariablesUnrestricted,
  protectedRefAssumed,
  secretVariableUnscoped,
  separatedCachesDisabled,
  forwardDeploymentDisabled,
];

export function liveRuleMetas(): RuleMeta<unknown>[] {
  return liveRules.map((r) => r.meta);
}
