import { describeRunner, usesDocker, type RunnerRule } from '../model.js';

/** `[runners.docker] network_mode = "host"` (gitlab-runner `common/config.go` `DockerConfig.NetworkMode`). */
export const runnerNetworkHost: RunnerRule = {
  meta: {
    id: 'runner-network-host',
    kind: 'runner',
    title: 'Job containers on the host network',
    defaultSeverity: 'error',
    principle:
      'Jobs must be network-isolated from the host: on the host network a job reaches every service bound to the host (metadata endpoints, the runner session server, local daemons).',
    fix: 'Remove `network_mode` (Docker bridge network) or use a dedicated network; set `FF_NETWORK_PER_BUILD` for a network per job.',
    messages: {
      hostNetwork: '{{runner}} runs job containers with `network_mode = "host"`: jobs share the host\'s network stack and reach every local service; remove `network_mode`.',
    },
  },
  check(runner, ctx) {
    if (!usesDocker(runner)) return;
    const mode = ctx.get(['docker', 'network_mode']);
    if (typeof mode !== 'string' || mode.trim().toLowerCase() !== 'host') return;
    ctx.report({
      at: ctx.at(['docker', 'network_mode']),
      keyPath: ['docker', 'network_mode'],
      messageId: 'hostNetwork', data: { runner: describeRunner(runner) },
    });
  },
};
