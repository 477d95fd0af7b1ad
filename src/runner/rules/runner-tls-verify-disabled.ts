import { describeRunner, usesDocker, type RunnerRule } from '../model.js';
import { asStringList } from '../util.js';

/**
 * TLS verification switched off:
 * - `tls-skip-verify = true` / `tls_skip_verify = true` on a runner (GitLab connection);
 * - `GIT_SSL_NO_VERIFY=true` in the runner's `environment` (every clone);
 * - `[runners.docker] tls_verify = false` while `host` is a `tcp://` Docker daemon (the
 *   daemon connection: the runner's default is `false`). With no `host`, or a `unix://` /
 *   `npipe://` socket, `tls_verify` is not used and is not reported (gitlab-runner
 *   `helpers/docker/machine.go` / `common/config.go` `DockerCredentials`).
 */
export const runnerTlsVerifyDisabled: RunnerRule = {
  meta: {
    id: 'runner-tls-verify-disabled',
    kind: 'runner',
    title: 'TLS verification disabled',
    defaultSeverity: 'error',
    principle:
      'Without TLS verification anyone on the network path can impersonate GitLab or the Docker daemon: steal the runner token and job secrets, or hand the runner forged jobs and code.',
    fix: 'Remove `tls-skip-verify` and `GIT_SSL_NO_VERIFY`; trust a private CA with `tls-ca-file` instead. For a remote Docker daemon set `tls_verify = true` with `tls_cert_path`.',
    messages: {
      skipVerify: '{{runner}} sets `{{key}} = true`: the GitLab server\'s certificate is not verified; remove it and trust the CA with `tls-ca-file`.',
      gitSslNoVerify: '{{runner}} sets `GIT_SSL_NO_VERIFY` for every job: git clones do not verify GitLab\'s certificate; remove it.',
      dockerWithoutTls: '{{runner}} talks to the Docker daemon at `{{host}}` without `tls_verify = true`: the daemon\'s identity is not verified; set `tls_verify = true`.',
    },
  },
  check(runner, ctx) {
    for (const key of ['tls-skip-verify', 'tls_skip_verify']) {
      if (ctx.get([key]) !== true) continue;
      ctx.report({
        at: ctx.at([key]),
        keyPath: [key],
        messageId: 'skipVerify', data: { runner: describeRunner(runner), key },
      });
    }
    const env = asStringList(ctx.get(['environment']));
    env?.forEach((entry, i) => {
      if (!/^GIT_SSL_NO_VERIFY=(?:1|true|yes)$/i.test(entry.trim())) return;
      ctx.report({
        at: ctx.at(['environment', i]),
        keyPath: ['environment'],
        discriminator: 'GIT_SSL_NO_VERIFY',
        messageId: 'gitSslNoVerify', data: { runner: describeRunner(runner) },
      });
    });
    if (usesDocker(runner)) {
      const host = ctx.get(['docker', 'host']);
      if (typeof host === 'string' && /^tcp:\/\//i.test(host.trim()) && ctx.get(['docker', 'tls_verify']) !== true) {
        const written = ctx.get(['docker', 'tls_verify']) !== undefined;
        ctx.report({
          at: written ? ctx.at(['docker', 'tls_verify']) : ctx.at(['docker', 'host']),
          keyPath: ['docker', 'tls_verify'],
          messageId: 'dockerWithoutTls', data: { runner: describeRunner(runner), host },
        });
      }
    }
  },
};
