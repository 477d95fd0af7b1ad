import { describe, expect, it } from 'vitest';
import { actionMarker, findingMarker, SUMMARY_MARKER, stateMarker } from '../../src/review/markers.js';
import { planReview, statusDescription } from '../../src/review/plan.js';
import type { ReviewPlan } from '../../src/review/types.js';
import { BOT, diffsFor, discussion, evaluation, finding, HEAD_SHA, HUMAN, note, reviewInput } from './helpers.js';

const BASE = ['stages: [build, deploy]', 'build:', '  script: make', 'deploy:', '  script: ./deploy', ''].join('\n');
const HEAD = ['stages: [build, deploy]', 'build:', '  script: make', '  tags: [general]', 'deploy:', '  script: ./deploy', '  tags: [general]', ''].join('\n');
const diffs = diffsFor({ '.gitlab-ci.yml': BASE }, { '.gitlab-ci.yml': HEAD }); // adds lines 4 and 7

// A: new error on a changed line; B: new warning on an unchanged line; C: error already on base, on a changed line.
const A = finding({ rule: 'deploy-runner-tier', line: 7, job: 'deploy', key: ['tags'] });
const B = finding({ rule: 'untagged-job', severity: 'warning', line: 2, job: 'build', key: [] });
const C = finding({ rule: 'deploy-tier-tag-misuse', line: 4, job: 'build', key: ['tags'] });
const head = (...fs: typeof A[]) => evaluation({ files: { '.gitlab-ci.yml': HEAD }, findings: fs, jobs: [{ name: 'build' }, { name: 'deploy' }] });

/** What GitLab would hold after a plan was applied (every create accepted). */
function afterApply(plan: ReviewPlan): ReturnType<typeof discussion>[] {
  return [
    ...plan.create.map((c, i) => discussion(`d-${c.fingerprint}-${i}`, [note(c.body)])),
    discussion('d-summary', [note(plan.summary.body, { resolvable: false })], true),
  ];
}

const own = (fp: string, o: { resolved?: boolean; action?: 'resolved' | 'reopened' } = {}) =>
  discussion(`d-${fp}`, [
    note(`${findingMarker(fp)}\nbody`, { resolved: o.resolved }),
    ...(o.action ? [note(`${actionMarker(o.action, fp, 'abc123')}\n…`, { resolved: o.resolved })] : []),
  ]);

