import { get, scalarText, type YScalar } from '../../model/node.js';
import { defineRule } from '../types.js';
import { decidingLocation, untrustedPhrase } from './_trust-text.js';

/**
 * Runner tags are chosen by the job's author: a job that runs for unprotected refs or merge
 * requests can ask for the deploy or build tier simply by naming its tags. Unless those runners
 * are `ref_protected` (checked live by `deploy-runner-unprotected`), the YAML itself must not
 * route untrusted code there (`doc/ci/runners/configure_runners.md#prevent-runners-from-revealing-sensitive-information`).
 */
export default defineRule({
  meta: {
    id: 'deploy-tier-tag-misuse',
    kind: 'pipeline',
    title: 'Job reachable from untrusted contexts carries a deploy- or build-tier runner tag',
    defaultSeverity: 'error',
    principle: 'Deploy- and build-tier runners hold credentials and privileges for trusted code only; untrusted code must never be routed to them.',
    fix: 'Give the job a general-tier tag, or restrict it with `rules:` to protected refs if it really needs the deploy or build tier.',
    messages: {
      untrustedOnTier: 'Job `{{job}}` has the {{tier}}-tier runner tag `{{tag}}` but {{untrusted}}: unprotected code would reach those runners.',
    },
  },
  create(ctx) {
    const { policy } = ctx;
    const tierOf = (tag: string): string | undefined => {
      if (policy.tiers.deploy.production.includes(tag)) return 'production deploy';
      if (policy.tiers.deploy.staging.includes(tag)) return 'staging deploy';
      if (policy.tiers.build.includes(tag)) return 'build';
      return undefined;
    };
    return {
      job(job) {
        if (job.kind === 'bridge') return;
        const tagsNode = get(job.node, 'tags');
        if (tagsNode?.kind !== 'seq') return;
        const flagged = tagsNode.items.filter((it): it is YScalar => it.kind === 'scalar' && it.value !== null && !!tierOf(scalarText(it)));
        if (flagged.length === 0) return;
        const trust = ctx.trust(job);
        if (trust.untrusted.length === 0) return;
        const decider = decidingLocation(trust);
        for (const it of flagged) {
          const tag = scalarText(it);
          ctx.report({
            at: it.loc,
            job: job.name,
            keyPath: ['tags'],
            discriminator: tag,
            related: decider ? [{ location: decider, message: 'the rule that lets it run in an untrusted context' }] : undefined,
            messageId: 'untrustedOnTier', data: { job: job.name, tier: String(tierOf(tag)), tag, untrusted: untrustedPhrase(trust, trust.untrusted, decider) },
          });
        }
      },
    };
  },
});
