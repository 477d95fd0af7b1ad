import { deployJobs, tagsLocation, environmentLocation } from '../jobs.js';
import { pickers, runnerLabel } from '../runners.js';
import { defineLiveRule } from '../types.js';

/**
 * A `not_protected` runner picks jobs of every ref (app/models/ci/runner.rb `can_pick?` only
 * keeps `ref_protected` runners away from unprotected refs), so a deploy job it can take runs
 * on a machine that merge request and branch jobs also ran on (GitLab issue 342408); protected
 * environments do not require protected runners either (GitLab issue 7127).
 */
export default defineLiveRule({
  meta: {
    id: 'deploy-runner-unprotected',
    kind: 'live',
    title: 'A runner that is not protected could pick up a deploy job',
    defaultSeverity: 'error',
    principle: 'Deploy jobs run only on runners that take jobs from protected refs alone, so nothing an MR or branch job left on the machine can reach a deployment.',
    fix: "Set the runner's access level to `ref_protected` (Protected) in Settings > CI/CD > Runners (or `PUT /runners/:id access_level=ref_protected`), or remove from it a tag the deploy job needs so that it can no longer pick the job.",
    messages: {
      unprotectedRunner: 'Deploy job `{{job}}` can be picked up by {{runner}}, which is not protected: it also runs jobs from unprotected branches and merge requests{{tags}}.',
    },
  },
  async run(ctx) {
    const deploys = deployJobs(ctx.evaluation);
    if (deploys.length === 0) return;
    const runners = await ctx.load('runners');
    const settings = await ctx.load('settings').catch(() => null);
    for (const { job, info } of deploys) {
      // A deploy job on a protected ref: every assignable runner with the tags can take it.
      for (const r of pickers(runners, job.tags, { refProtected: true, settings })) {
        if (r.accessLevel === 'ref_protected') continue;
        ctx.report({
          at: tagsLocation(job),
          job: job.name,
          keyPath: ['tags'],
          discriminator: `runner:${r.id}`,
          related: [{ location: environmentLocation(info, job), message: 'the deploy environment' }],
          messageId: 'unprotectedRunner', data: { job: job.name, runner: runnerLabel(r), tags: job.tags.length ? ` (its tags ${r.tagList.map((t) => `\`${t}\``).join(', ')} cover the job's tags)` : ' (the job has no tags and the runner takes untagged jobs)' },
        });
      }
    }
  },
});
