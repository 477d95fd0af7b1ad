import { entry, get, str } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import { defineRule } from '../types.js';
import { codeList, insertUnderJobKey, replaceScalar } from './_trust-text.js';

/**
 * Whether the YAML alone makes every way the job can start manual: a job-level `when: manual`
 * without `rules:`, or every rule that can add the job (any `when` but `never`) starting it
 * manually — its own `when:` or, without one, the job's (`lib/gitlab/ci/build/rules.rb`: a
 * matching rule without `when` uses the job's `when`, default `on_success`).
 */
export function manualByYaml(job: Job): boolean {
  const jobWhen = str(get(job.node, 'when')) ?? 'on_success';
  const rules = get(job.node, 'rules');
  if (!rules || (rules.kind === 'scalar' && rules.value === null)) return jobWhen === 'manual';
  if (rules.kind !== 'seq') return false;
  const adding = rules.items.filter((r) => r.kind === 'map' && str(get(r, 'when')) !== 'never');
  return adding.length > 0 && adding.every((r) => (str(get(r, 'when')) ?? jobWhen) === 'manual');
}

/**
 * Production deploys should wait for a person: `when: manual` turns the deploy into an action
 * that protected environments can restrict to allowed deployers and approvals
 * (`doc/ci/environments/deployment_safety.md`, `doc/ci/jobs/job_control.md#create-a-job-that-must-be-run-manually`).
 */
export default defineRule({
  meta: {
    id: 'deploy-not-manual',
    kind: 'pipeline',
    title: 'Production deploy job starts automatically',
    defaultSeverity: 'warning',
    principle: 'A production deployment is a privileged action: it should need a deliberate decision by someone allowed to deploy, not only a merge.',
    fix: 'Add `when: manual` to the job (or to every rule that runs it on protected refs) and require approvals on the protected environment.',
    messages: {
      automatic: 'Production deploy job `{{job}}`{{environment}} starts automatically{{where}}{{when}}: make it `when: manual` so a deployer decides.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const deploy = ctx.deploy(job);
        if (deploy?.tier !== 'production') return;
        const trust = ctx.trust(job);
        if (trust.trusted.length === 0 && trust.untrusted.length === 0) return;
        if (manualByYaml(job)) return;
        const automatic = trust.trusted.filter((c) => trust.byContext[c]?.when !== 'manual');
        if (trust.trusted.length > 0 && automatic.length === 0) return;

        const whenEntry = entry(job.node, 'when');
        const hasRules = !!get(job.node, 'rules');
        const decider = automatic.map((c) => trust.byContext[c]?.at).find(Boolean);
        const at = (hasRules ? decider : undefined) ?? whenEntry?.value.loc ?? job.keyLoc;
        const whenText = str(whenEntry?.value);
        let fix;
        if (!hasRules) {
          const own = whenEntry && whenEntry.value.loc.file === job.keyLoc.file && !whenEntry.value.via?.length;
          fix = own
            ? replaceScalar(ctx, whenEntry.value.loc, 'manual', 'Start the production deploy manually')
            : insertUnderJobKey(ctx, job, ['when: manual'], 'Start the production deploy manually');
        }
        const where = automatic.length ? ` in ${codeList(automatic)}` : '';
        ctx.report({
          at,
          job: job.name,
          keyPath: ['when'],
          messageId: 'automatic', data: { job: job.name, environment: deploy.environmentName ? ` (environment \`${deploy.environmentName}\`)` : '', where, when: whenText ? ` (\`when: ${whenText}\`)` : '' },
          fix,
        });
      },
    };
  },
});
