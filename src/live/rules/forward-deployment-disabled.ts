import { deployJobs, environmentLocation, SETTINGS_KEY } from '../jobs.js';
import { NEEDS, SkipCheck, defineLiveRule } from '../types.js';

/**
 * `ci_forward_deployment_enabled` ("Prevent outdated deployment jobs",
 * doc/ci/environments/deployment_safety.md): when off, a deploy job of an older pipeline can
 * run after a newer one and roll the environment back, e.g. undo a security fix.
 */
export default defineLiveRule({
  meta: {
    id: 'forward-deployment-disabled',
    kind: 'live',
    title: 'Outdated deployment jobs are not prevented',
    defaultSeverity: 'warning',
    principle: 'What is deployed is the newest approved state; an older pipeline cannot silently roll it back.',
    fix: 'Turn on "Prevent outdated deployment jobs" (`PUT /projects/:id ci_forward_deployment_enabled=true`); allow rollbacks explicitly with `ci_forward_deployment_rollback_allowed`.',
    messages: {
      forwardDeployment: 'Project setting `ci_forward_deployment_enabled` is off: an older pipeline\'s `{{job}}` can deploy after a newer one and roll the environment back.',
    },
  },
  async run(ctx) {
    const [deploy] = deployJobs(ctx.evaluation);
    if (!deploy) return;
    const s = await ctx.load('settings');
    if (s.forwardDeploymentEnabled === null) throw new SkipCheck(NEEDS.settings, 'the token cannot see the project CI/CD settings');
    if (s.forwardDeploymentEnabled) return;
    const { job, info } = deploy;
    ctx.report({
      at: environmentLocation(info, job),
      job: job.name,
      keyPath: [SETTINGS_KEY, 'ci_forward_deployment_enabled'],
      messageId: 'forwardDeployment', data: { job: job.name },
    });
  },
});
