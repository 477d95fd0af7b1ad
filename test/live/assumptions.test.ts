import { describe, expect, it } from 'vitest';
import { GitLabError } from '../../src/gitlab/errors.js';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { readLiveVariables, userPipelineVariables, VARIABLE_ASSUMPTIONS_CHECK } from '../../src/live/assumptions.js';
import { LiveCache } from '../../src/live/cache.js';
import { NEEDS } from '../../src/live/types.js';

const forbidden = (route: string) => new GitLabError({ status: 403, route, message: '403 Forbidden' });

describe('variable assumptions from live data', () => {
  it('who may set pipeline variables (restrict_user_defined_variables / ci_pipeline_variables_minimum_override_role)', () => {
    expect(userPipelineVariables(null)).toBeUndefined();
    expect(userPipelineVariables({ restrictUserDefinedVariables: false, pipelineVariablesMinimumOverrideRole: 'maintainer' })).toBe(true);
    expect(userPipelineVariables({ restrictUserDefinedVariables: true, pipelineVariablesMinimumOverrideRole: 'developer' })).toBe(true);
    expect(userPipelineVariables({ restrictUserDefinedVariables: true, pipelineVariablesMinimumOverrideRole: 'maintainer' })).toBe(false);
    expect(userPipelineVariables({ restrictUserDefinedVariables: null, pipelineVariablesMinimumOverrideRole: 'no_one_allowed' })).toBe(false);
    expect(userPipelineVariables({ restrictUserDefinedVariables: null, pipelineVariablesMinimumOverrideRole: null })).toBeUndefined();
  });

  it('reads the settings and the project and ancestor-group variable names; unreadable parts stay unknown and are skipped reads', async () => {
    const groupsRead: string[] = [];
    const api = {
      getProjectCiSettings: async () => ({ namespaceFullPath: 'org/team', namespaceKind: 'group', restrictUserDefinedVariables: true, pipelineVariablesMinimumOverrideRole: 'maintainer' }),
      listProjectVariables: async () => [{ key: 'ENABLE_RELEASES' }],
      listGroupVariables: async (g: string) => {
        groupsRead.push(g);
        if (g === 'org') throw forbidden('GET /groups/:id/variables');
        return [{ key: 'REGISTRY_PASSWORD' }];
      },
    } as unknown as GitLabApi;
    const r = await readLiveVariables(api, 'org/team/app');
    expect(r.assumptions).toEqual({ userPipelineVariables: false, cicdVariables: ['ENABLE_RELEASES', 'REGISTRY_PASSWORD'] });
    expect(r.skipped).toEqual([{ check: VARIABLE_ASSUMPTIONS_CHECK, needs: NEEDS.groupVariables, reason: 'variables of group `org` not read: the token lacks the role or scope (403 Forbidden)' }]);
    expect(groupsRead).toEqual(['org/team', 'org']);
  });

  it('a Developer token (403 on variables): the conservative default, and the read said skipped', async () => {
    const blind = {
      getProjectCiSettings: async () => ({ namespaceFullPath: 'me', namespaceKind: 'user', restrictUserDefinedVariables: null, pipelineVariablesMinimumOverrideRole: null }),
      listProjectVariables: async () => Promise.reject(forbidden('GET /projects/:id/variables')),
      listGroupVariables: async () => [],
    } as unknown as GitLabApi;
    const r = await readLiveVariables(blind, 1);
    expect(r.assumptions).toEqual({});
    expect(r.skipped).toEqual([{ check: VARIABLE_ASSUMPTIONS_CHECK, needs: NEEDS.projectVariables, reason: 'the token lacks the role or scope (403 Forbidden)' }]);
  });

  it('reads through the live cache: a second reader (the live checks) makes no GitLab call', async () => {
    let calls = 0;
    const api = {
      getProjectCiSettings: async () => {
        calls++;
        return { namespaceFullPath: 'org', namespaceKind: 'group', restrictUserDefinedVariables: false, pipelineVariablesMinimumOverrideRole: null };
      },
      listProjectVariables: async () => {
        calls++;
        return [{ key: 'A' }];
      },
      listGroupVariables: async () => {
        calls++;
        return [{ key: 'B' }];
      },
    } as unknown as GitLabApi;
    const cache = new LiveCache({ ttlMs: 60_000 });
    const first = await readLiveVariables(api, 7, { cache });
    expect(calls).toBe(3);
    expect(await readLiveVariables(api, 7, { cache })).toEqual(first);
    expect(calls).toBe(3);
    expect(first.assumptions).toEqual({ userPipelineVariables: true, cicdVariables: ['A', 'B'] });
  });
});
