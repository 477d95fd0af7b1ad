import { describe, expect, it } from 'vitest';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { readVariableAssumptions, userPipelineVariables } from '../../src/live/assumptions.js';

describe('variable assumptions from live data', () => {
  it('who may set pipeline variables (restrict_user_defined_variables / ci_pipeline_variables_minimum_override_role)', () => {
    expect(userPipelineVariables(null)).toBeUndefined();
    expect(userPipelineVariables({ restrictUserDefinedVariables: false, pipelineVariablesMinimumOverrideRole: 'maintainer' })).toBe(true);
    expect(userPipelineVariables({ restrictUserDefinedVariables: true, pipelineVariablesMinimumOverrideRole: 'developer' })).toBe(true);
    expect(userPipelineVariables({ restrictUserDefinedVariables: true, pipelineVariablesMinimumOverrideRole: 'maintainer' })).toBe(false);
    expect(userPipelineVariables({ restrictUserDefinedVariables: null, pipelineVariablesMinimumOverrideRole: 'no_one_allowed' })).toBe(false);
    expect(userPipelineVariables({ restrictUserDefinedVariables: null, pipelineVariablesMinimumOverrideRole: null })).toBeUndefined();
  });

  it('reads the settings and the project and ancestor-group variable names; unreadable parts stay unknown', async () => {
    const groupsRead: string[] = [];
    const api = {
      getProjectCiSettings: async () => ({ namespaceFullPath: 'org/team', namespaceKind: 'group', restrictUserDefinedVariables: true, pipelineVariablesMinimumOverrideRole: 'maintainer' }),
      listProjectVariables: async () => [{ key: 'ENABLE_RELEASES' }],
      listGroupVariables: async (g: string) => {
        groupsRead.push(g);
        if (g === 'org') throw new Error('403 Forbidden');
        return [{ key: 'REGISTRY_PASSWORD' }];
      },
    } as unknown as GitLabApi;
    expect(await readVariableAssumptions(api, 'org/team/app')).toEqual({ userPipelineVariables: false, cicdVariables: ['ENABLE_RELEASES', 'REGISTRY_PASSWORD'] });
    expect(groupsRead).toEqual(['org/team', 'org']);
    const blind = { listProjectVariables: async () => Promise.reject(new Error('403')) } as unknown as GitLabApi;
    expect(await readVariableAssumptions(blind, 1)).toEqual({});
  });
});
