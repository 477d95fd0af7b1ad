/**
 * Which runners can pick a job, as GitLab decides it (app/models/ci/runner.rb):
 *
 *   def can_pick?(build)
 *     return false if self.ref_protected? && !build.protected?
 *     assignable_for?(build.project_id) && accepting_tags?(build)
 *   end
 *   def accepting_tags?(build)
 *     (run_untagged? || build.has_tags?) && (build.tag_list - tag_list).empty?
 *   end
 *
 * plus: paused runners take nothing, instance runners only where the project has
 * `shared_runners_enabled`, group runners only with `group_runners_enabled`. A `not_protected`
 * runner picks jobs on protected refs too (GitLab issue 342408): only a `ref_protected` runner
 * is kept away from unprotected refs, and MR pipelines are never protected.
 */
import type { GitLabProjectCiSettings, GitLabRunner } from '../gitlab/types.js';

export interface PickOptions {
  /** Whether the pipeline's ref is protected (MR pipelines: false). */
  refProtected: boolean;
  /** Known project settings (null fields: unknown, assumed enabled). */
  settings?: Pick<GitLabProjectCiSettings, 'sharedRunnersEnabled' | 'groupRunnersEnabled'> | null;
}

function isAssignable(runner: GitLabRunner, settings?: PickOptions['settings']): boolean {
  if (runner.paused) return false;
  if (runner.isShared || runner.runnerType === 'instance_type') return settings?.sharedRunnersEnabled !== false;
  if (runner.runnerType === 'group_type') return settings?.groupRunnersEnabled !== false;
  return true;
}

export function acceptsTags(runner: GitLabRunner, jobTags: readonly string[]): boolean {
  if (jobTags.length === 0 && !runner.runUntagged) return false;
  const have = new Set(runner.tagList);
  return jobTags.every((t) => have.has(t));
}

export function canPick(runner: GitLabRunner, jobTags: readonly string[], opts: PickOptions): boolean {
  if (runner.accessLevel === 'ref_protected' && !opts.refProtected) return false;
  return isAssignable(runner, opts.settings) && acceptsTags(runner, jobTags);
}

export function pickers(runners: readonly GitLabRunner[], jobTags: readonly string[], opts: PickOptions): GitLabRunner[] {
  return runners.filter((r) => canPick(r, jobTags, opts));
}

/** `#12 "deploy-prod-1"` (shared runner, protected) — how findings name a runner. */
export function runnerLabel(r: GitLabRunner): string {
  const kind = r.isShared || r.runnerType === 'instance_type' ? 'instance' : r.runnerType === 'group_type' ? 'group' : 'project';
  const desc = r.description ? ` "${r.description}"` : '';
  return `runner #${r.id}${desc} (${kind}, ${r.accessLevel === 'ref_protected' ? 'protected' : 'not protected'})`;
}
