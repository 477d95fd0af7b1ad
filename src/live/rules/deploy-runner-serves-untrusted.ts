import { codeList } from '../../rules/pipeline/_trust-text.js';
import { allJobs, deployJobs, mrReachable, tagsLocation } from '../jobs.js';
import { canPick, pickers, runnerLabel } from '../runners.js';
import { defineLiveRule } from '../types.js';

/**
 * A runner that can take a deploy job must take nothing else of lower trust: not untagged jobs
 * (any job without tags lands there), and not jobs this pipeline runs for merge requests. MR
 * pipelines are never protected, so only `not_protected` runners can take those
 * (app/models/ci/runner.rb `can_pick?`, `accepting_tags?`).
 */
export default defineLiveRule({
  meta: {
    id: 'deploy-runner-serves-untrusted',
    kind: 'live',
    title: 'A runner that can pick up a deploy job also takes untagged jobs or merge request jobs',
    defaultSeverity: 'error',
    principle: 'A deploy-tier runner takes deploy jobs only; a runner shared with untagged or merge request jobs lets MR code run where deploy credentials and caches live.',
    fix: 'On the deploy runner turn off "Run untagged jobs" (`run_untagged=false`) and make it Protected (`access_level=ref_protected`); give merge request jobs tags of the general tier, never a tag the deploy runner has.',
    messages: {
      untaggedJobs: 'Deploy job `{{job}}` can be picked up by {{runner}}, which also runs untagged jobs: every job without `tags:` may land on the deploy runner.',
      mergeRequestJobs: 'Deploy job `{{job}}` can be picked up by {{runner}}, which also takes merge request jobs of this pipeline ({{list}}{{more}}): MR code runs where the deploy runs.',
    },
  },
  async run(ctx) {
    const deploys = deployJobs(ctx.evaluation);
    if (deploys.length === 0) return;
    const runners = await ctx.load('runners');
    const settings = await ctx.load('settings').catch(() => null);
    const mrJobs = allJobs(ctx.evaluation).filter((x) => x.job.kind !== 'bridge' && mrReachable(x.trust)).map((x) => x.job);
    for (const { job } of deploys) {
      for (const r of pickers(runners, job.tags, { refProtected: true, settings })) {
        if (r.runUntagged) {
          ctx.report({
            at: tagsLocation(job),
            job: job.name,
            keyPath: ['tags'],
            discriminator: `runner:${r.id}:untagged`,
            messageId: 'untaggedJobs', data: { job: job.name, runner: runnerLabel(r) },
          });
        }
        const served = mrJobs.filter((m) => m.name !== job.name && canPick(r, m.tags, { refProtected: false, settings }));
        if (served.length) {
          const names = served.slice(0, 5).map((m) => m.name);
          ctx.report({
            at: tagsLocation(job),
            job: job.name,
            keyPath: ['tags'],
            discriminator: `runner:${r.id}:mr`,
            related: served.slice(0, 5).map((m) => ({ location: m.keyLoc, message: `\`${m.name}\` runs for merge requests and can land on the same runner` })),
            messageId: 'mergeRequestJobs', data: { job: job.name, runner: runnerLabel(r), list: codeList(names), more: served.length > names.length ? ` and ${served.length - names.length} more` : '' },
          });
        }
      }
    }
  },
});
