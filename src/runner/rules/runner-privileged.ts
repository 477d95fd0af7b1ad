import { describeRunner, isTable, usesDocker, usesKubernetes, type RunnerRule } from '../model.js';

/**
 * `privileged = true` gives job containers every capability and the host's devices: a job can
 * load kernel modules, mount the host disk and read other jobs' secrets. gitlab-runner
 * `common/config.go` (`DockerConfig.Privileged`, `ServicesPrivileged`,
 * `KubernetesConfig.Privileged`, `*_container_security_context`).
 */
export const runnerPrivileged: RunnerRule = {
  meta: {
    id: 'runner-privileged',
    kind: 'runner',
    title: 'Privileged job containers outside the build tier',
    defaultSeverity: 'error',
    principle:
      'A privileged container is root on the host: only build-tier runners that take protected refs only, named in policy, may run them.',
    fix: 'Set `privileged = false` (build images with rootless BuildKit or Kaniko), or move the runner to the build tier and list it in `runners.privilegedAllowed`.',
    messages: {
      privileged: '{{what}} on {{runner}}: {{why}}.',
    },
  },
  check(runner, ctx) {
    if (runner.privilegedAllowed) return;
    const why =
      runner.tier === 'deploy'
        ? 'deploy-tier runners never run privileged containers (a job could take over the host and every deploy credential on it)'
        : runner.tier === 'build'
          ? 'this build-tier runner is not named in policy `runners.privilegedAllowed`'
          : 'only build-tier runners named in policy `runners.privilegedAllowed` may run privileged containers';
    const flag = (path: string[], what: string): void => {
      if (ctx.get(path) !== true) return;
      ctx.report({ at: ctx.at(path), keyPath: path, messageId: 'privileged', data: { what, runner: describeRunner(runner), why } });
    };
    if (usesDocker(runner)) {
      flag(['docker', 'privileged'], '`privileged = true`');
      flag(['docker', 'services_privileged'], '`services_privileged = true`');
    }
    if (usesKubernetes(runner)) {
      flag(['kubernetes', 'privileged'], '`privileged = true`');
      const k8s = ctx.get(['kubernetes']);
      if (isTable(k8s)) {
        for (const key of ['build_container_security_context', 'helper_container_security_context', 'service_container_security_context']) {
          flag(['kubernetes', key, 'privileged'], `\`${key}.privileged = true\``);
        }
      }
    }
  },
};
