/** applyReview end to end: the real adapter against the loopback fake GitLab, real engine findings. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi, type GitLabApiOptions } from '../../src/gitlab/client.js';
import type { GitLabApi, GitLabDiff } from '../../src/gitlab/types.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { pipelineRuleMetas } from '../../src/rules/index.js';
import { lintPipeline } from '../../src/rules/run.js';
import { applyReview } from '../../src/review/apply.js';
import { findingMarker, parseSummaryState } from '../../src/review/markers.js';
import { planReview } from '../../src/review/plan.js';
import type { ReviewInput } from '../../src/review/types.js';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';
import { finding } from './helpers.js';
import { defined } from '../support/defined.js';

const PIN = `alpine:3.20@sha256:${'a'.repeat(64)}`;
const BASE = `stages: [build, deploy]
build:
  stage: build
  image: ${PIN}
  script: make
  tags: [ci-general]
`;
// Adds a production deploy job on general runners (lines 7-12).
const HEAD = `${BASE}deploy:
  stage: deploy
  image: ${PIN}
  script: ./deploy.sh
  environment: production
  tags: [ci-general]
`;

describe('applyReview against the fake GitLab', () => {
  let gl: FakeGitLab;
  let api: GitLabApi;
  const make = (extra: Partial<GitLabApiOptions> = {}): GitLabApi =>
    createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 3, baseMs: 1, maxMs: 5 }, timeoutMs: 2000, ...extra });
  const sleeps: number[] = [];
  const opts = { paceMs: 5, sleep: async (ms: number) => void sleeps.push(ms) };

  beforeEach(async () => {
    sleeps.length = 0;
    gl = await startFakeGitLab();
    api = make();
    gl.addProject({ path: 'group/app' });
    gl.addMergeRequest(1, { base: { '.gitlab-ci.yml': BASE }, head: { '.gitlab-ci.yml': HEAD } });
  });
  afterEach(async () => {
    await gl.close();
  });

  /** Everything the service would gather before planning, for the head text given. */
  async function gather(headText = HEAD, o: { diffs?: (d: GitLabDiff[]) => GitLabDiff[] } = {}): Promise<ReviewInput> {
    const policy = builtinPolicy();
    const lint = (t: string) => lintPipeline(new MemorySource({ '.gitlab-ci.yml': t }), '.gitlab-ci.yml', { policy });
    const mr = await api.getMergeRequest(1, 1);
    const { diffs } = await api.getMergeRequestChanges(1, 1);
    return {
      projectId: 1,
      mrIid: 1,
      headSha: mr.sha,
      diffRefs: mr.diffRefs!,
      diffs: o.diffs ? o.diffs(diffs) : diffs,
      head: await lint(headText),
      baseFindings: (await lint(BASE)).findings,
      existing: await api.listDiscussions(1, 1),
      botUserId: gl.botUser.id,
      policySources: policy.sources,
      notes: [],
      blockOn: 'new',
      mrWebUrl: mr.webUrl,
      policy,
      catalogue: pipelineRuleMetas(),
    };
  }

  const mrState = () => gl.getMergeRequest(1, 1);
  const botDiffNotes = () => mrState().discussions.filter((d) => d.notes[0].position && d.notes[0].authorId === gl.botUser.id);
  const summaries = () => mrState().discussions.filter((d) => d.notes[0].body.startsWith('<!-- tierguard:summary -->'));

  it('posts inline discussions on the diff and a summary; a re-run makes no write at all', async () => {
    const input = await gather();
    const plan = planReview(input);
    expect(plan.create.length).toBeGreaterThanOrEqual(2);
    expect(plan.status.state).toBe('failed');
    const res = await applyReview(api, input, plan, opts);
    expect(res).toMatchObject({ created: plan.create.length, summary: 'created', inlineRejected: [], failures: [] });
    expect(sleeps).toEqual(Array(plan.create.length).fill(5)); // paced between creates (summary included)

    const diffNotes = botDiffNotes();
    expect(diffNotes.map((d) => d.notes[0].position!.new_line).sort()).toEqual(plan.create.map((c) => c.position.newLine).sort());
    for (const d of diffNotes) expect(d.notes[0].position).toMatchObject({ head_sha: input.diffRefs.headSha, new_path: '.gitlab-ci.yml', old_line: null });
    const tier = plan.create.find((c) => c.finding.ruleId === 'deploy-runner-tier')!;
    const posted = diffNotes.find((d) => d.notes[0].body.startsWith(tier.marker!))!.notes[0].body;
    expect(posted.replace(/\r\n/g, '\n')).toBe(tier.body);
    // A mechanical fix on an added line becomes a one-click suggestion.
    const suggested = plan.create.filter((c) => c.suggestion);
    expect(suggested.length).toBeGreaterThan(0);
    for (const c of suggested) expect(c.body).toMatch(/```suggestion:-\d+\+\d+\n/);
    expect(summaries()).toHaveLength(1);
    expect(summaries()[0]?.notes[0].body).toContain('```mermaid');

    const before = gl.requests.length;
    const again = planReview(await gather());
    expect(again.create).toEqual([]);
    const res2 = await applyReview(api, input, again, opts);
    expect(res2).toMatchObject({ created: 0, summary: 'unchanged', calls: 0 });
    expect(res2.skipped).toBe(1);
    expect(gl.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('falls back to the summary when GitLab refuses a position, and does not ask again at the same sha', async () => {
    // A stale diff view claims line 2 changed; GitLab's diff does not contain it.
    const stale = (d: GitLabDiff[]) => [...d, { ...defined(d[0], 'a diff'), diff: '@@ -2,1 +2,1 @@\n-build:\n+build:\n' }];
    const input = await gather(HEAD, { diffs: stale });
    const odd = finding({ rule: 'untagged-job', severity: 'warning', line: 2, job: 'build', key: ['stale'] });
    input.extraFindings = [odd];
    const plan = planReview(input);
    expect(plan.create.map((c) => c.fingerprint)).toContain(odd.fingerprint);
    const res = await applyReview(api, input, plan, opts);
    expect(res.inlineRejected).toEqual([odd.fingerprint]);
    expect(res.inlineFailed).toEqual([]);
    expect(res.failures).toEqual([]);
    expect(res.created).toBe(plan.create.length - 1);
    expect(botDiffNotes().some((d) => d.notes[0].body.startsWith(findingMarker(odd.fingerprint)))).toBe(false);
    const summary = defined(summaries()[0], 'the summary').notes[0].body;
    expect(summary).toContain('here (GitLab refused the inline position)');
    expect(parseSummaryState(summary)?.rej).toEqual([odd.fingerprint]);

    const next = await gather(HEAD, { diffs: stale });
    next.extraFindings = [odd];
    const again = planReview(next);
    expect(again.create).toEqual([]);
    expect(again.summary.unchanged).toBe(true);
  });

  it('a create GitLab refuses for another reason is reported and listed in the summary', async () => {
    gl.failNext('POST /projects/1/merge_requests/1/discussions', { status: 403, body: { message: '403 Forbidden' } });
    const input = await gather();
    const plan = planReview(input);
    const res = await applyReview(api, input, plan, opts);
    expect(res.failures).toHaveLength(1);
    expect(res.failures[0]).toMatchObject({ action: 'create', fingerprint: plan.create[0]?.fingerprint });
    expect(res.inlineFailed).toEqual([plan.create[0]?.fingerprint]);
    expect(res.inlineRejected).toEqual([]);
    expect(res.created).toBe(plan.create.length - 1);
    const summary = defined(summaries()[0], 'the summary').notes[0].body;
    expect(summary).toContain('here (the inline comment failed; retried on the next run)');
    expect(parseSummaryState(summary)?.rej).toBeUndefined();
    // The next run tries again and succeeds; the summary is edited in place.
    const next = await gather();
    const plan2 = planReview(next);
    expect(plan2.create.map((c) => c.fingerprint)).toEqual([plan.create[0]?.fingerprint]);
    const res2 = await applyReview(api, next, plan2, opts);
    expect(res2).toMatchObject({ created: 1, summary: 'edited', failures: [] });
    expect(botDiffNotes()).toHaveLength(plan.create.length);
  });

  it('a create that landed but whose answer was lost is not duplicated', async () => {
    gl.failNext('POST /projects/1/merge_requests/1/discussions', { status: 502, apply: true });
    const input = await gather();
    const plan = planReview(input);
    const res = await applyReview(api, input, plan, opts);
    expect(res.failures).toEqual([]);
    for (const c of plan.create) {
      expect(mrState().discussions.filter((d) => d.notes[0].body.startsWith(c.marker!))).toHaveLength(1);
    }
    expect(botDiffNotes()).toHaveLength(plan.create.length);
  });

  it('a create that timed out but landed is not duplicated', async () => {
    const fast = make({ timeoutMs: 150 });
    gl.failNext('POST /projects/1/merge_requests/1/discussions', { status: 201, apply: true, delayMs: 600 });
    const input = await gather();
    const plan = planReview(input);
    const res = await applyReview(fast, input, plan, opts);
    await new Promise((r) => setTimeout(r, 700)); // let the delayed handler finish before counting
    expect(res.created).toBe(plan.create.length);
    expect(botDiffNotes()).toHaveLength(plan.create.length);
  });

  it('edits the summary in place, resolves vanished findings once, and reopens them when they come back', async () => {
    const first = await gather();
    await applyReview(api, first, planReview(first), opts);
    const summaryId = summaries()[0]?.notes[0].id;
    const tierFp = planReview(first).summaryInput!.rows.find((r) => r.finding.ruleId === 'deploy-runner-tier')!.finding.fingerprint;

    // The fix: deploy tier tags. The deploy-runner-tier finding disappears.
    const fixed = HEAD.replace(/tags: \[ci-general\]\n$/, 'tags: [ci-deploy-prod]\n');
    const second = await gather(fixed);
    const plan2 = planReview(second);
    expect(plan2.resolve.map((r) => r.fingerprint)).toContain(tierFp);
    const res2 = await applyReview(api, second, plan2, opts);
    expect(res2.summary).toBe('edited');
    expect(summaries()).toHaveLength(1);
    expect(summaries()[0]?.notes[0].id).toBe(summaryId);
    expect(summaries()[0]?.notes[0].body).toBe(plan2.summary.body);
    const tierDiscussion = () => mrState().discussions.find((d) => d.notes[0].body.startsWith(findingMarker(tierFp)))!;
    expect(tierDiscussion().notes[0].resolved).toBe(true);
    expect(tierDiscussion().notes.at(-1)!.body).toMatch(/Resolved: this finding no longer appears at `[0-9a-f]{8}`\./);

    // Same again: already resolved, nothing to do.
    const plan3 = planReview(await gather(fixed));
    expect(plan3.resolve).toEqual([]);
    expect(plan3.summary.unchanged).toBe(true);

    // The finding comes back: reopened, not posted again.
    const back = await gather(HEAD);
    const plan4 = planReview(back);
    expect(plan4.reopen.map((r) => r.fingerprint)).toEqual([tierFp]);
    expect(plan4.create).toEqual([]);
    const res4 = await applyReview(api, back, plan4, opts);
    expect(res4.reopened).toBe(1);
    expect(tierDiscussion().notes[0].resolved).toBe(false);
    expect(tierDiscussion().notes.at(-1)!.body).toContain('Reopened: this finding appears again');
    expect(mrState().discussions.filter((d) => d.notes[0].body.startsWith(findingMarker(tierFp)))).toHaveLength(1);
  });
});
