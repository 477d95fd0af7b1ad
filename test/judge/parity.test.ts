/**
 * One judgment: `tierguard lint` (lintTargets over a checkout) and the merge-request service
 * (the reviewer against the fake GitLab, and the judge() call it makes with a GitLab config
 * source) give the same findings for every CI and runner config fixture, under one policy with
 * exceptions for pipeline and runner rules (and an expired one).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTargets } from '../../src/cli/lint.js';
import { main } from '../../src/cli/main.js';
import { summarize, type Finding } from '../../src/findings/finding.js';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { FileCache, GitLabConfigSource } from '../../src/gitlab/config-source.js';
import { judge } from '../../src/judge/judge.js';
import { liveRuleMetas } from '../../src/live/catalogue.js';
import { readProtectedRefs, withProtectedRefs } from '../../src/live/protected-refs.js';
import { createPolicyLoader } from '../../src/server/policies.js';
import { createReviewer } from '../../src/server/review-mr.js';
import { startFakeGitLab, type FakeGitLab, type FileTree } from '../support/fake-gitlab.js';

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures');
const read = (rel: string) => readFileSync(path.join(FIXTURES, rel), 'utf8');
const TODAY = new Date('2026-06-01T12:00:00Z');

/** Where a runner config sits in the checkout (not under a `fixtures` folder: the CLI skips those). */
const RUNNER_AT = 'ops/runner/config.toml';
const VALUES_AT = 'ops/runner/values.yaml';

const POLICY = `version: 1
protected:
  branches: [release/*]
exceptions:
${[
  'runner-privileged',
  'runner-network-host',
  'runner-host-mount',
  'runner-shell-executor',
  'runner-tls-verify-disabled',
  'runner-shared-cache',
  'runner-pull-policy',
  'runner-token-committed',
  'runner-persistent-builds',
  'runner-k8s-limits',
  'runner-k8s-namespace',
]
  .map((rule) => `  - rule: ${rule}\n    file: ${RUNNER_AT}\n    reason: "legacy runner, INFRA-7"\n    expires: 2099-01-01`)
  .join('\n')}
  - rule: unpinned-image
    file: .gitlab-ci.yml
    reason: "images pinned by the registry mirror, SEC-12"
    expires: 2099-01-01
  - rule: untagged-job
    job: build
    reason: "expired on purpose"
    expires: 2026-01-01
`;

interface Case {
  name: string;
  files: FileTree;
}

function cases(): Case[] {
  const out: Case[] = [];
  const checkout = { '.gitlab-ci.yml': read('cli/checkout/.gitlab-ci.yml'), 'ci/templates.yml': read('cli/checkout/ci/templates.yml') };
  out.push({ name: 'cli checkout', files: checkout });
  for (const f of readdirSync(path.join(FIXTURES, 'precision')).sort()) out.push({ name: `precision/${f}`, files: { '.gitlab-ci.yml': read(`precision/${f}`) } });
  for (const f of readdirSync(path.join(FIXTURES, 'runner')).sort()) {
    const at = f.endsWith('.toml') ? RUNNER_AT : VALUES_AT;
    out.push({ name: `runner/${f}`, files: { ...checkout, [at]: read(`runner/${f}`) } });
  }
  return out;
}

/** What a verdict is made of, per finding. */
const verdict = (findings: readonly Finding[]) =>
  findings
    .map((f) => [f.ruleId, f.location.file, f.location.line, f.location.column, f.severity, f.blocking, f.suppressed?.kind ?? '-'].join(' '))
    .sort();

let gl: FakeGitLab;
let policyDir: string;
beforeAll(async () => {
  gl = await startFakeGitLab();
  policyDir = mkdtempSync(path.join(tmpdir(), 'tg-judge-policy-'));
  writeFileSync(path.join(policyDir, 'default.yaml'), POLICY);
});
afterAll(async () => {
  await gl.close();
});

