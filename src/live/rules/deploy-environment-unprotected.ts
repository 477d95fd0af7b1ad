import { ruleOptions } from '../../findings/rule-meta.js';
import { deployJobs, environmentLocation } from '../jobs.js';
import { defineLiveRule } from '../types.js';

interface Options {
  /** Environment tiers whose protected environment must also require approvals. */
  requireApprovalFor: ('production' | 'staging')[];
}
const options = ruleOptions<Options>({ requireApprovalFor: [] }, (z) => z.strictObject({ requireApprovalFor: z.array(z.enum(['production', 'staging'])) }));

/**
 * A protected environment limits who may deploy to it (and may require approvals). It matches
 * environments by exact name (ee/app/models/protected_environment.rb `for_environment`:
 * project-level by `name`, group-level by `deployment_tier`); the project-level list is read
 * here. Production deploys are blocking; staging deploys are reported as warnings.
 */
export default defineLiveRule<Options>({
  meta: {
    id: 'deploy-environment-unprotected',
    kind: 'live',
    title: "A deploy job's environment is not a protected environment",
    defaultSeverity: 'error',
    principle: 'Who may deploy is decided by GitLab (protected environments, approvals), not by the YAML an MR author can edit.',
    fix: 'Protect the environment in Settings > CI/CD > Protected environments (`POST /projects/:id/protected_environments`) with the deployers allowed, and required approvals for production where the policy asks for them.',
    options,
    messages: {
      variableName: 'Deploy job `{{job}}` deploys to `{{name}}`, a name built from variables: a protected environment matches one exact name, so this {{tier}} deploy cannot be protected by name.',
      unprotected: 'Deploy job `{{job}}` deploys to the {{tier}} environment `{{name}}`, which is not protected in this project: anyone who can run the job can deploy (group-level protection not read).',
      noApproval: 'Deploy job `{{job}}` deploys to the protected {{tier}} environment `{{name}}`, which requires no approval; the policy wants approvals for {{tier}} deployments.',
    },
  },
  async run(ctx) {
    const deploys = deployJobs(ctx.evaluation).filter((d) => d.info.environmentName !== undefined);
    if (deploys.length === 0) return;
    const protectedEnvs = await ctx.load('protectedEnvironments');
    const byName = new Map(protectedEnvs.map((e) => [e.name, e]));
    for (const { job, info } of deploys) {
      const name = info.environmentName!;
      const tier = info.tier ?? 'production';
      const at = environmentLocation(info, job);
      const severity = tier === 'production' ? undefined : 'warning';
      if (/\$/.test(name)) {
        ctx.report({
          at,
          job: job.name,
          keyPath: ['environment', 'name'],
          discriminator: name,
          severity,
          messageId: 'variableName', data: { job: job.name, name, tier },
        });
        continue;
      }
      const pe = byName.get(name);
      if (!pe) {
        ctx.report({
          at,
          job: job.name,
          keyPath: ['environment', 'name'],
          discriminator: name,
          severity,
          messageId: 'unprotected', data: { job: job.name, tier, name },
        });
        continue;
      }
      if (ctx.options.requireApprovalFor.includes(tier) && pe.requiredApprovalCount < 1) {
        ctx.report({
          at,
          job: job.name,
          keyPath: ['environment', 'name'],
          discriminator: `${name}:approval`,
          severity,
          messageId: 'noApproval', data: { job: job.name, tier, name },
        });
      }
    }
  },
});
