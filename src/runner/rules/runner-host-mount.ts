import { describeRunner, usesDocker, usesKubernetes, type RunnerRule } from '../model.js';
import { deniedHostPathHit, parseDockerVolume } from '../util.js';

/**
 * Host paths mounted into job containers: the Docker socket is root on the host, `/etc` and
 * `/` expose host credentials. Docker `volumes` (`host:container[:mode]`) and Kubernetes
 * `[[runners.kubernetes.volumes.host_path]]` (`host_path`, defaulting to `mount_path` —
 * gitlab-runner `executors/kubernetes/kubernetes.go` `getVolumesForHostPaths`).
 */
export const runnerHostMount: RunnerRule = {
  meta: {
    id: 'runner-host-mount',
    kind: 'runner',
    title: 'Sensitive host path mounted into job containers',
    defaultSeverity: 'error',
    principle: 'A job must not reach the host: the Docker socket or host system directories let any job escape to the host and to other jobs.',
    fix: 'Remove the host mount; build images with rootless BuildKit or Kaniko instead of the host Docker socket, and pass data through artifacts or the distributed cache.',
    messages: {
      hostPath: '{{runner}} mounts host path `{{source}}` into every job (denied host path `{{hit}}`): any job can escape to the host.',
      nodePath: '{{runner}} mounts node path `{{source}}` into every job pod (denied host path `{{hit}}`): any job can escape to the node.',
    },
  },
  check(runner, ctx) {
    const denied = ctx.policy.runners.deniedHostPaths;
    if (usesDocker(runner)) {
      const volumes = ctx.get(['docker', 'volumes']);
      if (Array.isArray(volumes)) {
        volumes.forEach((spec, i) => {
          if (typeof spec !== 'string') return;
          const v = parseDockerVolume(spec);
          if (v.kind !== 'bind' || !v.source) return;
          const hit = deniedHostPathHit(v.source, denied);
          if (!hit) return;
          ctx.report({
            at: ctx.at(['docker', 'volumes', i]),
            keyPath: ['docker', 'volumes'],
            discriminator: v.source,
            messageId: 'hostPath', data: { runner: describeRunner(runner), source: v.source, hit },
          });
        });
      }
    }
    if (usesKubernetes(runner)) {
      const hostPaths = ctx.get(['kubernetes', 'volumes', 'host_path']);
      if (Array.isArray(hostPaths)) {
        hostPaths.forEach((vol: unknown, i) => {
          const v = vol as Record<string, unknown> | null;
          if (!v || typeof v !== 'object') return;
          const key = typeof v.host_path === 'string' && v.host_path !== '' ? 'host_path' : 'mount_path';
          const source = v[key];
          if (typeof source !== 'string') return;
          const hit = deniedHostPathHit(source, denied);
          if (!hit) return;
          ctx.report({
            at: ctx.at(['kubernetes', 'volumes', 'host_path', i, key]),
            keyPath: ['kubernetes', 'volumes', 'host_path'],
            discriminator: source,
            messageId: 'nodePath', data: { runner: describeRunner(runner), source, hit },
          });
        });
      }
    }
  },
};
