import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintTargets, renderLint } from '../../src/cli/lint.js';
import type { RenderFormat } from '../../src/findings/render/index.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import type { Policy } from '../../src/policy/types.js';
import { toolVersion } from '../../src/util/package-info.js';

/**
 * Golden outputs: each realistic pipeline or runner config `test/fixtures/golden/X.yml`
 * (or `X.toml`) is linted as `tierguard lint X.yml` does, and its text, JSON and SARIF outputs
 * are compared with `X.text.out`, `X.json.out`, `X.sarif.out` beside it, so that a change to a
 * message or a renderer is a visible diff. `UPDATE_GOLDEN=1 npx vitest run test/findings/golden.test.ts`
 * rewrites them.
 */
const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';
const today = new Date('2026-11-25T12:00:00Z');
const formats: { format: RenderFormat; ext: string }[] = [
  { format: 'text', ext: 'text.out' },
  { format: 'json', ext: 'json.out' },
  { format: 'sarif', ext: 'sarif.out' },
];

/** Fixture-specific policy: the monorepo carries a policy exception that has expired. */
function policyFor(name: string): Policy {
  const base = builtinPolicy();
  if (name !== 'monorepo.yml') return base;
  return {
    ...base,
    exceptions: [
      {
        rule: 'unpinned-image',
        job: 'api:build',
        reason: 'golang image pinned in the platform template (PLAT-112)',
        expires: '2026-10-31',
        source: { file: 'policies/teams/shop.yaml', line: 7, column: 5 },
      },
    ],
  };
}

/** Literal credentials in the fixtures: every output masks them. */
const SECRETS = ['npm_Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A', 'glrt-EXAMPLEonlyNotARealToken0'];

/** What changes between machines and releases is replaced by a placeholder. */
function normalise(out: string): string {
  const version = toolVersion();
  return out.split(`"version": ${JSON.stringify(version)}`).join('"version": "<tool-version>"');
}

const fixtures = readdirSync(dir)
  .filter((f) => /\.(ya?ml|toml)$/.test(f))
  .sort();

describe('golden outputs of tierguard lint', () => {
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of fixtures) {
    it(name, async () => {
      const run = await lintTargets([name], dir, { policy: policyFor(name), defaultBranch: 'main', today });
      const stem = name.replace(/\.(ya?ml|toml)$/, '');
      for (const { format, ext } of formats) {
        const actual = normalise(renderLint(run, format, {}));
        expect(actual, `${name}: output depends on the machine`).not.toContain(dir);
        for (const secret of SECRETS) expect(actual, `${name}: ${format} output leaks a secret`).not.toContain(secret);
        const file = path.join(dir, `${stem}.${ext}`);
        if (update || !existsSync(file)) {
          if (!update) throw new Error(`${file} is missing: run UPDATE_GOLDEN=1 npx vitest run test/findings/golden.test.ts`);
          writeFileSync(file, actual);
          continue;
        }
        expect(actual, `${stem}.${ext} differs (if intended: UPDATE_GOLDEN=1 npx vitest run test/findings/golden.test.ts)`).toBe(readFileSync(file, 'utf8'));
      }
    });
  }
});
