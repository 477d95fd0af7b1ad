/**
 * The bot on GitLab's permission rules (issue: least privilege, fail closed): the documented
 * Developer token reviews; what it cannot read degrades honestly; unread configuration never
 * passes; includes of projects the MR author cannot read are refused as GitLab would, and
 * nothing of them is posted; permanent errors end the job at once.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { createPolicyLoader } from '../../src/server/policies.js';
import type { ReviewJob } from '../../src/server/queue.js';
import { createReviewer, type Reviewer } from '../../src/server/review-mr.js';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest, type FakeProject } from '../support/fake-gitlab.js';
import { CLEAN_CI, policyDir } from './helpers.js';

let gl: FakeGitLab;
beforeEach(async () => {
  gl = await startFakeGitLab();
});
afterEach(async () => {
  await gl.close();
});

function reviewer(opts: { live?: boolean } = {}): Reviewer {
  const api = createGitLabApi({ url: gl.url, token: gl.token, retry: { retries: 1, baseMs: 1, maxMs: 2 }, timeoutMs: 5000, ambiguousSettleMs: 1 });
  return createReviewer({
    api,
    logger: pino({ level: 'silent' }),
    policies: createPolicyLoader(policyDir()),
    paceMs: 0,
    ...(opts.live ? { live: { cacheTtlSeconds: 0 } } : {}),
  });
}

let n = 0;
const job = (mr: FakeMergeRequest): ReviewJob => ({
  projectId: mr.projectId,
  mrIid: mr.iid,
  sha: mr.headSha,
  reason: 'merge_request:open',
  deliveryId: `lp-${(n += 1)}`,
  receivedAt: Date.now(),
});
const statuses = (mr: FakeMergeRequest) => gl.state.statuses.filter((s) => s.sha === mr.headSha && s.name === 'tierguard');
const final = (mr: FakeMergeRequest) => statuses(mr).at(-1)!;
const botNotes = (mr: FakeMergeRequest) => mr.discussions.flatMap((d) => d.notes).filter((x) => x.authorId === gl.botUser.id);
const summary = (mr: FakeMergeRequest) => botNotes(mr).find((x) => x.body.includes('<!-- tierguard:summary -->'))?.body ?? '';

/** A production deploy gated on `v*` tags: safe only if GitLab protects `v*`. */
const TAG_DEPLOY = `${CLEAN_CI}
deploy:
  stage: test
  tags: [ci-deploy-prod]
  environment: production
  needs: []
  rules:
    - if: $CI_COMMIT_TAG =~ /^v\\d/
      when: manual
  script:
    - ./deploy.sh
`;

function developerProject(path = 'acme/app'): FakeProject {
  const p = gl.addProject({ path });
  p.roles.set(gl.botUser.id, 30);
  return p;
}

