import type { Severity } from '../../findings/finding.js';
import type { SourceLocation } from '../../model/location.js';
import { get } from '../../model/node.js';
import { defineRule } from '../types.js';

import { deployNameEvidence, describeCommands } from '../deploy.js';

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
    messages: {
      noEnvironment: 'Job `{{job}}` {{why}} but has no `environment:`, so no protected environment (approvals, allowed deployers, environment-scoped variables) can gate it.',
      byNameOnly: 'Job `{{job}}` {{why}} but has no `environment:`, so no protected environment can gate it; only its name or stage says it deploys: check what it does.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        if (job.kind === 'bridge') return;
        const env = get(job.node, 'environment');
        if (env && !(env.kind === 'scalar' && env.value === null)) return;
        // Strong evidence (deploy-tier tags, deploy commands): blocking.
        const deploy = ctx.deploy(job);
        const tag = deploy?.evidence.find((e) => e.kind === 'tags');
        const commands = deploy?.evidence.filter((e) => e.kind === 'command') ?? [];
        let at: SourceLocation | undefined;
        let why: string | undefined;
        let severity: Severity = 'error';
        if (tag) {
          const tier = ctx.tagTier(job.tags);
          at = tag.at;
          why = `is routed to the ${tier === 'deploy-production' ? 'production' : 'staging'} deploy tier (tag \`${job.tags.find((t) => tag.text.includes(`\`${t}\``)) ?? '?'}\`)`;
        } else if (commands.length > 0) {
          at = commands[0].at;
          why = `deploys (runs ${describeCommands(commands)})`;
        } else if (job.name === 'pages' || get(job.node, 'pages') !== undefined) {
          // GitLab Pages jobs publish through Pages' own deployment (`doc/user/project/pages/`),
          // not an environment a team could protect: only their runner tags matter here.
          return;
        } else {
          // Names and stages alone are weak evidence: a `*-release` build type, tests named
          // after a deployment, a docs build in the `deploy` stage. A warning at most.
          const weak = deployNameEvidence(job)[0];
          if (!weak) return;
          at = weak.at;
          why = weak.kind === 'name' ? 'is named as a deployment' : `runs in the \`${job.stage}\` stage`;
          severity = 'warning';
        }
        ctx.report({
          at: at ?? job.keyLoc,
          job: job.name,
          keyPath: ['environment'],
          severity,
          messageId: severity === 'warning' ? 'byNameOnly' : 'noEnvironment',
          data: { job: job.name, why },
        });
      },
    };
  },
});
