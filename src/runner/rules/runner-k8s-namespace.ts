import { describeRunner, isTable, usesKubernetes, type RunnerEntry, type RunnerRule } from '../model.js';

/**
 * Namespace and service account per tier. Job pods run in `[runners.kubernetes] namespace`
 * with `service_account` (the namespace's `default` account when unset); a job can use that
 * account's API rights, and pods of a shared namespace can reach each other's secrets and
 * services. `namespace_overwrite_allowed` / `service_account_overwrite_allowed` let a job
 * choose its own (gitlab-runner `executors/kubernetes/overwrites.go`).
 */
export const runnerK8sNamespace: RunnerRule = {
  meta: {
    id: 'runner-k8s-namespace',
    kind: 'runner',
    title: 'Kubernetes namespace or service account not dedicated to the tier',
    defaultSeverity: 'warning',
    principle:
      'Each trust tier gets its own namespace and service account: deploy credentials and cluster rights must not be reachable from jobs of a lower tier.',
    fix: 'Give each tier its own `namespace` (not `default`) and a dedicated `service_account` with only the rights that tier needs; leave `*_overwrite_allowed` unset on deploy runners.',
    messages: {
      defaultNamespace: '{{runner}} runs job pods in {{namespace}}: give each tier its own namespace.',
      sharedNamespace: '{{runner}} shares namespace `{{ns}}` with {{other}}: pods of both tiers reach each other\'s secrets and services.',
      defaultServiceAccount: '{{runner}} runs job pods as {{account}}: give the tier a dedicated service account with only the rights it needs.',
      sharedServiceAccount: '{{runner}} shares service account `{{sa}}` with {{other}}: jobs of both tiers get the same cluster rights.',
      jobOverride: '{{runner}} lets jobs pick their own {{what}} (`{{key}}`): a deploy runner\'s jobs must stay in the tier\'s own.',
    },
  },
  check(runner, ctx) {
    if (!usesKubernetes(runner)) return;
    const severity = runner.tier === 'deploy' ? 'error' : 'warning';
    const others = ctx.doc.runners.filter((r) => r.tier !== runner.tier && usesKubernetes(r));
    const k8s = (r: RunnerEntry, key: string): unknown => (isTable(r.table.kubernetes) ? r.table.kubernetes[key] : undefined);

    const ns = ctx.get(['kubernetes', 'namespace']);
    if (typeof ns !== 'string' || ns.trim() === '' || ns.trim() === 'default') {
      ctx.report({
        at: ctx.at(['kubernetes', 'namespace']),
        keyPath: ['kubernetes', 'namespace'],
        severity,
        messageId: 'defaultNamespace', data: { runner: describeRunner(runner), namespace: typeof ns === 'string' && ns.trim() !== '' ? 'the `default` namespace' : 'no configured namespace (the cluster default)' },
      });
    } else {
      const sharer = others.find((r) => k8s(r, 'namespace') === ns);
      if (sharer) {
        ctx.report({
          at: ctx.at(['kubernetes', 'namespace']),
          keyPath: ['kubernetes', 'namespace'],
          severity,
          discriminator: 'shared',
          messageId: 'sharedNamespace', data: { runner: describeRunner(runner), ns, other: describeRunner(sharer) },
        });
      }
    }

    const sa = ctx.get(['kubernetes', 'service_account']);
    if (typeof sa !== 'string' || sa.trim() === '' || sa.trim() === 'default') {
      ctx.report({
        at: ctx.at(['kubernetes', 'service_account']),
        keyPath: ['kubernetes', 'service_account'],
        severity,
        messageId: 'defaultServiceAccount', data: { runner: describeRunner(runner), account: typeof sa === 'string' && sa.trim() !== '' ? 'the `default` service account' : 'the namespace\'s `default` service account (none set)' },
      });
    } else {
      const sharer = others.find((r) => k8s(r, 'service_account') === sa);
      if (sharer) {
        ctx.report({
          at: ctx.at(['kubernetes', 'service_account']),
          keyPath: ['kubernetes', 'service_account'],
          severity,
          discriminator: 'shared',
          messageId: 'sharedServiceAccount', data: { runner: describeRunner(runner), sa, other: describeRunner(sharer) },
        });
      }
    }

    if (runner.tier === 'deploy') {
      for (const key of ['namespace_overwrite_allowed', 'service_account_overwrite_allowed']) {
        const v = ctx.get(['kubernetes', key]);
        if (typeof v !== 'string' || v.trim() === '') continue;
        ctx.report({
          at: ctx.at(['kubernetes', key]),
          keyPath: ['kubernetes', key],
          severity,
          messageId: 'jobOverride', data: { runner: describeRunner(runner), what: key.startsWith('namespace') ? 'namespace' : 'service account', key },
        });
      }
    }
  },
};
