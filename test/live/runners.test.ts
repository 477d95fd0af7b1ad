import { describe, expect, it } from 'vitest';
import type { GitLabRunner } from '../../src/gitlab/types.js';
import { acceptsTags, canPick, pickers } from '../../src/live/runners.js';

const runner = (over: Partial<GitLabRunner>): GitLabRunner => ({
  id: 1,
  description: 'r',
  tagList: [],
  runUntagged: true,
  accessLevel: 'not_protected',
  isShared: false,
  runnerType: 'project_type',
  paused: false,
  locked: false,
  ...over,
});

describe('runner selection (app/models/ci/runner.rb can_pick?)', () => {
  it('needs every job tag on the runner; untagged jobs only on run_untagged runners', () => {
    const r = runner({ tagList: ['a', 'b'], runUntagged: false });
    expect(acceptsTags(r, ['a'])).toBe(true);
    expect(acceptsTags(r, ['a', 'b'])).toBe(true);
    expect(acceptsTags(r, ['a', 'c'])).toBe(false);
    expect(acceptsTags(r, [])).toBe(false);
    expect(acceptsTags(runner({ tagList: ['a'], runUntagged: true }), [])).toBe(true);
  });

  it('a ref_protected runner takes only protected-ref jobs; a not_protected runner takes both', () => {
    const prot = runner({ accessLevel: 'ref_protected', tagList: ['d'] });
    const open = runner({ tagList: ['d'] });
    expect(canPick(prot, ['d'], { refProtected: false })).toBe(false);
    expect(canPick(prot, ['d'], { refProtected: true })).toBe(true);
    expect(canPick(open, ['d'], { refProtected: false })).toBe(true);
    expect(canPick(open, ['d'], { refProtected: true })).toBe(true);
  });

  it('paused runners and runners the project has disabled pick nothing', () => {
    const shared = runner({ id: 2, isShared: true, runnerType: 'instance_type' });
    const group = runner({ id: 3, runnerType: 'group_type' });
    const paused = runner({ id: 4, paused: true });
    const all = [shared, group, paused];
    expect(pickers(all, [], { refProtected: true }).map((r) => r.id)).toEqual([2, 3]);
    const settings = { sharedRunnersEnabled: false, groupRunnersEnabled: false };
    expect(pickers(all, [], { refProtected: true, settings })).toEqual([]);
    expect(pickers(all, [], { refProtected: true, settings: { sharedRunnersEnabled: null, groupRunnersEnabled: true } }).map((r) => r.id)).toEqual([2, 3]);
  });
});
