/**
 * The per-MR budget (issue 12): at most review.maxInlineDiscussions inline discussions, blocking
 * first, the rest counted in the summary; one discussion per rule and line for many jobs; the
 * summary note under GitLab's note limit whatever the MR holds.
 */
import { describe, expect, it } from 'vitest';
import { NOTE_MAX_LENGTH, renderSummary } from '../../src/review/render.js';
import { planReview } from '../../src/review/plan.js';
import type { ReviewPlan } from '../../src/review/types.js';
import { diffsFor, discussion, evaluation, finding, note, reviewInput } from './helpers.js';
import { defined } from '../support/defined.js';

/** A head file with `n` jobs, each on its own added lines (job i's `tags` on line 3 + 3i). */
function manyJobs(n: number): string {
  const out = ['stages: [deploy]', ''];
  for (let i = 0; i < n; i += 1) out.push(`job-${String(i).padStart(3, '0')}:`, '  script: ./deploy', '  tags: [general]');
  return out.join('\n') + '\n';
}

function afterApply(plan: ReviewPlan) {
  return [...plan.create.map((c, i) => discussion(`d-${i}`, [note(c.body)])), discussion('d-summary', [note(plan.summary.body, { resolvable: false })], true)];
}

describe('the per-MR budget', () => {
  const n = 150;
  const HEAD = manyJobs(n);
  const diffs = diffsFor({ '.gitlab-ci.yml': 'stages: [deploy]\n' }, { '.gitlab-ci.yml': HEAD });
  // Every third job's finding is a warning; the others block.
  const fs = Array.from({ length: n }, (_, i) =>
    finding({ rule: i % 3 === 2 ? 'unpinned-image' : 'deploy-runner-tier', severity: i % 3 === 2 ? 'warning' : 'error', line: 5 + 3 * i, job: `job-${String(i).padStart(3, '0')}` }),
  );
  const input = () => reviewInput({ head: evaluation({ files: { '.gitlab-ci.yml': HEAD }, findings: fs }), diffs });

  it('150 unsafe jobs: 25 inline discussions, blocking first, by file and line; the summary counts the rest', () => {
    const plan = planReview(input());
    expect(plan.create).toHaveLength(25);
    expect(plan.create.every((c) => c.finding.severity === 'error')).toBe(true);
    const lines = plan.create.map((c) => c.position.newLine);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(lines[0]).toBe(5);
    expect(plan.overBudget).toBe(125);
    expect(plan.summary.body).toContain('125 more finding(s) on changed lines are listed here only');
    expect(plan.summary.body).toContain('at most 25 inline discussions per merge request (policy `review.maxInlineDiscussions`)');
    expect(plan.summary.body.split('here (over the inline budget)').length - 1).toBe(125);
    // Every finding is still in the summary.
    for (const f of fs) expect(plan.summary.body).toContain(`\`.gitlab-ci.yml:${f.location.line}\``);
  });

  it('a re-run counts the discussions already open: nothing more is posted, nothing duplicated', () => {
    const first = planReview(input());
    const again = planReview({ ...input(), existing: afterApply(first) });
    expect(again.create).toEqual([]);
    expect(again.resolve).toEqual([]);
    expect(again.overBudget).toBe(125);
  });

  it('the budget comes from the policy (review.maxInlineDiscussions), 0 allowed', () => {
    expect(planReview({ ...input(), maxInlineDiscussions: 3 }).create).toHaveLength(3);
    const none = planReview({ ...input(), maxInlineDiscussions: 0 });
    expect(none.create).toEqual([]);
    expect(none.summary.body).toContain('150 more finding(s)');
  });
});

describe('one discussion per rule and line', () => {
  const HEAD = ['.shared: &shared', '  tags: []', ''].join('\n') + Array.from({ length: 106 }, (_, i) => `job-${i}:\n  <<: *shared\n  script: make\n`).join('');
  const diffs = diffsFor({ '.gitlab-ci.yml': 'stages: [test]\n' }, { '.gitlab-ci.yml': HEAD });
  const fs = Array.from({ length: 106 }, (_, i) => finding({ rule: 'untagged-job', severity: 'warning', line: 2, job: `job-${i}`, key: ['tags'] }));
  const input = () => reviewInput({ head: evaluation({ files: { '.gitlab-ci.yml': HEAD }, findings: fs }), diffs });

  it('106 jobs sharing one `tags: []` line get one discussion naming the jobs, with a count past 10', () => {
    const plan = planReview(input());
    expect(plan.create).toHaveLength(1);
    const body = plan.create[0]?.body;
    expect(body).toContain('**The same finding on this line for 106 jobs:**');
    expect(body).toMatch(/`job-0`, `job-1`, `job-10`, .* and 96 more\./);
    expect(plan.overBudget).toBeUndefined();
    expect(plan.summary.body.split('💬 inline').length - 1).toBe(106);
  });

  it('when GitLab refuses the grouped discussion, the summary lists every job of it as refused', () => {
    const plan = planReview(input());
    expect(plan.create[0]?.covers).toHaveLength(105);
    const grouped = defined(plan.create[0], 'the grouped discussion');
    const body = renderSummary(plan.summaryInput!, [grouped.fingerprint, ...grouped.covers!]);
    expect(body.split('here (GitLab refused the inline position)').length - 1).toBe(106);
    expect(body).not.toContain('💬 inline');
  });

  it('a re-run keeps the one discussion (no new ones for the other jobs); it resolves when the line is fixed', () => {
    const first = planReview(input());
    const existing = afterApply(first);
    const again = planReview({ ...input(), existing });
    expect(again.create).toEqual([]);
    expect(again.resolve).toEqual([]);
    const fixed = planReview({ ...input(), head: evaluation({ files: { '.gitlab-ci.yml': HEAD }, findings: [] }), existing });
    expect(fixed.resolve).toHaveLength(1);
  });
});

describe('the summary note stays under GitLab’s limit', () => {
  it('30 000 findings with long messages: under 1 000 000 characters, the table cut with "… and N more"', () => {
    const HEAD = 'x: 1\n';
    const fs = Array.from({ length: 30_000 }, (_, i) =>
      finding({ rule: 'deploy-runner-tier', line: 1, job: `a-rather-long-job-name-number-${i}`, message: 'm'.repeat(2000) }),
    );
    const plan = planReview(reviewInput({ head: evaluation({ files: { '.gitlab-ci.yml': HEAD }, findings: fs }), diffs: [] }));
    expect(plan.summary.body.length).toBeLessThan(NOTE_MAX_LENGTH);
    expect(plan.summary.body).toMatch(/… and \d+ more findings not shown/);
    expect(plan.summary.body).toContain('tierguard:state');
  });
});
