import { describeRunner, usesDocker, usesKubernetes, type RunnerRule } from '../model.js';
import { asStringList } from '../util.js';

/**
 * `pull_policy` (string or list, tried in order) and `allowed_pull_policies` (what a job's
 * `image:pull_policy` may ask for) in `[runners.docker]` / `[runners.kubernetes]`
 * (gitlab-runner `common/config.go` `GetPullPolicies`, `GetAllowedPullPolicies`). With
 * `if-not-present` or `never`, a job uses whatever image an earlier job — of any project on
 * the runner — left under that name, and private images are served without a registry check.
 * The Docker executor defaults to `always`; the Kubernetes executor leaves it to the cluster
 * (`IfNotPresent` for tagged images), so a deploy-tier Kubernetes runner must set it.
 */
export const runnerPullPolicy: RunnerRule = {
  meta: {
    id: 'runner-pull-policy',
    kind: 'runner',
    title: 'Image pull policy other than always',
    defaultSeverity: 'warning',
    principle:
      'A job must run the image its registry serves now, with the job\'s own credentials: a locally cached image may have been planted or pulled by another project.',
    fix: 'Set `pull_policy = ["always"]` and leave `allowed_pull_policies` unset or `["always"]`.',
    messages: {
      weak: '{{runner}} has `pull_policy` {{weak}}: jobs may run a locally cached image left by another job instead of the registry\'s; use `always`.',
      unset: '{{runner}} sets no `pull_policy`: the cluster default (`IfNotPresent` for tagged images) reuses images cached on the node; deploy runners must pull `always`.',
      allowedWeak: '{{runner}} lets jobs choose pull policy {{bad}} through `allowed_pull_policies`: a job can run a locally cached image without a registry check.',
    },
  },
  check(runner, ctx) {
    const sections: ('docker' | 'kubernetes')[] = [];
    if (usesDocker(runner)) sections.push('docker');
    if (usesKubernetes(runner)) sections.push('kubernetes');
    for (const section of sections) {
      const policyPath = [section, 'pull_policy'];
      const raw = ctx.get(policyPath);
      const list = asStringList(raw)?.map((p) => p.trim().toLowerCase()) ?? [];
      const weak = list.filter((p) => p !== 'always');
      if (weak.length > 0) {
        ctx.report({
          at: ctx.at(policyPath),
          keyPath: policyPath,
          messageId: 'weak', data: { runner: describeRunner(runner), weak: weak.map((p) => `\`${p}\``).join(', ') },
        });
      } else if (raw === undefined && section === 'kubernetes' && runner.tier === 'deploy') {
        ctx.report({
          at: ctx.at(policyPath),
          keyPath: policyPath,
          messageId: 'unset', data: { runner: describeRunner(runner) },
        });
      }
      const allowedPath = [section, 'allowed_pull_policies'];
      const allowed = asStringList(ctx.get(allowedPath))?.map((p) => p.trim().toLowerCase());
      if (allowed) {
        const bad = allowed.filter((p) => p === 'never' || (runner.tier === 'deploy' && p !== 'always'));
        if (bad.length > 0) {
          ctx.report({
            at: ctx.at(allowedPath),
            keyPath: allowedPath,
            messageId: 'allowedWeak', data: { runner: describeRunner(runner), bad: bad.map((p) => `\`${p}\``).join(', ') },
          });
        }
      }
    }
  },
};
