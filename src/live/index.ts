/** Live checks: the YAML against the runners, environments, variables and settings GitLab really has. */
export { liveRules } from './catalogue.js';
export { LiveCache } from './cache.js';
export { runLiveChecks } from './check.js';
