import { get, type YNode } from '../../model/node.js';
import { defineRule } from '../types.js';

import { saysDeploy } from '../deploy.js';

export { nameWords, saysDeploy } from '../deploy.js';

/**
 * Protected environments (`doc/ci/environments/protected_environments.md`) only gate jobs that
 * declare an `environment:`; without one, the deployment approvals, the deployer allowlist and
 * environment-scoped variables cannot apply.
 */
export default defineRule({
  meta: {
    id: 'deploy-missing-environment',
    kind: 'pipeline',
    title: 'Deploying job has no `environment:` (protected environments cannot apply)',
    defaultSeverity: 'error',
    principle: 'A deployment must be gated by a protected environment, and GitLab only applies one to jobs that declare it.',
    fix: 'Add `environment: { name: <production or staging environment>, action: start }` and protect that environment in Settings > CI/CD > Protected environments.',
  },
  create(ctx) {
    return {
      job(job) {
        if (job.kind === 'bridge') return;
        const env = get(job.node, 'environment');
        if (env && !(env.kind === 'scalar' && env.value === null)) return;
        const tier = ctx.tagTier(job.tags);
        let at: YNode['loc'] | undefined;
        let why: string | undefined;
        if (tier === 'deploy-production' || tier === 'deploy-staging') {
          const tagsNode = get(job.node, 'tags');
          const deployTags = [...ctx.policy.tiers.deploy.production, ...ctx.policy.tiers.deploy.staging];
          const item = tagsNode?.kind === 'seq' ? tagsNode.items.find((i) => i.kind === 'scalar' && deployTags.includes(String(i.value))) : undefined;
          at = (item ?? tagsNode)?.loc;
          why = `is routed to the ${tier === 'deploy-production' ? 'production' : 'staging'} deploy tier (tag \`${job.tags.find((t) => deployTags.includes(t))}\`)`;
        } else if (job.name === 'pages' || get(job.node, 'pages') !== undefined) {
          // GitLab Pages jobs publish through Pages' own deployment (`doc/user/project/pages/`),
          // not an environment a team could protect: only their runner tags matter here.
          return;
        } else if (saysDeploy(job.name)) {
          at = job.keyLoc;
          why = 'is named as a deployment';
        } else if (saysDeploy(job.stage)) {
          at = (get(job.node, 'stage') ?? get(job.node, 'type'))?.loc ?? job.keyLoc;
          why = `runs in the \`${job.stage}\` stage`;
        }
        if (!why) return;
        ctx.report({
          at: at ?? job.keyLoc,
          job: job.name,
          keyPath: ['environment'],
          message: `Job \`${job.name}\` ${why} but has no \`environment:\`, so no protected environment (approvals, allowed deployers, environment-scoped variables) can gate it.`,
        });
      },
    };
  },
});