describe('planReview', () => {
  it('first run: new findings on changed lines get discussions; everything is in the summary', () => {
    const plan = planReview(reviewInput({ head: head(A, B, C), diffs, baseFindings: [C] }));
    expect(plan.create.map((c) => c.fingerprint)).toEqual([A.fingerprint]);
    expect(plan.create[0]?.position).toEqual({
      baseSha: 'b'.repeat(40),
      startSha: 'b'.repeat(40),
      headSha: HEAD_SHA,
      newPath: '.gitlab-ci.yml',
      oldPath: '.gitlab-ci.yml',
      newLine: 7,
    });
    expect(plan.create[0]?.marker).toBe(findingMarker(A.fingerprint));
    expect(plan.create[0]?.body.startsWith(findingMarker(A.fingerprint) + '\n')).toBe(true);
    expect(plan.resolve).toEqual([]);
    expect(plan.reopen).toEqual([]);
    expect(plan.summary.noteId).toBeUndefined();
    for (const f of [A, B, C]) expect(plan.summary.body).toContain(`\`.gitlab-ci.yml:${f.location.line}\``);
    expect(plan.status).toEqual({ state: 'failed', description: '1 blocking, 1 warning, 1 error already on the target branch' });
    expect(plan.counts).toEqual({ blocking: 1, errors: 2, warnings: 1, newFindings: 2 });
  });

  it('re-run with the same findings: nothing created, the summary is unchanged', () => {
    const input = reviewInput({ head: head(A, B, C), diffs, baseFindings: [C] });
    const first = planReview(input);
    const second = planReview({ ...input, existing: afterApply(first) });
    expect(second.create).toEqual([]);
    expect(second.resolve).toEqual([]);
    expect(second.reopen).toEqual([]);
    expect(second.summary.noteId).toBeGreaterThan(0);
    expect(second.summary.body).toBe(second.summary.previousBody);
    expect(second.summary.unchanged).toBe(true);
    expect(first.summary.unchanged).toBeUndefined();
  });

  const cases: Array<{
    name: string;
    findings: typeof A[];
    existing: ReturnType<typeof discussion>[];
    expect: { create?: string[]; resolve?: Array<{ fp: string; replied?: boolean }>; reopen?: string[] };
  }> = [
    { name: 'fix pushed: finding gone → resolve with a reply', findings: [B], existing: [own(A.fingerprint)], expect: { resolve: [{ fp: A.fingerprint }] } },
    { name: 'gone and already resolved → left alone', findings: [B], existing: [own(A.fingerprint, { resolved: true, action: 'resolved' })], expect: {} },
    { name: 'gone, reply posted but resolve failed last time → resolve without a second reply', findings: [], existing: [own(A.fingerprint, { action: 'resolved' })], expect: { resolve: [{ fp: A.fingerprint, replied: true }] } },
    { name: 'finding back after tierguard resolved it → reopen', findings: [A], existing: [own(A.fingerprint, { resolved: true, action: 'resolved' })], expect: { reopen: [A.fingerprint] } },
    { name: 'a person resolved it while the finding is there → left alone', findings: [A], existing: [own(A.fingerprint, { resolved: true })], expect: {} },
    { name: 'open discussion, finding still there → left alone', findings: [A], existing: [own(A.fingerprint, { action: 'reopened' })], expect: {} },
    {
      name: 'a marker pasted by someone else does not count',
      findings: [A],
      existing: [discussion('spoof', [note(`${findingMarker(A.fingerprint)}\nfake`, { author: HUMAN })])],
      expect: { create: [A.fingerprint] },
    },
    { name: 'existing finding on a changed line → summary only', findings: [C], existing: [], expect: {} },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planReview(reviewInput({ head: head(...c.findings), diffs, baseFindings: [C], existing: c.existing }));
      expect(plan.create.map((d) => d.fingerprint)).toEqual(c.expect.create ?? []);
      expect(plan.resolve.map((r) => ({ fp: r.fingerprint, ...(r.replied ? { replied: true } : {}) }))).toEqual(c.expect.resolve ?? []);
      expect(plan.reopen.map((r) => r.fingerprint)).toEqual(c.expect.reopen ?? []);
    });
  }

  it('writes the resolve and reopen replies with their action markers', () => {
    const gone = planReview(reviewInput({ head: head(B), diffs, existing: [own(A.fingerprint)] }));
    expect(gone.resolve[0]).toMatchObject({ discussionId: `d-${A.fingerprint}` });
    expect(gone.resolve[0]?.reply).toBe(`${actionMarker('resolved', A.fingerprint, HEAD_SHA)}\nResolved: this finding no longer appears at \`a1b2c3d4\`.`);
    const back = planReview(reviewInput({ head: head(A), diffs, existing: [own(A.fingerprint, { resolved: true, action: 'resolved' })] }));
    expect(back.reopen[0]?.reply).toBe(`${actionMarker('reopened', A.fingerprint, HEAD_SHA)}\nReopened: this finding appears again at \`a1b2c3d4\`.`);
  });

  it('resolves the discussion of a finding that is now suppressed, saying why', () => {
    const S = { ...A, blocking: false, suppressed: { kind: 'exception' as const, reason: 'migration' } };
    const plan = planReview(reviewInput({ head: head(S), diffs, existing: [own(A.fingerprint)] }));
    expect(plan.resolve[0]?.reply).toContain('Resolved: this finding is suppressed by a policy exception at `a1b2c3d4`.');
    expect(plan.status.state).toBe('success');
    expect(plan.summary.body).toContain('1 suppressed finding(s)');
  });

  it('blocks on new blocking findings only by default, on all with blockOn: all', () => {
    const onlyOld = reviewInput({ head: head(C, B), diffs, baseFindings: [C] });
    expect(planReview(onlyOld).status).toEqual({ state: 'success', description: 'no blocking findings (1 error already on the target branch, 1 warning)' });
    expect(planReview({ ...onlyOld, blockOn: 'all' }).status).toEqual({ state: 'failed', description: '1 blocking, 1 warning' });
    expect(planReview({ ...onlyOld, blockOn: 'all' }).counts.blocking).toBe(1);
  });

  it('a new finding on a new file gets a discussion against that file', () => {
    const inc = 'deploy:\n  script: ./d\n  tags: [general]\n';
    const F = finding({ file: 'ci/deploy.yml', line: 3, job: 'deploy' });
    const plan = planReview(reviewInput({ head: head(F), diffs: diffsFor({}, { 'ci/deploy.yml': inc }) }));
    expect(plan.create.map((c) => [c.position.newPath, c.position.newLine])).toEqual([['ci/deploy.yml', 3]]);
  });

  it('does not ask GitLab again at the same sha for positions it refused', () => {
    const summary = discussion('s', [note(`${SUMMARY_MARKER}\n${stateMarker({ v: 1, fps: [A.fingerprint], sha: HEAD_SHA, rej: [A.fingerprint] })}\n…`, { resolvable: false })], true);
    const same = planReview(reviewInput({ head: head(A), diffs, existing: [summary] }));
    expect(same.create).toEqual([]);
    expect(same.summary.body).toContain('here (GitLab refused the inline position)');
    const next = planReview(reviewInput({ head: head(A), diffs, headSha: 'c'.repeat(40), existing: [summary] }));
    expect(next.create.map((c) => c.fingerprint)).toEqual([A.fingerprint]);
  });

  it('plans one discussion per fingerprint even when a finding is reported twice', () => {
    const twice = { ...A, location: { ...A.location, line: 4, endLine: 4 } };
    const plan = planReview(reviewInput({ head: head(A, twice), diffs }));
    expect(plan.create).toHaveLength(1);
  });

  it('uses the bot user id to find its own summary note', () => {
    const theirs = discussion('s', [note(`${SUMMARY_MARKER}\nnot ours`, { author: HUMAN, resolvable: false })], true);
    expect(planReview(reviewInput({ head: head(), diffs, existing: [theirs] })).summary.noteId).toBeUndefined();
    const ours = discussion('s2', [note(`${SUMMARY_MARKER}\nours`, { author: BOT, resolvable: false })], true);
    expect(planReview(reviewInput({ head: head(), diffs, existing: [theirs, ours] })).summary.noteId).toBe(ours.notes[0]?.id);
  });
});

describe('planReview robustness', () => {
  it('keeps a finding with an unusual fingerprint in the summary only, and shows evaluation notes', () => {
    const odd = { ...A, fingerprint: 'has spaces --> <b>' };
    const ev = head(odd);
    ev.notes.push('.gitlab-ci.yml:1: include `ci/x.yml` could not be read');
    const plan = planReview(reviewInput({ head: ev, diffs, notes: ['live checks skipped: no token'] }));
    expect(plan.create).toEqual([]);
    expect(plan.summary.body).toContain('`.gitlab-ci.yml:7`');
    expect(plan.summary.body).not.toContain('has spaces');
    expect(plan.summary.body).toContain('include `ci/x.yml` could not be read');
    expect(plan.summary.body).toContain('live checks skipped: no token');
  });
});

describe('statusDescription', () => {
  it('reads like the spec and stays within 255 characters', () => {
    expect(statusDescription(2, 3, 0)).toBe('2 blocking, 3 warnings');
    expect(statusDescription(0, 3, 0)).toBe('no blocking findings (3 warnings)');
    expect(statusDescription(0, 0, 0)).toBe('no findings');
    expect(statusDescription(1e300, 1e300, 1e300).length).toBeLessThanOrEqual(255);
  });
});
