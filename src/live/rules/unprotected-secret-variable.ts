import { codeList } from '../../rules/pipeline/_trust-text.js';
import { allJobs, mrReachable, referencesVariable, rootLocation } from '../jobs.js';
import { describeVariable, isCredentialLike, visibleVariables } from '../variables.js';
import { defineLiveRule } from '../types.js';

/**
 * GitLab gives protected variables only to pipelines on protected refs; every other variable
 * reaches merge request pipelines (doc/ci/variables/_index.md "Protect a CI/CD variable"),
 * where the MR author's code can print or send it. The value is never fetched: the adapter's
 * schema drops it (src/gitlab/types.ts VariableSchema).
 */
export default defineLiveRule({
  meta: {
    id: 'unprotected-secret-variable',
    kind: 'live',
    title: 'A credential-like CI/CD variable is not Protected while merge request jobs exist',
    defaultSeverity: 'error',
    principle: 'Secrets reach only pipelines on protected refs; merge request code must never see them.',
    fix: 'Mark the variable Protected (Settings > CI/CD > Variables, or `PUT /projects/:id/variables/:key protected=true`), and rotate it if merge request pipelines have already run with it.',
    messages: {
      usedInMergeRequests: '{{variable}} looks like a credential and is not Protected: merge request jobs such as {{list}} use it, and MR code can read it{{scopeNote}}.',
      mergeRequestJobs: '{{variable}} looks like a credential and is not Protected: this pipeline has jobs that run for merge requests ({{list}}{{more}}), and every such job receives it{{scopeNote}}.',
    },
  },
  async run(ctx) {
    const { evaluation, policy } = ctx;
    const mrJobs = allJobs(evaluation).filter((x) => mrReachable(x.trust)).map((x) => x.job);
    if (mrJobs.length === 0) return;
    for (const v of await visibleVariables(ctx)) {
      if (v.variable.protected || !isCredentialLike(v.variable.key, policy.secretVariables)) continue;
      const users = mrJobs.filter((j) => referencesVariable(j, v.variable.key));
      const first = users[0];
      const sample = (users.length ? users : mrJobs).slice(0, 3).map((j) => j.name);
      const scopeNote = v.variable.environmentScope === '*' ? '' : ' (an MR can declare that environment in its own YAML)';
      ctx.report({
        at: first ? first.keyLoc : rootLocation(evaluation),
        job: first?.name,
        keyPath: ['variables', v.variable.key],
        discriminator: `${v.source}:${v.variable.environmentScope}`,
        related: users.slice(1, 4).map((j) => ({ location: j.keyLoc, message: `\`${j.name}\` also uses \`$${v.variable.key}\` and runs for merge requests` })),
        ...(users.length ? { messageId: 'usedInMergeRequests', data: { variable: describeVariable(v), list: codeList(sample), scopeNote } } : { messageId: 'mergeRequestJobs', data: { variable: describeVariable(v), list: codeList(sample), more: mrJobs.length > sample.length ? ' …' : '', scopeNote } }),
      });
    }
  },
});
