import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkRunnerConfig, looksLikeRunnerConfig, RunnerConfigError, runnerRules } from '../../src/runner/check.js';
import { hits, testPolicy } from './helpers.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/runner/${name}`, import.meta.url)), 'utf8');

function configError(file: string, text: string): RunnerConfigError {
  try {
    checkRunnerConfig(file, text, testPolicy());
  } catch (e) {
    if (e instanceof RunnerConfigError) return e;
    throw e;
  }
  throw new Error('expected a RunnerConfigError');
}

describe('well-isolated runners (runner-isolation guidance examples)', () => {
  it('Docker build runner group-build-ephemeral: build tier, no findings', () => {
    const r = checkRunnerConfig('group-build-ephemeral.toml', fixture('group-build-ephemeral.toml'), testPolicy());
    expect(r.runners.map((x) => [x.name, x.tier, x.executor, x.loc.line])).toEqual([['group-build-ephemeral', 'build', 'docker', 9]]);
    expect(r.findings).toEqual([]);
  });

  it('privileged is only allowed because policy names the build runner', () => {
    const r = checkRunnerConfig('c.toml', fixture('group-build-ephemeral.toml'), testPolicy((p) => (p.runners.privilegedAllowed = [])));
    expect(r.findings.map((f) => [f.ruleId, f.location.line, f.blocking])).toEqual([['runner-privileged', 27, true]]);
  });

  it('Kubernetes deploy runner prod-deploy-k8s: deploy tier, no findings', () => {
    const r = checkRunnerConfig('prod-deploy-k8s.toml', fixture('prod-deploy-k8s.toml'), testPolicy());
    expect(r.runners.map((x) => [x.name, x.tier, x.executor])).toEqual([['prod-deploy-k8s', 'deploy', 'kubernetes']]);
    expect(r.findings).toEqual([]);
  });

  it('the same deploy runner as gitlab-runner Helm chart values: no findings', () => {
    const r = checkRunnerConfig('values.yaml', fixture('prod-deploy-k8s.values.yaml'), testPolicy());
    expect(r.runners.map((x) => [x.name, x.tier, x.loc.line, x.loc.column])).toEqual([['prod-deploy-k8s', 'deploy', 11, 5]]);
    expect(r.findings).toEqual([]);
  });
});

describe('realistic bad config', () => {
  const text = fixture('realistic-bad.toml');
  const result = checkRunnerConfig('config.toml', text, testPolicy());

  it('reports every runner rule exactly once, at the right line and column', () => {
    const got = result.findings.map((f) => [f.ruleId, f.location.line, f.location.column, f.job]);
    expect(got).toEqual([
      ['runner-token-committed', 8, 11, 'shared-docker-01'],
      ['runner-tls-verify-disabled', 10, 21, 'shared-docker-01'],
      ['runner-shared-cache', 13, 14, 'shared-docker-01'],
      ['runner-privileged', 16, 18, 'shared-docker-01'],
      ['runner-network-host', 17, 20, 'shared-docker-01'],
      ['runner-host-mount', 18, 16, 'shared-docker-01'],
      ['runner-persistent-builds', 18, 61, 'shared-docker-01'],
      ['runner-pull-policy', 19, 19, 'shared-docker-01'],
      ['runner-shell-executor', 25, 14, 'legacy-shell'],
      ['runner-k8s-limits', 32, 3, 'prod-deploy-k8s-old'],
      ['runner-k8s-namespace', 33, 17, 'prod-deploy-k8s-old'],
    ]);
    expect(new Set(got.map((g) => g[0])).size).toBe(runnerRules.length);
  });

  it('rates findings: errors block, warnings do not; namespace is an error on the deploy tier', () => {
    const sev = Object.fromEntries(result.findings.map((f) => [f.ruleId, `${f.severity}/${f.blocking}`]));
    expect(sev['runner-privileged']).toBe('error/true');
    expect(sev['runner-pull-policy']).toBe('warning/false');
    expect(sev['runner-k8s-namespace']).toBe('error/true');
  });

  it('never shows the token: not in messages, masked in source lines', () => {
    const token = 'glrt-EXAMPLEonlyNotARealToken0';
    for (const f of result.findings) expect(f.message).not.toContain(token);
    const line = result.sources.line('config.toml', 8) ?? '';
    expect(line).not.toContain(token);
    expect(line).toMatch(/^ {2}token = "[^"]{0,4}\*{4,}"$/);
    expect(result.sources.maskText(`leaked ${token}`)).not.toContain(token);
  });

  it('gives stable fingerprints that do not depend on the line', () => {
    const shifted = checkRunnerConfig('config.toml', '\n\n# moved\n' + text, testPolicy());
    expect(shifted.findings.map((f) => f.fingerprint)).toEqual(result.findings.map((f) => f.fingerprint));
    expect(new Set(result.findings.map((f) => f.fingerprint)).size).toBe(result.findings.length);
  });
});

