import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintTargets } from '../../src/cli/lint.js';
import { loadPolicy } from '../../src/policy/load.js';
import { allRuleMetas } from '../../src/cli/catalogue.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');

describe("tierguard's own .gitlab-ci.yml", () => {
  it('is judged by tierguard with no finding at all, under the shipped policy', async () => {
    const policy = loadPolicy({ dir: path.join(root, 'policies'), rules: allRuleMetas() });
    const run = await lintTargets(['.'], root, { policy, defaultBranch: 'main' });
    expect(run.evaluations[0].pipeline.jobs.length).toBeGreaterThan(5);
    expect(run.findings.map((f) => `${f.location.file}:${f.location.line} ${f.ruleId} ${f.message}`)).toEqual([]);
    expect(run.notes).toEqual([]);
  });

  it('builds the image rootless on the build tier, releases only on protected v* tags, deploys on the deploy tier', async () => {
    const policy = loadPolicy({ dir: path.join(root, 'policies'), rules: allRuleMetas() });
    const run = await lintTargets(['.'], root, { policy, defaultBranch: 'main' });
    const ev = run.evaluations[0];
    const job = (n: string) => ev.pipeline.jobs.find((j) => j.name === n)!;
    expect(job('image-publish').tags).toEqual(['ci-build']);
    expect(JSON.stringify(job('image-publish').node.entries.get('image')?.value)).toContain('kaniko');
    for (const name of ['release', 'deploy-production']) {
      expect(job(name).tags).toEqual(['ci-deploy-prod']);
      const trust = ev.trust.get(name)!;
      expect(trust.untrusted).toEqual([]);
      expect(trust.trusted).toEqual(['protected-tag']);
      expect(trust.byContext['protected-tag'].when).toBe('manual');
    }
    // The chart jobs reference value files that exist.
    for (const f of ['default-values.yaml', 'full-values.yaml']) expect(existsSync(path.join(root, 'helm', 'tierguard', 'ci', f))).toBe(true);
  });
});
