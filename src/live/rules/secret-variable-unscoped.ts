import { codeList } from '../../rules/pipeline/_trust-text.js';
import { allJobs, deployJobs, environmentLocation, referencesVariable } from '../jobs.js';
import { describeVariable, isCredentialLike, visibleVariables } from '../variables.js';
import { defineLiveRule } from '../types.js';

/**
 * A variable's environment scope limits it to jobs deploying to matching environments
 * (doc/ci/environments/_index.md "Limit the environment scope of a CI/CD variable"). A
 * credential only deploy jobs use, scoped to `*`, is also handed to every other job.
 */
export default defineLiveRule({
  meta: {
    id: 'secret-variable-unscoped',
    kind: 'live',
    title: 'A credential used only by deploy jobs is not scoped to their environment',
    defaultSeverity: 'warning',
    principle: 'A deployment credential reaches only the jobs that deploy with it.',
    fix: "Set the variable's environment scope to the deploy jobs' environment (for example `production`), and keep it Protected.",
    messages: {
      unscoped: '{{variable}} looks like a credential and is used only by deploy jobs ({{list}}) but is available to every job{{scope}}.',
    },
  },
  async run(ctx) {
    const { evaluation, policy } = ctx;
    const deploys = deployJobs(evaluation);
    if (deploys.length === 0) return;
    const deployNames = new Set(deploys.map((d) => d.job.name));
    for (const v of await visibleVariables(ctx)) {
      if (v.variable.environmentScope !== '*' || !isCredentialLike(v.variable.key, policy.secretVariables)) continue;
      const users = allJobs(evaluation).map((x) => x.job).filter((j) => referencesVariable(j, v.variable.key));
      const [user] = users;
      if (!user || !users.every((j) => deployNames.has(j.name))) continue;
      const first = deploys.find((d) => d.job.name === user.name)!; // user is among deployNames
      const envs = [...new Set(deploys.filter((d) => users.some((u) => u.name === d.job.name)).map((d) => d.info.environmentName).filter((e): e is string => !!e))];
      ctx.report({
        at: environmentLocation(first.info, first.job),
        job: first.job.name,
        keyPath: ['variables', v.variable.key],
        discriminator: v.source,
        messageId: 'unscoped', data: { variable: describeVariable(v), list: codeList(users.map((u) => u.name)), scope: envs.length ? `: scope it to ${codeList(envs)}` : '' },
      });
    }
  },
});
