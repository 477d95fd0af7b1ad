/**
 * What live data says about variables that override YAML values (`VariableAssumptions` of
 * src/contexts): who may set pipeline variables, and which CI/CD variables exist. Read before
 * the pipeline is judged, so `rules:if` on a YAML variable is decided as GitLab would.
 */
import type { VariableAssumptions } from '../contexts/contexts.js';
import type { GitLabApi, GitLabProjectCiSettings } from '../gitlab/types.js';

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

/** Read the settings and the project and ancestor-group variable names; what cannot be read stays unknown. */
export async function readVariableAssumptions(api: GitLabApi, projectId: number | string): Promise<VariableAssumptions> {
  const tryRead = async <T>(read: () => Promise<T>): Promise<T | null> => {
    try {
      return await read();
    } catch {
      return null;
    }
  };
  const settings = api.getProjectCiSettings ? await tryRead(() => api.getProjectCiSettings!(projectId)) : null;
  const names = new Set<string>();
  for (const v of (await tryRead(() => api.listProjectVariables(projectId))) ?? []) names.add(v.key);
  if (settings && settings.namespaceKind !== 'user' && api.listGroupVariables) {
    const parts = settings.namespaceFullPath.split('/').filter(Boolean);
    for (let i = parts.length; i > 0; i--) for (const v of (await tryRead(() => api.listGroupVariables!(parts.slice(0, i).join('/')))) ?? []) names.add(v.key);
  }
  const out: VariableAssumptions = {};
  const users = userPipelineVariables(settings);
  if (users !== undefined) out.userPipelineVariables = users;
  if (names.size) out.cicdVariables = [...names].sort();
  return out;
}
