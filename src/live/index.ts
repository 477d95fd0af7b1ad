/** Live checks: the YAML against the runners, environments, variables and settings GitLab really has. */
export { liveRules, liveRuleMetas } from './catalogue.js';
export { LiveCache, type LiveCacheOptions } from './cache.js';
export { runLiveChecks, type LiveCheckResult, type LiveCheckInput, type LiveCheckOptions, type SkippedCheck } from './check.js';
export type { LiveRule, LiveRuleContext, LiveData, LiveDataKey } from './types.js';
export { NEEDS } from './types.js';
