import { get } from '../../model/node.js';
import { keyUncertainty } from '../../model/pipeline.js';
import { defineRule } from '../types.js';
import { insertUnderJobKey } from './_trust-text.js';

/**
 * A job without tags can be taken by any runner with "run untagged jobs" enabled
 * (`doc/ci/runners/configure_runners.md#for-a-runner-to-run-untagged-jobs`), whichever tier it
 * serves. Trigger jobs (bridges) run on no runner and are exempt.
 */
export default defineRule({
  meta: {
    id: 'untagged-job',
    kind: 'pipeline',
    title: 'Job has no runner tags',
    defaultSeverity: 'warning',
    principle: 'Every job should be routed to the runner tier that matches its trust; untagged jobs land on whatever runner takes untagged jobs, often one that serves several tiers.',
    fix: 'Give the job (or `default:`) the tags of its tier, e.g. the general tier for jobs that run for merge requests.',
    messages: {
      maybeUntagged: 'Job `{{job}}` may have no runner tags ({{unsure}}): then it runs on any runner that takes untagged jobs, whatever trust tier that runner serves.',
      untagged: 'Job `{{job}}` has no runner tags: it runs on any runner that takes untagged jobs, whatever trust tier that runner serves; add `tags:` for its tier.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        if (job.kind === 'bridge' || job.tags.length > 0) return;
        const tagsNode = get(job.node, 'tags');
        const deploy = ctx.deploy(job);
        const general = ctx.policy.tiers.general;
        const fix =
          !tagsNode && !deploy && general.length > 0
            ? insertUnderJobKey(ctx, job, [`tags: [${general[0]}]`], `Route the job to the general tier (\`${general[0]}\`)`)
            : undefined;
        // An unread `extends` parent may give the job its tags: say "may".
        const unsure = keyUncertainty(job, 'tags');
        ctx.report({
          at: tagsNode?.loc ?? job.keyLoc,
          job: job.name,
          keyPath: ['tags'],
          ...(unsure ? { messageId: 'maybeUntagged', data: { job: job.name, unsure } } : { messageId: 'untagged', data: { job: job.name } }),
          fix,
        });
      },
    };
  },
});
