export type { Policy, PolicyException, RuleSetting } from './types.js';
export { builtinPolicy } from './defaults.js';
export { PolicyError, formatIssue, type PolicyIssue } from './errors.js';
export { loadPolicy, layerPolicy, type LoadPolicyOptions } from './load.js';
export { POLICY_RULE_IDS, parseLayer, mergeLayer, type RuleCatalogue } from './merge.js';
export { applyProjectOverride, projectOverrideFindings, PROJECT_POLICY_FILE, type ProjectOverrideResult } from './project.js';
export {
  effectiveSetting,
  exceptionMatches,
  isExpired,
  parseInlineIgnores,
  type InlineIgnore,
} from './apply.js';
export { Reporter, suppress, type SuppressOptions } from './reporter.js';
export { policyRuleMetas } from './rules.js';
export { PolicyFileSchema, type PolicyFile } from './schema.js';
