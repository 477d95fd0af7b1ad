import { get, str } from '../../model/node.js';
import { deployCommandEvidence, type DeployCommandKind } from '../deploy.js';
import type { RuleReport } from '../../findings/finding.js';
import { defineRule } from '../types.js';
import { codeList, decidingLocation } from './_trust-text.js';

/** Commands that change real infrastructure (the deploy-like classification of `src/rules/deploy.ts`). */
const INFRA_KINDS: ReadonlySet<DeployCommandKind> = new Set(['infrastructure', 'kubernetes', 'cloud-deploy']);

/**
 * `terraform apply`, `pulumi up`, `kubectl apply`, `helm upgrade`, `aws cloudformation deploy`
 * and the like apply the configuration in the checkout — in a merge request or unprotected
 * branch pipeline, configuration the MR author wrote — to real infrastructure, with whatever
 * cloud or cluster credentials the job has. Merge request pipelines run the source branch's
 * code (`doc/ci/pipelines/merge_request_pipelines.md`), fork MR pipelines the fork's.
 */
export default defineRule({
  meta: {
    id: 'infra-apply-in-untrusted-context',
    kind: 'pipeline',
    title: 'Infrastructure is applied from a job that can run in an untrusted context',
    defaultSeverity: 'error',
    principle: 'Only code that reached a protected ref changes real infrastructure: untrusted pipelines may plan, never apply.',
    fix: 'Run only `plan`/`diff`/`--dry-run` in merge request and branch pipelines; move `apply`/`up`/`upgrade` into a job restricted to protected refs (`if: $CI_COMMIT_REF_PROTECTED == "true"`), ideally manual and on a protected environment.',
    messages: {
      untrustedApply: 'Job `{{job}}` runs {{text}} and can run in {{where}}: it applies configuration from unreviewed code to real infrastructure with the job\'s credentials{{reviewNote}}.',
    },
  },
  create(ctx) {
    const reported = new Set<string>();
    return {
      job(job) {
        // The commands first (the deploy classification has read them already), the job's trust
        // only for a job that runs one.
        const evidence = deployCommandEvidence(job, { lines: ctx.scriptLines(job), locate: ctx.locateInScript, pipeline: ctx.pipeline }).filter(
          (e) => e.command && INFRA_KINDS.has(e.command),
        );
        if (evidence.length === 0) return;
        const trust = ctx.trust(job);
        if (trust.untrusted.length === 0) return;
        // Tearing down the environment the pipeline created (`environment:action: stop`), or a job
        // without a checkout (`GIT_STRATEGY: none`), applies nothing from the repository.
        if (str(get(job.node, 'environment', 'action')) === 'stop') return;
        if (job.variables.get('GIT_STRATEGY')?.value.trim() === 'none') return;
        const decider = decidingLocation(trust);
        // A review app (an environment of another tier) deploys unreviewed code on purpose: a
        // warning, its credentials must be scoped to the review namespace or account.
        const review = !ctx.deploy(job) && !!get(job.node, 'environment');
        for (const e of evidence) {
          const k = `${e.at.file}:${e.at.line}:${e.at.column}`;
          if (reported.has(k)) continue;
          reported.add(k);
          const where = codeList(trust.untrusted.slice(0, 3)) + (trust.untrusted.length > 3 ? ' …' : '');
          const r: RuleReport = {
            at: e.at,
            job: job.name,
            keyPath: e.line ? [e.line.key, String(e.line.index)] : ['script'],
            discriminator: e.text,
            severity: review ? 'warning' : 'error',
            related: decider ? [{ location: decider, message: 'the rule that lets it run in an untrusted context' }] : undefined,
            messageId: 'untrustedApply', data: { job: job.name, text: e.text, where, reviewNote: review ? ' (a review app: scope its credentials to the review namespace)' : '' },
          };
          ctx.report(r);
        }
      },
    };
  },
});
