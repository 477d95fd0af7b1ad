import { describe, expect, it } from 'vitest';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { combineMaskers, planReview } from '../../src/review/plan.js';
import {
  mdCode,
  mdInline,
  mermaidText,
  NOTE_MAX_LENGTH,
  renderInline,
  renderSummary,
  renderTrustGraph,
  type SummaryInput,
} from '../../src/review/render.js';
import { diffsFor, evaluation, finding, reviewInput } from './helpers.js';

const noMask = { maskText: (t: string) => t };

describe('renderInline', () => {
  const fix = (line: number, endLine: number, replacement: string) => ({
    description: 'Use the deploy tier',
    location: { file: '.gitlab-ci.yml', line, column: 1, endLine, endColumn: 1 },
    replacement,
  });

  it('adds a one-line suggestion on the commented line (-0+0)', () => {
    const f = finding({ line: 3, fix: fix(3, 3, '  tags: [prod-deploy]') });
    const r = renderInline(f, { isNew: true, changed: new Set([3]), masker: noMask });
    expect(r.suggestion).toBe(true);
    expect(r.line).toBe(3);
    expect(r.body).toContain('```suggestion:-0+0\n  tags: [prod-deploy]\n```');
  });

  it('spans several lines with -A+B around the finding line', () => {
    const f = finding({ line: 4, fix: fix(3, 5, 'a\nb') });
    const r = renderInline(f, { isNew: true, changed: new Set([3, 4, 5]), masker: noMask });
    expect(r.line).toBe(4);
    expect(r.body).toContain('```suggestion:-1+1\na\nb\n```');
  });

  it('comments on the first fix line with -0+N when the finding is outside the fix', () => {
    const f = finding({ line: 2, fix: fix(6, 8, 'x') });
    const r = renderInline(f, { isNew: true, changed: new Set([2, 6, 7, 8]), masker: noMask });
    expect(r.line).toBe(6);
    expect(r.body).toContain('```suggestion:-0+2\nx\n```');
  });

  it('offers no suggestion when a fix line is not changed by the MR', () => {
    const f = finding({ line: 3, fix: fix(3, 4, 'x') });
    const r = renderInline(f, { isNew: true, changed: new Set([3]), masker: noMask });
    expect(r.suggestion).toBe(false);
    expect(r.body).not.toContain('suggestion:');
  });

  it('uses a longer fence when the replacement contains one', () => {
    const f = finding({ line: 1, fix: fix(1, 1, 'script: echo ```') });
    const r = renderInline(f, { isNew: true, changed: new Set([1]), masker: noMask });
    expect(r.body).toContain('````suggestion:-0+0\nscript: echo ```\n````');
  });

  it('shows rule, message, new/existing, fix text and the docs path', () => {
    const f = finding({ rule: 'deploy-runner-tier', job: 'deploy', message: 'Job `deploy` deploys to production on `general` runners' });
    const meta = { id: 'deploy-runner-tier', kind: 'pipeline' as const, title: 'Deploy job on the wrong tier', defaultSeverity: 'error' as const, principle: 'p', fix: 'Set `tags:` to the deploy tier.', messages: {} };
    const body = renderInline(f, { isNew: false, meta, masker: noMask }).body;
    expect(body.split('\n')[0]).toBe(`<!-- tierguard:finding fp=${f.fingerprint} -->`);
    expect(body).toContain('🛑 **Error** `deploy-runner-tier` — Deploy job on the wrong tier');
    expect(body).toContain('Job `deploy` deploys to production on `general` runners');
    expect(body).toContain('already on the target branch');
    expect(body).toContain('**How to fix:** Set `tags:` to the deploy tier.');
    expect(body).toContain('`docs/rules/deploy-runner-tier.md`');
  });
});

describe('masking (no secret ever appears)', () => {
  const SECRET = 'glpat-AbCdEfGhIjKlMnOpQrSt';
  const file = `deploy:\n  variables:\n    TOKEN: ${SECRET}\n  script: ./deploy\n`;

  it('masks secrets in inline bodies, suggestions and the summary', () => {
    const head = evaluation({
      files: { '.gitlab-ci.yml': file },
      jobs: [{ name: `deploy ${SECRET}`, untrusted: ['mr'] }],
      notes: [`.gitlab-ci.yml:3: could not resolve ${SECRET}`],
      findings: [
        finding({
          rule: 'hardcoded-credential',
          line: 3,
          job: 'deploy',
          key: ['variables', 'TOKEN'],
          message: `TOKEN holds a GitLab token (${SECRET})`,
          fix: { description: 'reference a variable', location: { file: '.gitlab-ci.yml', line: 3, column: 1, endLine: 3, endColumn: 1 }, replacement: `    TOKEN: ${SECRET}` },
        }),
      ],
    });
    head.sources.addSecret({ file: '.gitlab-ci.yml', line: 3, column: 12, endLine: 3, endColumn: 12 + SECRET.length });
    const plan = planReview(reviewInput({ head, diffs: diffsFor({}, { '.gitlab-ci.yml': file }) }));
    expect(plan.create).toHaveLength(1);
    const bodies = [...plan.create.map((c) => c.body), plan.summary.body];
    for (const b of bodies) expect(b).not.toContain(SECRET);
    expect(plan.create[0]?.body).toContain('glpa');
    // A suggestion whose replacement masking would alter is dropped (it would write asterisks).
    expect(plan.create[0]?.suggestion).toBe(false);
    expect(plan.create[0]?.body).not.toContain('suggestion:');
  });

  it('combines maskers of the head and extra sources', () => {
    const m = combineMaskers({ maskText: (t) => t.replace('a', '*') }, undefined, { maskText: (t) => t.replace('b', '*') });
    expect(m.maskText('abc')).toBe('**c');
  });
});

