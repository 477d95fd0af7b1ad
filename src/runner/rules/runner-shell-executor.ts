import { describeRunner, type RunnerRule } from '../model.js';

/** `executor = "shell"`: jobs run as the runner's OS user, on the host itself (gitlab-runner `executors/shell`). */
export const runnerShellExecutor: RunnerRule = {
  meta: {
    id: 'runner-shell-executor',
    kind: 'runner',
    title: 'Shell executor',
    defaultSeverity: 'error',
    principle:
      'Every job is remote code execution: with the shell executor, jobs of unrelated projects and refs run as the same host user, with the same files, caches and credentials.',
    fix: 'Use an isolating executor (`docker`, `docker-autoscaler` or `kubernetes`) with ephemeral containers; if a shell runner is unavoidable, dedicate the host to one project and protected refs only.',
    messages: {
      shellExecutor: '{{runner}} uses `executor = "shell"`: jobs run directly on the host as the runner user and can read or poison what other jobs leave behind.',
    },
  },
  check(runner, ctx) {
    if (runner.executor?.trim().toLowerCase() !== 'shell') return;
    ctx.report({
      at: ctx.at(['executor']),
      keyPath: ['executor'],
      messageId: 'shellExecutor', data: { runner: describeRunner(runner) },
    });
  },
};