describe('a Developer token', () => {
  it('reviews: protected tags fall back to the repository tags API, and the summary says so', async () => {
    const p = developerProject();
    p.protectedTags = ['v*'];
    p.repoTags = ['v1.0.0'];
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': TAG_DEPLOY }, headPipeline: true });
    await reviewer().review(job(mr));
    expect(final(mr).state).toBe('success');
    expect(gl.requests.find((r) => r.path === `/projects/${p.id}/protected_tags`)?.status).toBe(403);
    expect(gl.requests.some((r) => r.path === `/projects/${p.id}/repository/tags` && r.status === 200)).toBe(true);
    expect(summary(mr)).toContain("Protected tag rules not readable with this token's role");
    expect(summary(mr)).toContain('existing tags GitLab reports as protected (`v1.0.0`)');
  });

  it('with live checks on, protected-ref-assumed for tags is skipped (not verified) and the status says how many checks were skipped', async () => {
    const p = developerProject();
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': TAG_DEPLOY }, headPipeline: true });
    await reviewer({ live: true }).review(job(mr));
    expect(final(mr).description).toMatch(/live checks? skipped \(not verified\)$/);
    expect(summary(mr)).toMatch(/Not verified \(skipped\): .*"The pipeline relies on a branch or tag being protected that GitLab does not protect".* — needs Maintainer role on the project \(GET \/projects\/:id\/protected\\?_tags/);
    expect(botNotes(mr).some((x) => x.body.includes('protected-ref-assumed') && !x.body.includes('skipped'))).toBe(false);
  });
});

describe('protected-ref-assumed (Maintainer token)', () => {
  it('a deploy gated on v* tags where the project protects no tag is a blocking finding on the rule line', async () => {
    const p = gl.addProject({ path: 'acme/app' });
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': TAG_DEPLOY }, headPipeline: true });
    await reviewer({ live: true }).review(job(mr));
    expect(final(mr).state).toBe('failed');
    const d = mr.discussions.find((x) => x.notes[0].body.includes('protected-ref-assumed'));
    expect(d, 'an inline discussion for protected-ref-assumed').toBeDefined();
    expect(d!.notes[0].body).toMatch(/tag `v\\?\*`/);
    expect(d!.notes[0].body).toContain('deploy-unprotected-ref');
    expect(d!.notes[0].position?.new_line).toBe(15); // `- if: $CI_COMMIT_TAG =~ /^v\d/`
    expect(mr.discussions.filter((x) => x.notes[0].body.startsWith('<!-- tierguard:finding') && x.notes[0].body.includes('`protected-ref-assumed`'))).toHaveLength(1);
  });

  it('the same MR once GitLab protects v*: no finding, success', async () => {
    const p = gl.addProject({ path: 'acme/app' });
    gl.addGroup('acme');
    p.protectedTags = ['v*'];
    p.protectedEnvironments.push({ name: 'production', deploy_access_levels: [{ access_level: 40 }] });
    p.ciSettings = { ci_allow_fork_pipelines_to_run_in_parent_project: false, restrict_user_defined_variables: true, ci_pipeline_variables_minimum_override_role: 'maintainer' };
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': TAG_DEPLOY }, headPipeline: true });
    await reviewer({ live: true }).review(job(mr));
    expect(botNotes(mr).some((x) => x.body.includes('protected-ref-assumed'))).toBe(false);
    expect(final(mr).state).toBe('success');
  });
});

describe('fail closed on configuration that could not be read', () => {
  it('include:remote from a host that is not allowlisted: ci-config-unverified on the include, status failed', async () => {
    const p = developerProject();
    const ci = `include:\n  - remote: https://templates.example.net/ci.yml\n    integrity: sha256-L3/GAoKaw0Arw6hDCKeKQlV1QPEgHYxGBHsH4zG1IY8=\n${CLEAN_CI}`;
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': ci }, headPipeline: true });
    await reviewer().review(job(mr));
    expect(final(mr).state).toBe('failed');
    const d = mr.discussions.find((x) => x.notes[0].body.includes('ci-config-unverified'));
    expect(d!.notes[0].body).toContain('host not allowlisted');
    expect(d!.notes[0].position?.new_line).toBe(2);
  });

  it('include:project the bot cannot see (404): unverified, never success', async () => {
    const p = developerProject();
    const hidden = gl.addProject({ path: 'secret/templates', files: { 'ci.yml': 'x:\n  script: [echo]\n' } });
    hidden.roles.set(gl.botUser.id, 0);
    const ci = `include:\n  - project: secret/templates\n    ref: v1\n    file: ci.yml\n${CLEAN_CI}`;
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': ci }, headPipeline: true });
    await reviewer().review(job(mr));
    expect(final(mr).state).toBe('failed');
    expect(mr.discussions.some((x) => x.notes[0].body.includes('ci-config-unverified'))).toBe(true);
  });
});

describe('no confused deputy', () => {
  it('include:project of a private project the MR author cannot read: GitLab\'s message as ci-config-invalid, and nothing of the file is read or posted', async () => {
    const author = gl.addUser('mallory');
    const p = developerProject();
    p.roles.set(author.id, 30);
    const secret = gl.addProject({ path: 'infra/deploy-secrets', files: { 'prod.yml': 'leak_job_SUPERSECRET:\n  variables: { HIDDEN_VAR_NAME: x }\n  script: [echo]\n' } });
    secret.roles.set(author.id, 0);
    const ci = `include:\n  - project: infra/deploy-secrets\n    ref: main\n    file: prod.yml\n${CLEAN_CI}`;
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': ci }, headPipeline: true, authorId: author.id });
    await reviewer().review(job(mr));
    expect(final(mr).state).toBe('failed');
    const all = botNotes(mr).map((x) => x.body).join('\n') + statuses(mr).map((s) => s.description).join('\n');
    expect(all).toMatch(/Project `infra\/deploy-secrets` not found or access denied\\?!/);
    expect(all).toContain('ci-config-invalid');
    for (const leak of ['leak_job_SUPERSECRET', 'HIDDEN_VAR_NAME', 'prod.yml:']) expect(all).not.toContain(leak);
    expect(gl.requests.some((r) => /^\/projects\/(infra%2Fdeploy-secrets|\d+)\/repository\/files\/prod/.test(r.path))).toBe(false);
  });

  it('the same include when the author is a Reporter of that project is read and judged', async () => {
    const author = gl.addUser('reporter');
    const p = developerProject();
    const lib = gl.addProject({ path: 'infra/templates', files: { 'ci.yml': 'lint:\n  tags: [ci-general]\n  script: [make lint]\n' } });
    lib.roles.set(author.id, 20);
    const ci = `include:\n  - project: infra/templates\n    ref: main\n    file: ci.yml\n${CLEAN_CI}`;
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': ci }, headPipeline: true, authorId: author.id });
    await reviewer().review(job(mr));
    expect(gl.requests.some((r) => r.path.startsWith('/projects/infra%2Ftemplates/repository/files') && r.status === 200)).toBe(true);
    expect(botNotes(mr).some((x) => x.body.includes('access denied'))).toBe(false);
  });
});

describe('permanent errors', () => {
  it('a 403 on the discussions list ends the review at once with one failed status, not one per attempt', async () => {
    const p = developerProject();
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': TAG_DEPLOY }, headPipeline: true });
    // A note on the MR: tierguard reads the list (an MR without user notes has nothing to list).
    gl.addNote(p.id, mr.iid, 'looks good', gl.addUser('reviewer').id);
    gl.failNext(new RegExp(`^GET /projects/${p.id}/merge_requests/${mr.iid}/discussions$`), { status: 403, count: 10 });
    const outcome = await reviewer().review(job(mr));
    expect(outcome.result).toBe('refused');
    const failed = statuses(mr).filter((s) => s.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.description).toMatch(/could not evaluate: .*403/);
  });
});