describe('Markdown safety', () => {
  it('neutralises HTML, mentions, links and quick actions from CI files', () => {
    const out = mdInline('job <!-- tierguard:summary --> pings @all [x](http://e) ![i](http://t) | /close');
    expect(out).not.toMatch(/<!--|@all|(?<!\\)\]\(|(^|\n)\/close/);
    expect(out).toContain('&lt;\\!-- tierguard:summary --&gt;');
    expect(out).toContain('&#64;all');
    expect(mdInline('a|b', { table: true })).toBe('a\\|b');
    expect(mdInline('line1\n/label ~x')).not.toContain('\n');
  });

  it('keeps code spans from rule messages and fences values with backticks', () => {
    expect(mdInline('Job `deploy` runs')).toBe('Job `deploy` runs');
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`x')).toBe('`` `x ``');
    expect(mdCode('a|b', { table: true })).toBe('`a\\|b`');
  });
});

describe('renderTrustGraph', () => {
  it('groups jobs by untrusted contexts and tier, and marks untrusted jobs on deploy tiers', () => {
    const policy = builtinPolicy();
    policy.tiers.general = ['general'];
    policy.tiers.deploy.production = ['prod-deploy'];
    const ev = evaluation({
      jobs: [
        { name: 'build', tags: ['general'], untrusted: ['mr', 'branch'] },
        { name: 'test', tags: ['general'], untrusted: ['branch', 'mr'] },
        { name: 'deploy', tags: ['prod-deploy'], untrusted: ['mr'] },
        { name: 'release', tags: ['prod-deploy'], untrusted: [] },
      ],
      policy,
    });
    const g = renderTrustGraph(ev, { policy });
    expect(g.startsWith('```mermaid\nflowchart LR\n')).toBe(true);
    expect(g).toContain('["build<br/>test"]');
    expect(g).toContain('[["general tier"]]');
    expect(g).toContain('[["deploy-production tier"]]');
    expect(g).toContain('(["trusted refs only"])');
    expect(g).toContain('(["mr #40;untrusted#41;"])');
    // deploy (untrusted mr → production tier) is the dangerous group; release is trusted only.
    // Both run on the production deploy tier, so both are deploy jobs (🚀).
    const deployNode = /\s(g\d+)\["🚀 deploy"\]/.exec(g)?.[1];
    expect(deployNode).toBeDefined();
    expect(g).toContain(`class ${deployNode} danger`);
    const releaseNode = /\s(g\d+)\["🚀 release"\]/.exec(g)?.[1];
    expect(releaseNode).toBeDefined();
    expect(g).not.toMatch(new RegExp(`class .*\\b${releaseNode}\\b`));
  });

  it('marks deploy jobs reached from untrusted contexts, whatever their tier', async () => {
    const { lintPipeline } = await import('../../src/rules/run.js');
    const { MemorySource } = await import('../../src/model/source.js');
    const policy = builtinPolicy();
    const yaml = 'build:\n  script: make\n  tags: [ci-general]\ndeploy:\n  script: ./d\n  environment: production\n  tags: [ci-general]\n  rules:\n    - if: $CI_COMMIT_BRANCH\n';
    const ev = await lintPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml', { policy });
    const g = renderTrustGraph(ev, { policy });
    const deployNode = /\s(g\d+)\["🚀 deploy"\]/.exec(g)?.[1];
    expect(deployNode).toBeDefined();
    expect(g).toContain(`class ${deployNode} danger`);
    expect(g).toMatch(/\s(g\d+)\["build"\]/);
  });

  it('draws the jobs of child pipelines too, named after their trigger job', async () => {
    const { lintPipeline } = await import('../../src/rules/run.js');
    const { MemorySource } = await import('../../src/model/source.js');
    const policy = builtinPolicy();
    const parent = 'child:\n  trigger:\n    include: ci/child.yml\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n';
    // Child jobs need rules to run in a pipeline started from an MR pipeline (doc/ci/pipelines/downstream_pipelines.md).
    const child = 'deploy:\n  script: ./d\n  environment: production\n  tags: [ci-general]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "parent_pipeline"\n';
    const ev = await lintPipeline(new MemorySource({ '.gitlab-ci.yml': parent, 'ci/child.yml': child }), '.gitlab-ci.yml', { policy });
    const g = renderTrustGraph(ev, { policy });
    const node = /\s(g\d+)\["🚀 child › deploy"\]/.exec(g)?.[1];
    expect(node, g).toBeDefined();
    expect(g).toContain(`class ${node} danger`);
  });

  it('escapes job names that try to break out of a label or the code fence', () => {
    const evil = 'x"] --> pwn[("@all ``` <b>#|';
    const g = renderTrustGraph(evaluation({ jobs: [{ name: evil, untrusted: ['mr'] }] }));
    const labelLine = g.split('\n').find((l) => l.includes('pwn'))!;
    expect(labelLine).toBe(`  g0["${mermaidText(evil)}"]`);
    expect(labelLine.match(/"/g)).toHaveLength(2);
    const label = labelLine.slice(labelLine.indexOf('"') + 1, labelLine.lastIndexOf('"'));
    expect(label).not.toMatch(/["<>`@|[\](){}]/);
    expect(g.match(/```/g)).toHaveLength(2);
  });

  it('caps the picture at maxJobs job names', () => {
    const jobs = Array.from({ length: 100 }, (_, i) => ({ name: `job-${String(i).padStart(3, '0')}`, tags: [`t${i % 60}`], untrusted: ['mr' as const] }));
    const g = renderTrustGraph(evaluation({ jobs }), { maxJobs: 40 });
    expect(g.match(/job-\d{3}/g)).toHaveLength(40);
    expect(g).toContain('… and 60 more jobs');
  });
});

describe('renderSummary', () => {
  const base = (rows: SummaryInput['rows']): SummaryInput => ({
    headSha: 'abcdef1234567890',
    blockOn: 'new',
    rows,
    status: { state: 'failed', description: '1 blocking, 0 warnings' },
    policySources: ['policies/default.yaml', 'policies/teams/g.yaml'],
    notes: ['.gitlab-ci.yml:4: include `x.yml` could not be read'],
    graph: '```mermaid\nflowchart LR\n```',
    masker: noMask,
  });

  it('lists findings, suppressed count, policy files, notes and the picture', () => {
    const f1 = finding({ line: 2, job: 'deploy' });
    const f2 = finding({ rule: 'untagged-job', severity: 'warning', line: 9, job: 'lint', key: [] });
    const f3 = finding({ rule: 'untagged-job', severity: 'warning', line: 12, job: 'x', key: [], suppressed: { kind: 'exception', reason: 'legacy until Q3' } });
    const body = renderSummary(
      base([
        { finding: f1, isNew: true, blocksStatus: true, placement: 'inline' },
        { finding: f2, isNew: false, blocksStatus: false, placement: 'summary' },
        { finding: f3, isNew: false, blocksStatus: false, placement: 'summary' },
      ]),
    );
    const lines = body.split('\n');
    expect(lines[0]).toBe('<!-- tierguard:summary -->');
    expect(lines[1]).toMatch(/^<!-- tierguard:state \{"v":1,"fps":\[.*\],"sha":"abcdef1234567890"\} -->$/);
    expect(lines[2]).toBe('## ⛔ tierguard: 1 blocking, 0 warnings');
    expect(body).toContain('| 🛑 | `deploy-runner-tier` | error | `.gitlab-ci.yml:2` | `deploy` | 🆕 new | **yes** |');
    expect(body).toContain('| ⚠️ | `untagged-job` | warning | `.gitlab-ci.yml:9` | `lint` | existing | no |');
    expect(body).toContain('1 suppressed finding(s) (1 by policy exception, 0 by inline comment)');
    expect(body).toContain('legacy until Q3');
    expect(body).toContain('`policies/default.yaml`, `policies/teams/g.yaml`');
    expect(body).toContain('- .gitlab-ci.yml:4: include `x.yml` could not be read');
    expect(body).toContain('```mermaid');
  });

  it('moves refused inline positions into the summary with a note', () => {
    const f = finding({ line: 2 });
    const input = base([{ finding: f, isNew: true, blocksStatus: true, placement: 'inline' }]);
    expect(renderSummary(input)).toContain('💬 inline');
    const body = renderSummary(input, [f.fingerprint]);
    expect(body).toContain('here (GitLab refused the inline position)');
    expect(body.split('\n')[1]).toContain(`"rej":["${f.fingerprint}"]`);
  });

  it('stays within GitLab’s note limit, truncating the table politely', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      finding: finding({ line: i + 1, job: `job${i}`, message: 'm'.repeat(2000) }),
      isNew: true,
      blocksStatus: true,
      placement: 'summary' as const,
    }));
    const body = renderSummary(base(rows));
    expect(body.length).toBeLessThanOrEqual(NOTE_MAX_LENGTH);
    expect(body).toMatch(/… and \d+ more findings not shown/);
    expect(body).toContain('**Policy files applied:**');
  });
});