describe('one judgment for the CLI and the service', () => {
  for (const c of cases()) {
    it(`${c.name}: the same findings and the same verdict`, async () => {
      const policy = createPolicyLoader(policyDir).forGroup('acme');
      const dir = mkdtempSync(path.join(tmpdir(), 'tg-judge-co-'));
      for (const [file, text] of Object.entries(c.files)) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), text);
      }
      // The service judges strictly (unread configuration blocks): so does `tierguard lint --strict`.
      const cli = await lintTargets([dir], dir, { policy, defaultBranch: 'main', today: TODAY, strict: true });

      const p = gl.addProject({ path: `acme/app-${Math.random().toString(36).slice(2, 8)}` });
      p.roles.set(gl.botUser.id, 40);
      const mr = gl.addMergeRequest(p.id, { base: { 'README.md': 'x\n' }, head: c.files, headPipeline: true });
      const api = createGitLabApi({ url: gl.url, token: gl.token });

      // The judge() call the service makes, with the service's GitLab config source and protected refs.
      const servicePolicy = withProtectedRefs(policy, await readProtectedRefs(api, p.id));
      const runnerFiles = await Promise.all(
        Object.keys(c.files)
          .filter((f) => f.startsWith('ops/'))
          .map(async (f) => ({ path: f, text: (await api.getRawFile(p.id, f, mr.headSha))! })),
      );
      const service = await judge({
        policy: servicePolicy,
        ci: { source: new GitLabConfigSource({ api, projectId: p.id, sha: mr.headSha, cache: new FileCache(), remote: { allowedHosts: servicePolicy.remoteIncludeHosts }, pipelineUserId: mr.authorId }), rootFile: '.gitlab-ci.yml' },
        runnerFiles,
        defaultBranch: 'main',
        today: TODAY,
        strict: true,
      });
      expect(verdict(service.findings)).toEqual(verdict(cli.findings));

      // And the review itself: every finding is new (the base has no CI), so its counts are the CLI's.
      const reviewer = createReviewer({ api, logger: pino({ level: 'silent' }), policies: createPolicyLoader(policyDir), paceMs: 0, today: () => TODAY });
      const outcome = await reviewer.review({ projectId: p.id, mrIid: mr.iid, sha: mr.headSha, reason: 'merge_request:open', deliveryId: 'd', receivedAt: 0 });
      const counts = summarize(cli.findings);
      expect(outcome).toMatchObject({ result: counts.blocking > 0 ? 'failed' : 'success', blocking: counts.blocking, warnings: counts.warnings });
    });
  }

  it('the issue case: one policy, one config.toml with 11 findings, 0 blocking and 11 suppressed in both', async () => {
    const policy = createPolicyLoader(policyDir).forGroup('acme');
    const files = { '.gitlab-ci.yml': read('cli/checkout/.gitlab-ci.yml'), 'ci/templates.yml': read('cli/checkout/ci/templates.yml'), [RUNNER_AT]: read('runner/realistic-bad.toml') };
    const dir = mkdtempSync(path.join(tmpdir(), 'tg-judge-issue-'));
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    const cli = await lintTargets([dir], dir, { policy, defaultBranch: 'main', today: TODAY, strict: true });
    const runner = cli.findings.filter((f) => f.location.file === RUNNER_AT);
    expect(runner).toHaveLength(11);
    expect(runner.every((f) => f.suppressed?.kind === 'exception' && !f.blocking)).toBe(true);

    const p = gl.addProject({ path: 'acme/issue-13' });
    p.roles.set(gl.botUser.id, 40);
    // The base has the same CI files: only the runner config is new in the MR.
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': files['.gitlab-ci.yml'], 'ci/templates.yml': files['ci/templates.yml'] }, head: files, headPipeline: true });
    const reviewer = createReviewer({ api: createGitLabApi({ url: gl.url, token: gl.token }), logger: pino({ level: 'silent' }), policies: createPolicyLoader(policyDir), paceMs: 0, today: () => TODAY });
    const outcome = await reviewer.review({ projectId: p.id, mrIid: mr.iid, sha: mr.headSha, reason: 'merge_request:open', deliveryId: 'd', receivedAt: 0 });
    expect(summarize(runner)).toMatchObject({ blocking: 0, warnings: 0, suppressed: 11 });
    // The MR: the runner findings are suppressed there too (the CI files are unchanged, so their
    // findings do not block); the warnings are the CLI's.
    expect(outcome).toMatchObject({ result: 'success', blocking: 0, warnings: summarize(cli.findings).warnings });
    const summary = gl
      .getMergeRequest(p.id, mr.iid)
      .discussions.flatMap((d) => d.notes)
      .find((n) => n.body.includes('tierguard'))?.body;
    expect(summary).toContain('11 suppressed');
  });
});

