/**
 * Live checks in the MR review, end to end: the real reviewer and GitLab client against the
 * fake GitLab on loopback (runners, protected environments, variables, CI settings, roles).
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { loadConfig } from '../../src/server/config.js';
import { createPolicyLoader } from '../../src/server/policies.js';
import type { ReviewJob } from '../../src/server/queue.js';
import { createReviewer, liveOptionsFromConfig, type LiveReviewOptions, type Reviewer } from '../../src/server/review-mr.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest, type FakeProject } from '../support/fake-gitlab.js';
import { CLEAN_CI, FIXED_CI, SECRET, policyDir } from './helpers.js';
import { defined } from '../support/defined.js';

let gl: FakeGitLab;

beforeEach(async () => {
  gl = await startFakeGitLab();
});
afterEach(async () => {
  await gl.close();
});

function reviewer(live: LiveReviewOptions | false | undefined): Reviewer {
  const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 2, baseMs: 1, maxMs: 5 }, timeoutMs: 5000, ambiguousSettleMs: 1 });
  return createReviewer({
    api,
    logger: pino({ level: 'silent' }),
    policies: createPolicyLoader(policyDir()),
    paceMs: 0,
    ...(live === undefined ? {} : { live }),
  });
}

let delivery = 0;
const job = (mr: FakeMergeRequest): ReviewJob => ({
  projectId: mr.projectId,
  mrIid: mr.iid,
  sha: mr.headSha,
  reason: 'merge_request:open',
  deliveryId: `d-${(delivery += 1)}`,
  receivedAt: Date.now(),
});

/** A project whose live state is clean but for what each test changes: group readable, production protected, settings tight. */
function project(): FakeProject {
  const p = gl.addProject({ path: 'acme/app' });
  gl.addGroup('acme');
  p.protectedEnvironments.push({ name: 'production', deploy_access_levels: [{ access_level: 40 }] });
  p.ciSettings = { ci_allow_fork_pipelines_to_run_in_parent_project: false, restrict_user_defined_variables: true, ci_pipeline_variables_minimum_override_role: 'maintainer' };
  return p;
}

const deployMr = (p: FakeProject): FakeMergeRequest =>
  gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': FIXED_CI }, headPipeline: true });

const finalStatus = (mr: FakeMergeRequest) => {
  const st = gl.state.statuses.filter((s) => s.sha === mr.headSha && s.name === 'tierguard');
  expect(st).toHaveLength(1);
  return defined(st[0], 'the tierguard status');
};
const summaryBody = (mr: FakeMergeRequest): string => {
  const s = mr.discussions.filter((d) => d.notes[0].authorId === gl.botUser.id && d.notes[0].body.includes('<!-- tierguard:summary -->'));
  expect(s).toHaveLength(1);
  return defined(s[0], 'the summary').notes[0].body;
};
const calls = (method: string, path: string | RegExp) =>
  gl.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))).length;

