import type { RelatedLocation } from '../../findings/finding.js';
import { describeCommands } from '../deploy.js';
import { defineRule } from '../types.js';
import { decidingLocation, untrustedPhrase } from './_trust-text.js';

/**
 * A deploy job must only run for protected refs: protected environments, protected variables
 * and protected runners all key on the ref being protected, and MR pipelines (fork ones
 * included) run code the MR author wrote (`doc/ci/environments/protected_environments.md`,
 * `doc/ci/pipelines/merge_request_pipelines.md`).
 */
export default defineRule({
  meta: {
    id: 'deploy-unprotected-ref',
    kind: 'pipeline',
    title: 'Deploy job can run for an unprotected ref or a merge request',
    defaultSeverity: 'error',
    principle: 'Only code that reached a protected ref may deploy: every untrusted context lets someone who cannot merge run the deploy script with deploy credentials and runners.',
    fix: 'Restrict the job with `rules:` to protected refs (e.g. `if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH` or `if: $CI_COMMIT_REF_PROTECTED == "true"`) and end with no catch-all rule.',
    messages: {
      untrustedDeploy: 'Deploy job `{{job}}` ({{what}}) {{untrusted}}: a deploy must run only for protected refs.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const deploy = ctx.deploy(job);
        if (!deploy) return;
        const trust = ctx.trust(job);
        if (trust.untrusted.length === 0) return;
        const envLoc = deploy.nameNode?.loc ?? deploy.environmentNode?.loc;
        const firstCommand = deploy.evidence.find((e) => e.kind === 'command');
        const at = decidingLocation(trust) ?? envLoc ?? firstCommand?.at ?? job.keyLoc;
        const what =
          deploy.reason === 'environment'
            ? `${deploy.tier ?? ''} environment \`${deploy.environmentName ?? '?'}\``.trim()
            : deploy.reason === 'tags'
              ? `deploy-tier runner tags ${job.tags.map((t) => `\`${t}\``).join(', ')}`
              : `runs ${describeCommands(deploy.evidence)}`;
        const related: RelatedLocation[] = [];
        if (deploy.reason === 'environment' && envLoc) related.push({ location: envLoc, message: `the ${deploy.tier ?? ''} environment it deploys to`.replace('  ', ' ') });
        if (firstCommand) related.push({ location: firstCommand.at, message: `deploys with ${firstCommand.text}` });
        ctx.report({
          at,
          job: job.name,
          keyPath: deploy.reason === 'environment' ? ['environment'] : deploy.reason === 'tags' ? ['tags'] : ['script'],
          messageId: 'untrustedDeploy', data: { job: job.name, what, untrusted: untrustedPhrase(trust, trust.untrusted, decidingLocation(trust)) },
          related: related.length ? related : undefined,
        });
      },
    };
  },
});
