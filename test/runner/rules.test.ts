import { describe, it, expect } from 'vitest';
import type { Policy } from '../../src/policy/types.js';
import { runnerRules } from '../../src/runner/check.js';
import { hitsOf, testPolicy } from './helpers.js';

interface Case {
  name: string;
  toml: string;
  /** [line, column] of each expected finding of the rule, in output order. */
  at?: [number, number][];
  policy?: Policy;
}

const L = (...lines: string[]) => lines.join('\n') + '\n';

const table: Record<string, { valid: Case[]; invalid: Case[] }> = {
  'runner-privileged': {
    valid: [
      { name: 'unprivileged docker', toml: L('[[runners]]', 'name = "shared-1"', 'executor = "docker"', '[runners.docker]', 'privileged = false') },
      { name: 'build tier named in privilegedAllowed', toml: L('[[runners]]', 'name = "group-build-ephemeral"', 'executor = "docker"', '[runners.docker]', 'privileged = true') },
      { name: 'docker section ignored on a kubernetes runner', toml: L('[[runners]]', 'name = "k"', 'executor = "kubernetes"', '[runners.docker]', 'privileged = true', '[runners.kubernetes]', 'privileged = false') },
    ],
    invalid: [
      { name: 'general tier', toml: L('[[runners]]', 'name = "shared-1"', 'executor = "docker"', '[runners.docker]', '  privileged = true'), at: [[5, 16]] },
      { name: 'build tier not in privilegedAllowed', toml: L('[[runners]]', 'name = "team-build-x"', 'executor = "docker"', '[runners.docker]', 'privileged = true'), at: [[5, 14]] },
      {
        name: 'deploy tier even when listed',
        toml: L('[[runners]]', 'name = "group-build-deploy"', 'executor = "kubernetes"', '[runners.kubernetes]', 'privileged = true'),
        policy: testPolicy((p) => (p.runners.privilegedAllowed = ['*'])),
        at: [[5, 14]],
      },
      { name: 'services_privileged', toml: L('[[runners]]', 'name = "s"', 'executor = "docker"', '[runners.docker]', 'services_privileged = true'), at: [[5, 23]] },
      { name: 'k8s security context', toml: L('[[runners]]', 'name = "s"', 'executor = "kubernetes"', '[runners.kubernetes.build_container_security_context]', 'privileged = true'), at: [[5, 14]] },
    ],
  },
  'runner-host-mount': {
    valid: [
      { name: 'anonymous and harmless binds', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/cache", "/srv/fixtures:/fixtures:ro", "named:/data"]') },
      { name: 'k8s host path outside the list', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[[runners.kubernetes.volumes.host_path]]', 'name = "x"', 'mount_path = "/data"', 'host_path = "/srv/data"') },
    ],
    invalid: [
      {
        name: 'docker socket and /etc in one list',
        toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/cache", "/var/run/docker.sock:/var/run/docker.sock",', '  "/etc/ssl:/etc/ssl:ro"]'),
        at: [[5, 22], [6, 3]],
      },
      { name: 'a parent directory of the socket', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/var/run:/host-run"]'), at: [[5, 12]] },
      { name: 'the host root', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/:/host"]'), at: [[5, 12]] },
      {
        name: 'k8s host_path defaulting to mount_path',
        toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[[runners.kubernetes.volumes.host_path]]', 'name = "docker"', 'mount_path = "/var/run/docker.sock"'),
        at: [[6, 14]],
      },
      {
        name: 'policy list',
        toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/opt/secrets:/s"]'),
        policy: testPolicy((p) => p.runners.deniedHostPaths.push('/opt/secrets')),
        at: [[5, 12]],
      },
    ],
  },
  'runner-network-host': {
    valid: [{ name: 'bridge', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'network_mode = "bridge"') }],
    invalid: [{ name: 'host', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', '  network_mode = "host"'), at: [[5, 18]] }],
  },
  'runner-shell-executor': {
    valid: [{ name: 'docker', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"') }],
    invalid: [{ name: 'shell', toml: L('[[runners]]', 'name = "a"', 'executor = "shell"'), at: [[3, 12]] }],
  },
  'runner-token-committed': {
    valid: ['REDACTED', '__REDACTED__', '${RUNNER_TOKEN}', '$RUNNER_TOKEN', '', '<runner-token>', 'xxxxxxxx', 'XXXXXXXXXXXX'].map((t) => ({
      name: `placeholder ${JSON.stringify(t)}`,
      toml: L('[[runners]]', 'name = "a"', `token = "${t}"`, 'executor = "docker"'),
    })),
    invalid: [
      { name: 'glrt token', toml: L('[[runners]]', 'name = "a"', '  token = "glrt-t3stT0kenNotReal_abc"'), at: [[3, 11]] },
      { name: 'legacy token without prefix', toml: L('[[runners]]', 'name = "a"', "token = 'a1b2c3d4e5f6g7h8i9j0'"), at: [[3, 9]] },
      { name: 'GitLab token in another key', toml: L('[[runners]]', 'name = "a"', 'environment = ["X=1", "CI_SERVER_TOKEN=glpat-abcdefghij0123456789"]'), at: [[3, 23]] },
      { name: 'S3 cache secret key', toml: L('[[runners]]', 'name = "a"', '[runners.cache.s3]', 'AccessKey = "AKIAEXAMPLE"', 'SecretKey = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"'), at: [[5, 13]] },
    ],
  },
  'runner-pull-policy': {
    valid: [
      { name: 'docker default (always)', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'image = "alpine:3"') },
      { name: 'always list', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'pull_policy = ["always"]', 'allowed_pull_policies = ["always", "if-not-present"]') },
      { name: 'k8s general tier unset', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "x"') },
    ],
    invalid: [
      { name: 'if-not-present', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'pull_policy = "if-not-present"'), at: [[5, 15]] },
      { name: 'fallback list', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'pull_policy = ["always", "if-not-present"]'), at: [[5, 15]] },
      { name: 'allowed never', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'allowed_pull_policies = ["always", "never"]'), at: [[5, 25]] },
      { name: 'k8s deploy tier unset', toml: L('[[runners]]', 'name = "prod-deploy"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "x"'), at: [[4, 1]] },
      { name: 'deploy tier allows if-not-present', toml: L('[[runners]]', 'name = "prod-deploy"', 'executor = "kubernetes"', '[runners.kubernetes]', 'pull_policy = "always"', 'allowed_pull_policies = ["if-not-present"]'), at: [[6, 25]] },
    ],
  },
  'runner-tls-verify-disabled': {
    valid: [
      { name: 'local socket: tls_verify unused', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'tls_verify = false') },
      { name: 'remote daemon with TLS', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'host = "tcp://dind:2376"', 'tls_verify = true') },
      { name: 'ca file', toml: L('[[runners]]', 'name = "a"', 'tls-ca-file = "/etc/gitlab-runner/certs/ca.crt"') },
    ],
    invalid: [
      { name: 'tls-skip-verify', toml: L('[[runners]]', 'name = "a"', 'tls-skip-verify = true'), at: [[3, 19]] },
      { name: 'GIT_SSL_NO_VERIFY', toml: L('[[runners]]', 'name = "a"', 'environment = ["A=1", "GIT_SSL_NO_VERIFY=true"]'), at: [[3, 23]] },
      { name: 'remote daemon without TLS', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'host = "tcp://docker:2375"', 'tls_verify = false'), at: [[6, 14]] },
      { name: 'remote daemon, tls_verify unset', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'host = "tcp://docker:2375"'), at: [[5, 8]] },
    ],
  },
  'runner-shared-cache': {
    valid: [{ name: 'not shared', toml: L('[[runners]]', 'name = "a"', '[runners.cache]', 'Type = "s3"', 'Shared = false') }],
    invalid: [{ name: 'shared', toml: L('[[runners]]', 'name = "a"', '[runners.cache]', 'Type = "s3"', 'Shared = true'), at: [[5, 10]] }],
  },
  'runner-persistent-builds': {
    valid: [
      { name: 'build tier /cache volume', toml: L('[[runners]]', 'name = "group-build-1"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/cache"]') },
      { name: 'general tier with disable_cache', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'disable_cache = true', 'volumes = ["/cache"]') },
      { name: 'k8s empty_dir', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[[runners.kubernetes.volumes.empty_dir]]', 'name = "b"', 'mount_path = "/builds"') },
    ],
    invalid: [
      { name: 'general tier /cache volume (GitLab issue 547332)', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"', '[runners.docker]', 'volumes = ["/cache"]'), at: [[5, 12]] },
      { name: 'host bind of builds_dir on any tier', toml: L('[[runners]]', 'name = "group-build-1"', 'executor = "docker"', 'builds_dir = "/b"', '[runners.docker]', 'volumes = ["/srv/ci/b:/b"]'), at: [[6, 12]] },
      { name: 'named cache volume', toml: L('[[runners]]', 'name = "prod-deploy"', 'executor = "docker"', '[runners.docker]', 'volumes = ["ci-cache:/cache"]'), at: [[5, 12]] },
      { name: 'k8s pvc for /builds', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[[runners.kubernetes.volumes.pvc]]', 'name = "b"', 'mount_path = "/builds"'), at: [[6, 14]] },
    ],
  },
  'runner-k8s-limits': {
    valid: [
      { name: 'all limits', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[runners.kubernetes]', 'cpu_limit = "1"', 'memory_limit = "1Gi"', 'helper_cpu_limit = "1"', 'helper_memory_limit = "1Gi"') },
      { name: 'docker runner', toml: L('[[runners]]', 'name = "a"', 'executor = "docker"') },
    ],
    invalid: [
      { name: 'helper limits missing', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '  [runners.kubernetes]', 'cpu_limit = "1"', 'memory_limit = "1Gi"'), at: [[4, 3]] },
      { name: 'no kubernetes table', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"'), at: [[1, 1]] },
    ],
  },
  'runner-k8s-namespace': {
    valid: [
      {
        name: 'own namespace and service account per tier',
        toml: L(
          '[[runners]]', 'name = "prod-deploy"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "ci-deploy"', 'service_account = "deploy-jobs"',
          '[[runners]]', 'name = "general"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "ci-general"', 'service_account = "general-jobs"',
        ),
      },
    ],
    invalid: [
      { name: 'default namespace', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "default"', 'service_account = "a-jobs"'), at: [[5, 13]] },
      { name: 'missing service account', toml: L('[[runners]]', 'name = "a"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "ci"'), at: [[4, 1]] },
      {
        name: 'namespace shared across tiers',
        toml: L(
          '[[runners]]', 'name = "prod-deploy"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "ci"', 'service_account = "deploy-jobs"',
          '[[runners]]', 'name = "general"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "ci"', 'service_account = "general-jobs"',
        ),
        at: [[5, 13], [11, 13]],
      },
      {
        name: 'deploy runner lets jobs choose the namespace',
        toml: L('[[runners]]', 'name = "prod-deploy"', 'executor = "kubernetes"', '[runners.kubernetes]', 'namespace = "ci-deploy"', 'service_account = "d"', 'namespace_overwrite_allowed = "ci-.*"'),
        at: [[7, 31]],
      },
    ],
  },
};

describe('runner rules: valid and invalid snippets', () => {
  it('covers every rule in the catalogue', () => {
    expect(Object.keys(table).sort()).toEqual(runnerRules.map((r) => r.meta.id).sort());
  });
  for (const [rule, { valid, invalid }] of Object.entries(table)) {
    describe(rule, () => {
      for (const c of valid) {
        it(`valid: ${c.name}`, () => {
          expect(hitsOf(rule, c.toml, 'config.toml', c.policy)).toEqual([]);
        });
      }
      for (const c of invalid) {
        it(`invalid: ${c.name}`, () => {
          expect(c.at?.length).toBeGreaterThan(0);
          const got = hitsOf(rule, c.toml, 'config.toml', c.policy).map((h) => [h.line, h.column]);
          expect(got).toEqual(c.at);
        });
      }
    });
  }
});
