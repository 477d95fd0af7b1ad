import type { RuleMeta } from '../rules/meta.js';
import { pipelineRuleMetas } from '../rules/index.js';
import { runnerRules } from '../runner/check.js';
import { policyRuleMetas } from '../policy/rules.js';

/** Every rule tierguard can report, pipeline rules first (SPEC order), then runner and policy rules. */
export function allRuleMetas(): RuleMeta<any>[] {
  return [...pipelineRuleMetas(), ...runnerRules.map((r) => r.meta), ...policyRuleMetas];
}