describe('tiers and policy', () => {
  const k8s = (name: string) => `[[runners]]\nname = "${name}"\nexecutor = "kubernetes"\n[runners.kubernetes]\nnamespace = "default"\nservice_account = "sa"\ncpu_limit = "1"\nmemory_limit = "1"\nhelper_cpu_limit = "1"\nhelper_memory_limit = "1"\npull_policy = "always"\n`;

  it('derives tiers from policy name patterns (deploy first, then build, else general)', () => {
    const r = checkRunnerConfig('c.toml', k8s('prod-deploy') + k8s('nightly-build') + k8s('shared') + '[[runners]]\nexecutor = "docker"\n', testPolicy());
    expect(r.runners.map((x) => [x.name, x.tier])).toEqual([
      ['prod-deploy', 'deploy'],
      ['nightly-build', 'build'],
      ['shared', 'general'],
      ['runners[3]', 'general'],
    ]);
    const custom = checkRunnerConfig('c.toml', k8s('eu-release-1'), testPolicy((p) => (p.runners.tiers.deploy = ['*-release-*'])));
    expect(custom.runners[0]?.tier).toBe('deploy');
  });

  it('runner-k8s-namespace is a warning off the deploy tier', () => {
    const r = checkRunnerConfig('c.toml', k8s('shared'), testPolicy());
    expect(r.findings.map((f) => [f.ruleId, f.severity, f.blocking])).toEqual([['runner-k8s-namespace', 'warning', false]]);
  });

  it('policy re-rates and disables rules', () => {
    const text = k8s('prod-deploy');
    const warn = checkRunnerConfig('c.toml', text, testPolicy((p) => (p.rules['runner-k8s-namespace'] = { severity: 'warning', options: {} })));
    expect(warn.findings.map((f) => [f.ruleId, f.severity])).toEqual([['runner-k8s-namespace', 'warning']]);
    const off = checkRunnerConfig('c.toml', text, testPolicy((p) => (p.rules['runner-k8s-namespace'] = { severity: 'off', options: {} })));
    expect(off.findings).toEqual([]);
  });

  it('masks a token even when its rule is disabled', () => {
    const text = '[[runners]]\nname = "a"\ntoken = "abcdefghijklmnopqrstuv"\n';
    const r = checkRunnerConfig('c.toml', text, testPolicy((p) => (p.rules['runner-token-committed'] = { severity: 'off', options: {} })));
    expect(r.findings).toEqual([]);
    expect(r.sources.line('c.toml', 3)).not.toContain('abcdefghijklmnopqrstuv');
  });
});

