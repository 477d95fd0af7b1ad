import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInlineIgnores } from '../../src/policy/apply.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { PolicyError } from '../../src/policy/errors.js';
import { layerPolicy, loadPolicy } from '../../src/policy/load.js';

const FX = 'test/fixtures/policy';

describe('policies/default.yaml', () => {
  it('loads to exactly the built-in baseline (except sources)', () => {
    const p = loadPolicy({ dir: 'policies' });
    expect(p.sources).toEqual(['policies/default.yaml']);
    const { sources: _a, ...loaded } = p;
    const { sources: _b, ...builtin } = builtinPolicy();
    expect(loaded).toEqual(builtin);
  });

  it('the shipped example team file is valid and not loaded by name', () => {
    const text = readFileSync('policies/teams/example-group.yaml.example', 'utf8');
    const p = layerPolicy(builtinPolicy(), 'example.yaml', text);
    expect(p.tiers.deploy.production).toEqual(['payments-deploy-prod']);
    expect(p.exceptions).toHaveLength(2);
    expect(loadPolicy({ dir: 'policies', group: 'example-group' }).sources).toEqual(['policies/default.yaml']);
  });
});

describe('layering default ← group ← subgroup', () => {
  it('applies group then subgroup, most specific last', () => {
    const p = loadPolicy({ dir: `${FX}/layered`, group: 'acme/payments' });
    expect(p.sources).toEqual([
      `${FX}/layered/default.yaml`,
      `${FX}/layered/teams/acme.yaml`,
      `${FX}/layered/teams/acme/payments.yaml`,
    ]);
    // lists replace, maps merge key by key
    expect(p.tiers).toEqual({
      general: ['payments-general'],
      build: ['ci-build'],
      deploy: { production: ['acme-deploy-prod'], staging: ['org-deploy-staging'] },
    });
    expect(p.protected).toEqual({ branches: ['main', 'release/*'], tags: ['v*'] });
    expect(p.remoteIncludeHosts).toEqual(['gitlab.example.com']);
    expect(p.review).toEqual({ blockOn: 'all', allowProjectOverrides: true, maxInlineDiscussions: 25 });
  });

  it('a severity-only override keeps the options; an options map shallow-merges', () => {
    const group = loadPolicy({ dir: `${FX}/layered`, group: 'acme' });
    expect(group.rules['unpinned-image']).toEqual({
      severity: 'error',
      options: { allowLatestIn: ['lint'], digestInDeploy: true },
    });
    const sub = loadPolicy({ dir: `${FX}/layered`, group: 'acme/payments' });
    expect(sub.rules['unpinned-image']).toEqual({
      severity: 'error',
      options: { allowLatestIn: ['lint', 'docs'], digestInDeploy: true },
    });
    expect(sub.rules['deploy-not-manual']).toEqual({ severity: 'off', options: {} });
    expect(sub.rules['untagged-job']).toEqual({ severity: 'warning', options: {} });
  });

  it('exceptions append across layers, each with its source position', () => {
    const p = loadPolicy({ dir: `${FX}/layered`, group: 'acme/payments' });
    expect(p.exceptions).toEqual([
      { rule: 'untagged-job', job: 'lint', reason: 'org-wide legacy lint', expires: '2030-01-01', source: { file: `${FX}/layered/default.yaml`, line: 17, column: 5 } },
      { rule: 'deploy-not-manual', file: 'ci/*.yml', reason: 'acme migrates in Q3', expires: '2020-06-30', source: { file: `${FX}/layered/teams/acme.yaml`, line: 13, column: 5 } },
      { rule: 'untagged-job', job: 'docs', reason: 'payments docs job', expires: '2031-12-31', source: { file: `${FX}/layered/teams/acme/payments.yaml`, line: 9, column: 5 } },
    ]);
  });

  it('matches group paths case-insensitively and skips missing levels', () => {
    const p = loadPolicy({ dir: `${FX}/layered`, group: 'ACME/Payments/cards' });
    expect(p.sources).toHaveLength(3);
    expect(loadPolicy({ dir: `${FX}/layered`, group: 'other/acme' }).sources).toEqual([`${FX}/layered/default.yaml`]);
  });

  it('uses the built-in baseline under team files when default.yaml is missing', () => {
    const p = loadPolicy({ dir: `${FX}/no-default`, group: 'acme' });
    expect(p.sources).toEqual(['<built-in>', `${FX}/no-default/teams/acme.yaml`]);
    expect(p.remoteIncludeHosts).toEqual(['includes.acme.test']);
    expect(p.tiers).toEqual(builtinPolicy().tiers);
  });

  it('does not modify the base when layering', () => {
    const base = builtinPolicy();
    const next = layerPolicy(base, 'x.yaml', 'tiers: { general: [x] }\nexceptions: [{ rule: r, job: j, reason: why, expires: 2030-01-01 }]\n');
    expect(base.tiers.general).toEqual(['ci-general']);
    expect(base.exceptions).toEqual([]);
    expect(next.tiers.general).toEqual(['x']);
    expect(next.sources).toEqual(['<built-in>', 'x.yaml']);
  });
});

describe('policy directory and group errors', () => {
  const err = (fn: () => unknown): PolicyError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      return e as PolicyError;
    }
    throw new Error('expected a PolicyError');
  };

  it('an explicit directory that does not exist is an error', () => {
    const e = err(() => loadPolicy({ dir: `${FX}/nope` }));
    expect(e.message).toBe(`${FX}/nope: policy directory not found`);
  });

  it('an invalid team file is reported with file, line, column and key path', () => {
    const e = err(() => loadPolicy({ dir: `${FX}/bad-team`, group: 'acme/x' }));
    expect(e.file).toBe(`${FX}/bad-team/teams/acme.yaml`);
    expect([e.line, e.column, e.path]).toEqual([5, 15, 'rules.deploy-not-manual.severity']);
    expect(e.message).toBe(
      `${FX}/bad-team/teams/acme.yaml:5:15: rules.deploy-not-manual.severity: expected "error" | "warning" | "off", got "fatal"`,
    );
  });

  it('a team file with the .yml extension is an error, not silently skipped', () => {
    const e = err(() => loadPolicy({ dir: `${FX}/yml-ext`, group: 'acme' }));
    expect(e.message).toBe(`${FX}/yml-ext/teams/acme.yml: policy files must end in ".yaml": rename to acme.yaml`);
  });

  it.each(['../etc', 'a//b', 'a/./b', '', 'a b'])('rejects group path %j', (group) => {
    const e = err(() => loadPolicy({ dir: `${FX}/layered`, group }));
    expect(e.file).toBe('--group');
    expect(e.message).toContain('invalid GitLab group path');
  });
});

describe('docs/policy.md', () => {
  it('every policy example in the docs is a valid policy file', () => {
    const md = readFileSync('docs/policy.md', 'utf8');
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => !b.startsWith('# .gitlab-ci.yml'));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(() => layerPolicy(builtinPolicy(), 'docs/policy.md', b)).not.toThrow();
  });

  it('the inline-ignore example in the docs parses as documented', () => {
    const md = readFileSync('docs/policy.md', 'utf8');
    const ci = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith('# .gitlab-ci.yml'))!;
    expect(parseInlineIgnores('.gitlab-ci.yml', ci).map((i) => [i.target, i.rules, i.reason ?? null])).toEqual([
      [3, ['unpinned-image'], 'pinned by Renovate next sprint'],
      [5, ['untagged-job', 'curl-pipe-shell'], null],
      ['file', ['debug-trace-enabled'], null],
    ]);
  });
});
