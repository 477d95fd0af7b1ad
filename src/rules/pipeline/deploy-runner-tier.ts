import { get, scalarText } from '../../model/node.js';
import { defineRule } from '../types.js';
import { codeList } from './_trust-text.js';

/**
 * A runner picks a job only when the runner has every tag of the job
 * (`app/models/ci/runner.rb` `matches_build?`, `doc/ci/yaml/_index.md#tags`): a deploy job must
 * carry its environment tier's deploy tags, and no tag of another tier.
 */
export default defineRule({
  meta: {
    id: 'deploy-runner-tier',
    kind: 'pipeline',
    title: "Deploy job's runner tags do not route to the deploy tier of its environment",
    defaultSeverity: 'error',
    principle: 'Deploy credentials and network access live on deploy-tier runners that take nothing else; a deploy job on another runner either runs where untrusted jobs ran before it, or mixes tiers.',
    fix: "Set the job's `tags:` to the deploy-tier tags for its environment tier (policy `tiers.deploy.production` / `tiers.deploy.staging`) and nothing else.",
    messages: {
      noTags: 'Deploy job `{{job}}` ({{envText}}) has no runner tags, so any runner that takes untagged jobs may run it; tag it with {{want}}.',
      mixedTiers: 'Deploy job `{{job}}` ({{envText}}) also carries `{{value}}`, a {{tier}} runner tag: only a runner of both tiers could take it, which mixes trust tiers.',
      wrongTier: 'Deploy job `{{job}}` ({{envText}}) is routed to `{{value}}`, a {{tier}} runner tag, instead of {{want}}.',
      noDeployTag: 'Deploy job `{{job}}` ({{envText}}) has runner tags {{list}}, none of which is {{want}}.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const deploy = ctx.deploy(job);
        if (!deploy?.tier) return;
        if (job.kind === 'bridge') return; // a trigger job runs on no runner
        const { policy } = ctx;
        const expected = policy.tiers.deploy[deploy.tier];
        const envText = deploy.environmentName ? `${deploy.tier} environment \`${deploy.environmentName}\`` : `${deploy.tier} deploy`;
        const want = expected.length ? `one of the ${deploy.tier} deploy-tier tags ${codeList(expected)}` : `a ${deploy.tier} deploy-tier tag (the policy lists none)`;
        const envLoc = deploy.nameNode?.loc ?? deploy.environmentNode?.loc;
        const tagsNode = get(job.node, 'tags');
        if (job.tags.length === 0) {
          ctx.report({
            at: tagsNode?.loc ?? envLoc ?? job.keyLoc,
            job: job.name,
            keyPath: ['tags'],
            messageId: 'noTags', data: { job: job.name, envText, want },
          });
          return;
        }
        const otherTier = (t: string): string | undefined => {
          if (expected.includes(t)) return undefined;
          if (policy.tiers.deploy.production.includes(t)) return 'production deploy tier';
          if (policy.tiers.deploy.staging.includes(t)) return 'staging deploy tier';
          if (policy.tiers.build.includes(t)) return 'build tier';
          if (policy.tiers.general.includes(t)) return 'general tier';
          return undefined;
        };
        const items = tagsNode?.kind === 'seq' ? tagsNode.items : [];
        const hasExpected = job.tags.some((t) => expected.includes(t));
        let reported = false;
        for (const it of items) {
          if (it.kind !== 'scalar' || it.value === null) continue;
          const tier = otherTier(scalarText(it));
          if (!tier) continue;
          reported = true;
          ctx.report({
            at: it.loc,
            job: job.name,
            keyPath: ['tags'],
            discriminator: scalarText(it),
            related: envLoc ? [{ location: envLoc, message: `the ${deploy.tier} environment` }] : undefined,
            ...(hasExpected ? { messageId: 'mixedTiers', data: { job: job.name, envText, value: scalarText(it), tier } } : { messageId: 'wrongTier', data: { job: job.name, envText, value: scalarText(it), tier, want } }),
          });
        }
        if (!hasExpected && !reported) {
          ctx.report({
            at: tagsNode?.loc ?? job.keyLoc,
            job: job.name,
            keyPath: ['tags'],
            related: envLoc ? [{ location: envLoc, message: `the ${deploy.tier} environment` }] : undefined,
            messageId: 'noDeployTag', data: { job: job.name, envText, list: codeList(job.tags), want },
          });
        }
      },
    };
  },
});