describe('one live route for the CLI and the service', () => {
  const LIVE_IDS = new Set(liveRuleMetas().map((m) => m.id));
  const DEPLOY = `stages: [build, deploy]
build:
  stage: build
  tags: [ci-general]
  script: [make]
deploy:
  stage: deploy
  image: alpine@sha256:${'a'.repeat(64)}
  tags: [ci-deploy-prod]
  environment: production
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
  script: [./deploy.sh]
`;

  it('`lint --gitlab-url` and the review report the same live findings, read through judge()', async () => {
    const p = gl.addProject({ path: `acme/live-${Math.random().toString(36).slice(2, 8)}` });
    p.roles.set(gl.botUser.id, 40);
    // A shared runner takes the deploy tag on any ref, and production is not a protected environment.
    gl.addRunner(null, { description: 'shared-docker', tag_list: ['ci-deploy-prod', 'ci-general'], run_untagged: false });

    const dir = mkdtempSync(path.join(tmpdir(), 'tg-judge-live-'));
    writeFileSync(path.join(dir, '.gitlab-ci.yml'), DEPLOY);
    let out = '';
    let err = '';
    const code = await main(['lint', '--strict', '--format', 'json', '--policy', policyDir, '--group', 'acme', '--gitlab-url', gl.url, '--project', p.pathWithNamespace, dir], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      cwd: dir,
      env: { GITLAB_TOKEN: gl.token },
    });
    expect(err).toBe('');
    const cliFindings = JSON.parse(out).findings as { ruleId: string; severity: string }[];
    const cliLive = cliFindings.map((f) => f.ruleId).filter((id) => LIVE_IDS.has(id)).sort();
    expect(cliLive).toEqual(expect.arrayContaining(['deploy-environment-unprotected', 'deploy-runner-unprotected']));

    const mr = gl.addMergeRequest(p.id, { base: { 'README.md': 'x\n' }, head: { '.gitlab-ci.yml': DEPLOY }, headPipeline: true });
    const reviewer = createReviewer({ api: createGitLabApi({ url: gl.url, token: gl.token }), logger: pino({ level: 'silent' }), policies: createPolicyLoader(policyDir), paceMs: 0, today: () => TODAY, live: { cacheTtlSeconds: 60 } });
    const outcome = await reviewer.review({ projectId: p.id, mrIid: mr.iid, sha: mr.headSha, reason: 'merge_request:open', deliveryId: 'd', receivedAt: 0 });
    const blocking = cliFindings.filter((f) => f.severity === 'error').length;
    expect(code).toBe(blocking > 0 ? 1 : 0);
    expect(outcome).toMatchObject({ result: blocking > 0 ? 'failed' : 'success', blocking });
    const said = gl
      .getMergeRequest(p.id, mr.iid)
      .discussions.flatMap((d) => d.notes)
      .map((n) => n.body)
      .join('\n');
    const reviewLive = [...LIVE_IDS].filter((id) => said.includes(id)).sort();
    expect(reviewLive).toEqual([...new Set(cliLive)]);
  });
});