describe('live checks in the MR review', () => {
  it('a deploy job an unprotected runner could pick up fails the status, and the finding names the runner', async () => {
    const p = project();
    const runner = gl.addRunner(p.id, { description: 'deploy-box', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'not_protected' });
    const mr = deployMr(p);
    const out = await reviewer({ cacheTtlSeconds: 60 }).review(job(mr));

    expect(out.result).toBe('failed');
    const st = finalStatus(mr);
    expect(st.state).toBe('failed');
    expect(st.description).toMatch(/^1 blocking/);
    const body = summaryBody(mr);
    expect(body).toContain('deploy-runner-unprotected');
    // (the summary escapes `#` in Markdown text)
    expect(body).toMatch(new RegExp(`runner \\\\?#${runner.id} "deploy-box" \\(project, not protected\\)`));
    // The finding is on the deploy job's tags line, a changed line: one inline discussion names the runner too.
    const inline = mr.discussions.filter((d) => d.notes[0].position !== null);
    expect(inline.some((d) => /runner \\?#\d+ "deploy-box"/.test(d.notes[0].body) && d.notes[0].position!.new_line === FIXED_CI.split('\n').indexOf('  tags: [ci-deploy-prod]') + 1)).toBe(true);
    expect(body).not.toMatch(/Not verified \(skipped\)/);
  });

  it('the same MR with the runner protected gets success', async () => {
    const p = project();
    gl.addRunner(p.id, { description: 'deploy-box', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'ref_protected' });
    const mr = deployMr(p);
    const out = await reviewer({ cacheTtlSeconds: 60 }).review(job(mr));

    expect(out.result).toBe('success');
    const st = finalStatus(mr);
    expect(st.state).toBe('success');
    expect(st.description).not.toMatch(/skipped/);
    expect(summaryBody(mr)).not.toContain('deploy-runner-unprotected');
    // The runner list was really read (the success is not for want of data).
    expect(calls('GET', `/projects/${p.id}/runners`)).toBe(1);
  });

  it('with live checks off the unprotected runner is not looked at', async () => {
    const p = project();
    gl.addRunner(p.id, { description: 'deploy-box', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'not_protected' });
    const mr = deployMr(p);
    const live = liveOptionsFromConfig(loadConfig({ GITLAB_URL: gl.url, GITLAB_TOKEN: gl.token, WEBHOOK_SECRET: SECRET, LIVE_CHECKS: 'off' }));
    expect(live).toBe(false);
    expect((await reviewer(live).review(job(mr))).result).toBe('success');
    expect(calls('GET', `/projects/${p.id}/runners`)).toBe(0);
  });

  it('a token without the Maintainer role: the summary lists the live checks as skipped and the status does not claim they passed', async () => {
    const p = project();
    p.roles.set(gl.botUser.id, 30); // Developer
    gl.addRunner(p.id, { description: 'deploy-box', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'not_protected' });
    const mr = deployMr(p);
    await reviewer({ cacheTtlSeconds: 60 }).review(job(mr));

    const st = finalStatus(mr);
    expect(st.description).toMatch(/live checks skipped \(not verified\)$/);
    expect(st.description).not.toBe('no findings');
    const body = summaryBody(mr);
    expect(body).toMatch(/Not verified \(skipped\): .*"A runner that is not protected could pick up a deploy job".* — needs Maintainer role on the project \(GET \/projects\/:id\/runners.*: the token lacks the role or scope \(403 Forbidden\)/);
    expect(body).toMatch(/Not verified \(skipped\): "A deploy job's environment is not a protected environment" — needs Maintainer role/);
    // A skipped check is named by its title, never by its rule id (an id reads as a finding).
    expect(body).not.toContain('deploy-runner-unprotected');
    // The headline carries the skip too, and no line says the live checks passed.
    expect(body).toMatch(/tierguard: .*live checks skipped \(not verified\)/);
    expect(body).not.toMatch(/Live check `[^`]+` skipped/);
    expect(calls('GET', `/projects/${p.id}/runners`)).toBe(1);
    expect(gl.requests.find((r) => r.path === `/projects/${p.id}/runners`)!.status).toBe(403);
  });

  it('two MRs of the same project within the TTL cost one runner listing; with TTL 0 each pays its own', async () => {
    const p = project();
    const runner = gl.addRunner(p.id, { description: 'deploy-box', tag_list: ['ci-deploy-prod'], run_untagged: false, access_level: 'ref_protected' });
    const cached = reviewer(liveOptionsFromConfig(loadConfig({ GITLAB_URL: gl.url, GITLAB_TOKEN: gl.token, WEBHOOK_SECRET: SECRET, LIVE_CACHE_TTL_SECONDS: '60' })));
    const a = deployMr(p);
    const b = deployMr(p);
    expect((await cached.review(job(a))).result).toBe('success');
    expect((await cached.review(job(b))).result).toBe('success');
    expect(calls('GET', `/projects/${p.id}/runners`)).toBe(1);
    expect(calls('GET', `/runners/${runner.id}`)).toBe(1);
    expect(calls('GET', `/projects/${p.id}/protected_environments`)).toBe(1);

    const uncached = reviewer({ cacheTtlSeconds: 0 });
    const c = deployMr(p);
    const d = deployMr(p);
    await uncached.review(job(c));
    await uncached.review(job(d));
    expect(calls('GET', `/projects/${p.id}/runners`)).toBe(3);
  });

  it('an MR without a deploy job reads no runners', async () => {
    const p = project();
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': CLEAN_CI.replace('make test', 'make test lint') }, headPipeline: true });
    expect((await reviewer({}).review(job(mr))).result).toBe('success');
    // Untagged-job notes need the runner list only for untagged jobs; CLEAN_CI's job is tagged.
    expect(calls('GET', `/projects/${p.id}/runners`)).toBe(0);
  });
});