describe('broken input', () => {
  it('invalid TOML: clear error with file, line and column, no stack in the message', () => {
    const e = configError('config.toml', 'concurrent = 1\n[[runners]]\n  name = "a\n');
    expect([e.file, e.line, e.column]).toEqual(['config.toml', 3, 12]);
    // smol-toml's words: the line break ends the line inside the string.
    expect(e.message).toBe('config.toml:3:12: invalid TOML: control characters are not allowed in strings');
  });

  it('invalid TOML inside Helm values: line and column in the values file', () => {
    const values = 'runners:\n  config: |\n    [[runners]]\n      name = "a"\n      executor = = "docker"\n';
    const e = configError('values.yaml', values);
    expect([e.line, e.column]).toEqual([5, 18]);
    expect(e.message).toMatch(/^values\.yaml:5:18: invalid TOML in runners\.config: /);
  });

  it('invalid YAML values file', () => {
    const e = configError('values.yaml', 'runners:\n  config: [\n');
    expect(e.message).toMatch(/^values\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('invalid YAML values file: the line and column of the error, not of the file', () => {
    const e = configError('values.yaml', 'replicas: 1\nrunners:\n  tags: a\n   b: c\n');
    // `a` (line 3, column 9) starts a scalar that line 4 tries to continue as a map.
    expect([e.line, e.column]).toEqual([3, 9]);
    expect(e.message).toMatch(/^values\.yaml:3:9: invalid YAML: /);
  });

  it('a values file with two documents is refused', () => {
    const e = configError('values.yaml', 'runners:\n  tags: a\n---\nrunners:\n  tags: b\n');
    expect(e.message).toMatch(/^values\.yaml:3:1: invalid YAML: Source contains multiple documents/);
  });

  it('runners that is not an array of tables', () => {
    const e = configError('config.toml', 'concurrent = 1\n[runners]\nname = "a"\n');
    expect([e.line, e.column]).toEqual([2, 1]);
    expect(e.message).toContain('`runners` must be an array of tables');
  });

  it('duplicate keys are a TOML error', () => {
    const e = configError('config.toml', '[[runners]]\nname = "a"\nname = "b"\n');
    expect(e.line).toBe(3);
  });

  it('oversized input is refused', () => {
    const e = configError('config.toml', '#'.repeat(3 * 1024 * 1024));
    expect(e.message).toContain('larger than');
  });

  it('an empty file has no runners and no findings', () => {
    expect(checkRunnerConfig('config.toml', '', testPolicy()).findings).toEqual([]);
  });
});

describe('Helm values', () => {
  it('maps findings in runners.config to the values file', () => {
    const values = [
      'gitlabUrl: https://gitlab.example.com/', // 1
      'runners:', // 2
      '  config: |', // 3
      '', // 4
      '    [[runners]]', // 5
      '      name = "prod-deploy"', // 6
      '      executor = "kubernetes"', // 7
      '      [runners.kubernetes]', // 8
      '        namespace = "default"', // 9
      '        service_account = "d"', // 10
      '        pull_policy = "if-not-present"', // 11
      '  tags: deploy', // 12
    ].join('\n');
    expect(hits(values, 'values.yaml')).toEqual([
      { rule: 'runner-k8s-limits', line: 8, column: 7 },
      { rule: 'runner-k8s-namespace', line: 9, column: 21 },
      { rule: 'runner-pull-policy', line: 11, column: 23 },
    ]);
  });

  it('takes the runner name from runners.name when the TOML has none, and skips template lines', () => {
    const values = [
      'runners:',
      '  name: group-build-ephemeral',
      '  config: |',
      '    [[runners]]',
      '      {{- if .Values.x }}',
      '      executor = "docker"',
      '      {{- end }}',
      '      [runners.docker]',
      '        privileged = true',
      '        image = "{{ .Values.image }}"',
    ].join('\n');
    const r = checkRunnerConfig('values.yml', values, testPolicy());
    expect(r.runners.map((x) => [x.name, x.tier])).toEqual([['group-build-ephemeral', 'build']]);
    expect(r.findings).toEqual([]);
  });

  it('reports a committed runnerToken masked, ignores empty and placeholder ones', () => {
    const values = 'runnerToken: "glrt-helmEXAMPLEtoken123456"\nrunnerRegistrationToken: ""\nrunners:\n  config: |\n    [[runners]]\n      token = "REDACTED"\n';
    const r = checkRunnerConfig('values.yaml', values, testPolicy());
    expect(r.findings.map((f) => [f.ruleId, f.location.line, f.location.column, f.job])).toEqual([['runner-token-committed', 1, 14, undefined]]);
    expect(r.sources.line('values.yaml', 1)).not.toContain('helmEXAMPLEtoken123456');
    expect(r.findings[0]?.message).not.toContain('helmEXAMPLEtoken123456');
  });

  it('explicit indentation indicator', () => {
    const values = 'runners:\n  config: |2\n      [[runners]]\n      name = "x"\n      executor = "shell"\n';
    expect(hits(values, 'values.yaml')).toEqual([{ rule: 'runner-shell-executor', line: 5, column: 18 }]);
  });

  it('a values file without runners.config has no runners', () => {
    const r = checkRunnerConfig('values.yaml', 'gitlabUrl: https://x/\nrunners:\n  tags: a\n', testPolicy());
    expect(r.runners).toEqual([]);
    expect(r.findings).toEqual([]);
  });
});

describe('looksLikeRunnerConfig', () => {
  it('recognises config.toml and Helm values with [[runners]]', () => {
    expect(looksLikeRunnerConfig('ops/runner/config.toml', fixture('prod-deploy-k8s.toml'))).toBe('toml');
    expect(looksLikeRunnerConfig('runners/prod.toml', '[[ runners ]]\nname = "a"\n')).toBe('toml');
    expect(looksLikeRunnerConfig('deploy/values.yaml', fixture('prod-deploy-k8s.values.yaml'))).toBe('helm-values');
  });

  it('ignores other TOML and YAML files', () => {
    expect(looksLikeRunnerConfig('Cargo.toml', '[package]\nname = "x"\n')).toBeUndefined();
    expect(looksLikeRunnerConfig('hugo/config.toml', 'baseURL = "https://x/"\n')).toBeUndefined();
    expect(looksLikeRunnerConfig('.gitlab-ci.yml', 'build:\n  script: echo [[runners]]\n')).toBeUndefined();
    expect(looksLikeRunnerConfig('README.md', '[[runners]]\n')).toBeUndefined();
  });
});
