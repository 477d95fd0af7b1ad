/**
 * What live data says about variables that override YAML values (`VariableAssumptions` of
 * src/contexts): who may set pipeline variables, and which CI/CD variables exist. Read before
 * the pipeline is judged, so `rules:if` on a YAML variable is decided as GitLab would. Project,
 * group and pipeline variables all take precedence over YAML `variables:`
 * (doc/ci/variables/_index.md, "CI/CD variable precedence").
 *
 * Read through the live loader (./load.ts): with the per-project LiveCache the service keeps,
 * these are the very reads the live checks make (settings, project variables, group variables),
 * so they cost no extra GitLab call within the TTL.
 */
import type { VariableAssumptions } from '../contexts/contexts.js';
import type { GitLabApi, GitLabProjectCiSettings } from '../gitlab/types.js';
import type { LiveCache } from './cache.js';
import type { SkippedCheck } from './check.js';
import { liveLoader, type Loaded } from './load.js';
import { NEEDS, type LiveData, type LiveDataKey } from './types.js';

/**
 * `ci_pipeline_variables_minimum_override_role` (app/models/project_ci_cd_setting.rb) applies
 * while `restrict_user_defined_variables` is on (the boolean is ignored from GitLab 18.3): a
 * Developer may set pipeline variables when the role is `developer` or the restriction is off.
 */
export function userPipelineVariables(s: Pick<GitLabProjectCiSettings, 'restrictUserDefinedVariables' | 'pipelineVariablesMinimumOverrideRole'> | null): boolean | undefined {
  if (!s) return undefined;
  const role = s.pipelineVariablesMinimumOverrideRole;
  if (s.restrictUserDefinedVariables === false || role === 'developer') return true;
  if (role === 'maintainer' || role === 'owner' || role === 'no_one_allowed') return false;
  return undefined;
}

/** The assumptions, and the reads they could not use (shown as skipped, like the live checks' reads). */
export interface LiveVariables {
  assumptions: VariableAssumptions;
  skipped: SkippedCheck[];
}

/** How a skipped read for the assumptions is named (a summary line groups it with the live checks' skips). */
export const VARIABLE_ASSUMPTIONS_CHECK = 'CI/CD and pipeline variables overriding YAML values';

/**
 * Read the settings and the project and ancestor-group variable names. What cannot be read
 * stays unknown, which keeps the offline (conservative) assumption: users may set pipeline
 * variables; unread CI/CD variables are not known to override anything.
 */
export async function readLiveVariables(api: GitLabApi, projectId: number | string, opts: { cache?: LiveCache } = {}): Promise<LiveVariables> {
  const load = liveLoader(api, projectId, opts.cache ? { cache: opts.cache } : {});
  const skipped: SkippedCheck[] = [];
  const skip = (key: LiveDataKey, reason: string) => skipped.push({ check: VARIABLE_ASSUMPTIONS_CHECK, needs: NEEDS[key], reason });
  const read = async <K extends LiveDataKey>(key: K): Promise<LiveData[K] | null> => {
    let r: Loaded<LiveData[K]>;
    try {
      r = await load(key);
    } catch (err) {
      skip(key, `GitLab could not be read: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
    if (!r.ok) skip(key, r.reason);
    return r.ok ? r.data : null;
  };
  const settings = await read('settings');
  const names = new Set<string>();
  for (const v of (await read('projectVariables')) ?? []) names.add(v.key);
  const groups = await read('groupVariables');
  for (const g of groups?.groups ?? []) for (const v of g.variables) names.add(v.key);
  for (const u of groups?.unreadable ?? []) skip('groupVariables', `variables of group \`${u.group}\` not read: ${u.reason}`);
  const assumptions: VariableAssumptions = {};
  const users = userPipelineVariables(settings);
  if (users !== undefined) assumptions.userPipelineVariables = users;
  if (names.size) assumptions.cicdVariables = [...names].sort();
  return { assumptions, skipped };
}
