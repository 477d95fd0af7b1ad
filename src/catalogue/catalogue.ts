import type { RuleMeta } from '../findings/rule-meta.js';
import { pipelineRuleMetas } from '../rules/index.js';
import { runnerRules } from '../runner/check.js';
import { policyRuleMetas } from '../policy/rules.js';
import { liveRuleMetas } from '../live/catalogue.js';

/** Every rule tierguard can report, in SPEC order: pipeline, live, runner, then the policy system's own. */
export function allRuleMetas(): RuleMeta<unknown>[] {
  return [...pipelineRuleMetas(), ...liveRuleMetas(), ...runnerRules.map((r) => r.meta), ...policyRuleMetas];
}
