/**
 * One policy, one runner config.toml: `tierguard lint` and the merge request give the same
 * verdict (policy exceptions apply to runner rules in both).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createGitLabApi } from '../../src/gitlab/client.js';
import { createPolicyLoader } from '../../src/server/policies.js';
import { createReviewer } from '../../src/server/review-mr.js';
import { startFakeGitLab, type FakeGitLab } from '../support/fake-gitlab.js';
import { CLEAN_CI } from './helpers.js';

const TOML = `concurrent = 2

[[runners]]
  name = "general-docker"
  url = "https://gitlab.example.com"
  token = "REDACTED"
  executor = "docker"
  [runners.docker]
    image = "alpine:3.20"
    privileged = true
    network_mode = "host"
`;
const POLICY = `version: 1
exceptions:
  - rule: runner-privileged
    file: ci/runner/config.toml
    reason: "legacy dind builds, INFRA-7"
    expires: 2099-01-01
  - rule: runner-network-host
    file: ci/runner/config.toml
    reason: "legacy, INFRA-8"
    expires: 2099-01-01
`;

let gl: FakeGitLab;
beforeEach(async () => {
  gl = await startFakeGitLab();
});
afterEach(async () => {
  await gl.close();
});

describe('runner rules with policy exceptions', () => {
  it('give the same blocking count in the CLI and in the MR', async () => {
    const policies = mkdtempSync(path.join(tmpdir(), 'tg-parity-'));
    writeFileSync(path.join(policies, 'default.yaml'), POLICY);
    const checkout = mkdtempSync(path.join(tmpdir(), 'tg-parity-co-'));
    mkdirSync(path.join(checkout, 'ci', 'runner'), { recursive: true });
    writeFileSync(path.join(checkout, '.gitlab-ci.yml'), CLEAN_CI);
    writeFileSync(path.join(checkout, 'ci', 'runner', 'config.toml'), TOML);

    let out = '';
    const code = await main(['lint', '--format', 'json', '--policy', policies, checkout], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} }, cwd: checkout, env: {} });
    const cli = JSON.parse(out) as { findings: { ruleId: string; blocking: boolean }[] };
    const cliBlocking = cli.findings.filter((f) => f.blocking).map((f) => f.ruleId).sort();

    const p = gl.addProject({ path: 'acme/app' });
    p.roles.set(gl.botUser.id, 30);
    const mr = gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': CLEAN_CI, 'ci/runner/config.toml': TOML }, headPipeline: true });
    const reviewer = createReviewer({ api: createGitLabApi({ url: gl.url, token: gl.token }), logger: pino({ level: 'silent' }), policies: createPolicyLoader(policies), paceMs: 0 });
    const outcome = await reviewer.review({ projectId: p.id, mrIid: mr.iid, sha: mr.headSha, reason: 'x', deliveryId: 'd', receivedAt: 0 });

    expect(cli.findings.some((f) => f.ruleId === 'runner-privileged' && !f.blocking)).toBe(true);
    expect(outcome).toMatchObject({ blocking: cliBlocking.length });
    expect(code === 0).toBe(cliBlocking.length === 0);
    expect(outcome.result === 'success').toBe(cliBlocking.length === 0);
  });
});
