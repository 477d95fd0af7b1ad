import { describeRunner, usesKubernetes, type RunnerRule } from '../model.js';

const LIMIT_KEYS = ['cpu_limit', 'memory_limit', 'helper_cpu_limit', 'helper_memory_limit'];

/**
 * Kubernetes executor without resource limits for the build and helper containers
 * (gitlab-runner `common/config.go` `KubernetesConfig.CPULimit`, `MemoryLimit`,
 * `HelperCPULimit`, `HelperMemoryLimit`).
 */
export const runnerK8sLimits: RunnerRule = {
  meta: {
    id: 'runner-k8s-limits',
    kind: 'runner',
    title: 'Kubernetes executor without resource limits',
    defaultSeverity: 'warning',
    principle:
      'A job must not starve its neighbours: without limits, one untrusted job can exhaust the node that runs trusted jobs or the runner manager.',
    fix: 'Set `cpu_limit`, `memory_limit`, `helper_cpu_limit` and `helper_memory_limit` in `[runners.kubernetes]` (and a namespace LimitRange).',
    messages: {
      noLimits: '{{runner}} sets no {{missing}}: a job can use all of the node\'s CPU and memory; set them.',
    },
  },
  check(runner, ctx) {
    if (!usesKubernetes(runner)) return;
    const missing = LIMIT_KEYS.filter((k) => {
      const v = ctx.get(['kubernetes', k]);
      return v === undefined || (typeof v === 'string' && v.trim() === '');
    });
    if (missing.length === 0) return;
    ctx.report({
      at: ctx.at(['kubernetes'], 'key'),
      keyPath: ['kubernetes', 'limits'],
      messageId: 'noLimits', data: { runner: describeRunner(runner), missing: missing.map((k) => `\`${k}\``).join(', ') },
    });
  },
};
