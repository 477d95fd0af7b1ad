import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const checkout = path.join(here, '..', 'fixtures', 'cli', 'checkout');
const root = path.join(here, '..', '..');

async function run(args: string[], cwd = checkout): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, cwd, env: {} });
  return { code, out, err };
}

function tempCheckout(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-cli-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('tierguard jobs', () => {
  it('lists resolved jobs with stage, tags, image and where they were defined', async () => {
    const r = await run(['jobs']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^JOB\s+STAGE\s+TAGS\s+IMAGE\s+DEFINED AT$/);
    expect(lines.find((l) => l.startsWith('deploy-prod'))).toMatch(/deploy-prod\s+deploy\s+ci-deploy-prod\s+alpine:3\.20\s+\.gitlab-ci\.yml:26/);
    expect(r.out).toContain('3 jobs, 2 hidden, from 2 files');
  });

  it('explains provenance in JSON: tags of build come from .build_base via extends', async () => {
    const r = await run(['jobs', '--format', 'json']);
    const data = JSON.parse(r.out);
    const build = data.jobs.find((j: { name: string }) => j.name === 'build');
    expect(build.tags).toEqual(['ci-build']);
    expect(build.origins.tags).toMatchObject({ file: 'ci/templates.yml', line: 2 });
    expect(build.origins.tags.via).toContain('from `.build_base` via `extends`');
  });

  it('names external includes it could not read offline', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': "include:\n  - project: grp/lib\n    ref: v1.0.0\n    file: ci.yml\n  - template: Jobs/SAST.gitlab-ci.yml\nb:\n  script: x\n" });
    const r = await run(['jobs'], dir);
    expect(r.out).toContain('not read offline: project grp/lib ci.yml@v1.0.0 (.gitlab-ci.yml:2)');
    expect(r.out).toContain('not read offline: template Jobs/SAST.gitlab-ci.yml (.gitlab-ci.yml:5)');
  });
});

describe('tierguard jobs: lint options, child pipelines, unread parts', () => {
  it('accepts --default-branch and --contexts (the default branch decides the trusted contexts)', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': 'release:\n  tags: [ci-general]\n  rules:\n    - if: $CI_COMMIT_BRANCH == "master"\n  script: make\n' });
    const r = await run(['jobs', '--default-branch', 'master', '--contexts'], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Trust contexts (default branch master):');
    expect(r.out).toMatch(/\nrelease\s+·\s+·\s+·\s+·\s+·\s+✓\s+·\s+·\s+✓\n/);
    const j = JSON.parse((await run(['jobs', '--default-branch', 'master', '--format', 'json'], dir)).out);
    expect(j.jobs[0].contexts).toEqual({ untrusted: [], trusted: ['default-branch', 'schedule'] });
  });

  it('lists child pipeline jobs under their trigger job, and prints a component version once', async () => {
    const dir = tempCheckout({
      '.gitlab-ci.yml':
        'include:\n  - component: gitlab.com/grp/release-service/publish@master\nbuild:\n  tags: [ci-general]\n  script: make\nchild:\n  trigger:\n    include: ci/child.yml\nbuild-child:\n  script: x\n',
      'ci/child.yml': 'child-a:\n  script: a\nchild-b:\n  script: b\n',
    });
    const r = await run(['jobs'], dir);
    const lines = r.out.split('\n');
    const at = lines.findIndex((l) => l.startsWith('child '));
    expect(lines.slice(at, at + 4).map((l) => l.split(/\s+/)[0] === '└' ? l.split(/\s+/).slice(0, 2).join(' ') : l.split(/\s+/)[0])).toEqual(['child', '└ child-a', '└ child-b', 'build-child']);
    expect(r.out).toContain('3 jobs (+2 in child pipelines)');
    expect(r.out).toContain('not read offline: component gitlab.com/grp/release-service/publish@master (.gitlab-ci.yml:2)');
    expect(r.out).not.toContain('@master@master');
    const ctx = await run(['lint', '--contexts'], dir);
    expect(ctx.out).toMatch(/\n└ child-a\s/);
  });
});

describe('tierguard jobs without contexts', () => {
  it('lists the same jobs, counts and notes as with --contexts, which alone evaluates the trust contexts', async () => {
    const dir = tempCheckout({
      '.gitlab-ci.yml':
        'include:\n  - local: ci/missing.yml\n  - project: grp/lib\n    file: ci.yml\nbuild:\n  extends: .from-lib\n  script: make\nchild:\n  trigger:\n    include: ci/child.yml\n',
      'ci/child.yml': 'child-a:\n  extends: .elsewhere\n  script: a\nchild-b:\n  script: b\n',
    });
    for (const extra of [[], ['-v']]) {
      const plain = await run(['jobs', ...extra], dir);
      const withContexts = await run(['jobs', ...extra, '--contexts'], dir);
      expect(plain.code).toBe(withContexts.code);
      expect(plain.out).toContain('note: ');
      const [before, after] = withContexts.out.split(/\nTrust contexts \(default branch main\):\n/);
      expect(before && after).toBeTruthy();
      // The table ends where the summary line starts.
      expect(plain.out).toBe(`${before}\n${after!.slice(after!.indexOf('2 jobs'))}`);
    }
    // A policy named on the command line is still read (a bad one is still an error).
    expect((await run(['jobs', '--policy', path.join(dir, 'no-such-policies')], dir)).code).toBe(2);
  });
});

describe('tierguard lint', () => {
  it('exits 2 on a usage error', async () => {
    expect((await run(['lint', '--format', 'xml'])).code).toBe(2);
    expect((await run(['lint', '--format', 'xml'])).err).toContain('--format must be one of text, json, sarif, codequality (got "xml")');
    expect((await run(['jobs', '--format', 'sarif'])).err).toContain('--format must be text or json (got "sarif")');
    expect((await run(['lint', 'does-not-exist'])).err).toContain('does-not-exist: no such file or directory');
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('exits 1 with a compiler-like message, rule id and caret for a blocking finding', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': 'build:\n  stage: nope\n  script: make\n' });
    const r = await run(['lint'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('.gitlab-ci.yml:2:10: error: GitLab would reject this configuration: jobs:build chosen stage nope does not exist');
    expect(r.out).toContain('[ci-config-invalid]');
    expect(r.out).toMatch(/\n\s+\|\s+\^~~~\n/);
  });

  it('prints the JSON shape of the spec', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': 'build:\n  stage: nope\n  script: make\n' });
    const r = await run(['lint', '--format', 'json'], dir);
    const data = JSON.parse(r.out);
    const invalid = data.findings.find((f: { ruleId: string }) => f.ruleId === 'ci-config-invalid');
    expect(Object.keys(invalid)).toEqual(
      expect.arrayContaining(['ruleId', 'severity', 'blocking', 'message', 'file', 'line', 'column', 'endLine', 'endColumn', 'job', 'fingerprint']),
    );
    expect(invalid).toMatchObject({ ruleId: 'ci-config-invalid', severity: 'error', blocking: true, file: '.gitlab-ci.yml', line: 2, column: 10, job: 'build' });
    // The untagged job is a warning as well.
    expect(data.findings.map((f: { ruleId: string }) => f.ruleId).sort()).toEqual(['ci-config-invalid', 'untagged-job']);
    expect(data.summary).toMatchObject({ errors: 1, warnings: 1 });
  });

  it('prints the job x trust-context table with --contexts', async () => {
    const r = await run(['lint', '--contexts']);
    const table = r.out.split('\n');
    const testRow = table.find((l) => l.startsWith('test '));
    const deployRow = table.find((l) => l.startsWith('deploy-prod '));
    // `test` runs for merge requests (rule 1) and on the default branch (rule 2), not on other branches.
    expect(testRow?.split(/\s+/).slice(1, 4)).toEqual(['✓', '✓', '·']);
    // No rules: branches and tags, never merge request pipelines.
    expect(deployRow?.split(/\s+/).slice(1, 4)).toEqual(['·', '·', '✓']);
  });

  it('reports an invalid policy file with exit 2 and its position', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': 'b:\n  script: x\n', 'policies/default.yaml': 'rules:\n  untagged-job: fatal\n' });
    const r = await run(['lint'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/default\.yaml:2:\d+: rules\.untagged-job/);
  });

  it('emits SARIF and Code Quality', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': 'build:\n  stage: nope\n  script: make\n' });
    const sarif = JSON.parse((await run(['lint', '--format', 'sarif'], dir)).out);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toContain('ci-config-invalid');
    const cq = JSON.parse((await run(['lint', '--format', 'codequality'], dir)).out);
    expect(cq.find((i: { check_name: string }) => i.check_name === 'ci-config-invalid')).toMatchObject({
      severity: 'blocker',
      location: { path: '.gitlab-ci.yml', lines: { begin: 2 } },
    });
  });
});

describe('tierguard rules / explain / check-runner', () => {
  it('lists the catalogue and explains a rule', async () => {
    const r = await run(['rules']);
    expect(r.out).toMatch(/ci-config-invalid\s+error\s+GitLab would reject/);
    expect(r.out).toMatch(/runner-privileged\s+error/);
    expect((await run(['explain', 'runner-privileged'])).out).toMatch(/^# runner-privileged/);
    expect((await run(['explain', 'nope'])).code).toBe(2);
  });

  it('judges a runner config.toml and reports broken TOML with exit 2', async () => {
    const dir = tempCheckout({
      'config.toml': '[[runners]]\n  name = "shared"\n  executor = "shell"\n',
      'broken.toml': '[[runners]]\n  name = "x\n',
    });
    const r = await run(['check-runner', 'config.toml'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/config\.toml:3:\d+: error: .*\[runner-shell-executor\]/);
    const b = await run(['check-runner', 'broken.toml'], dir);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/broken\.toml:2:\d+: invalid TOML/);
    expect(b.err).not.toMatch(/\n\s+at /);
  });

  // Only SARIF reads the rule catalogue in check-runner (its rule descriptors list every rule).
  it('lists every rule of the catalogue in SARIF, and none in the other formats', async () => {
    const dir = tempCheckout({ 'config.toml': '[[runners]]\n  name = "shared"\n  executor = "shell"\n' });
    const sarif = JSON.parse((await run(['check-runner', '--format', 'sarif', 'config.toml'], dir)).out);
    const driver = sarif.runs[0].tool.driver;
    expect(driver.rules.map((r: { id: string }) => r.id)).toEqual(allRuleMetas().map((m) => m.id));
    expect(sarif.runs[0].results[0]).toMatchObject({ ruleId: 'runner-shell-executor', ruleIndex: allRuleMetas().findIndex((m) => m.id === 'runner-shell-executor') });
    const json = JSON.parse((await run(['check-runner', '--format', 'json', 'config.toml'], dir)).out);
    expect(json.findings.map((f: { ruleId: string }) => f.ruleId)).toContain('runner-shell-executor');
  });
});

describe('the installed bin', () => {
  it('runs `tierguard jobs` from the built package (what npx runs)', async () => {
    // `jobs` keeps a code cache (src/cli/compile-cache.ts): this run's goes to a folder of its own.
    const cache = mkdtempSync(path.join(tmpdir(), 'tierguard-cli-cache-'));
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'bin', 'tierguard.js'), 'jobs', checkout], { env: { ...process.env, TIERGUARD_COMPILE_CACHE: cache } });
    rmSync(cache, { recursive: true, force: true });
    expect(stdout).toContain('deploy-prod');
  });
});

describe('tierguard lint live checks flags', () => {
  it('needs both --gitlab-url and --project, an http(s) URL and GITLAB_TOKEN', async () => {
    expect((await run(['lint', '--project', 'g/p'])).err).toContain('need both --gitlab-url URL and --project PATH');
    expect((await run(['lint', '--gitlab-url', 'ftp://x', '--project', 'g/p'])).err).toContain('must be an http(s) URL');
    const r = await run(['lint', '--gitlab-url', 'https://gitlab.example.com', '--project', 'g/p']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('GITLAB_TOKEN');
  });

  it('lists live rules in the catalogue', async () => {
    const r = await run(['rules']);
    expect(r.out).toMatch(/live rules\n/);
    expect(r.out).toMatch(/deploy-runner-unprotected\s+error/);
  });
});

describe('end to end on a realistic pipeline', () => {
  const policies = path.join(here, '..', 'fixtures', 'cli', 'policies');
  const summary = (out: string) =>
    JSON.parse(out).findings.map((f: { ruleId: string; file: string; line: number; column: number; job: string; severity: string }) => `${f.ruleId} ${f.file}:${f.line}:${f.column} ${f.job} ${f.severity}`);

  it('reports each trust problem once, at the line that causes it, including values from includes', async () => {
    const r = await run(['lint', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(summary(r.out)).toEqual([
      'deploy-implicit-artifacts .gitlab-ci.yml:26:1 deploy-prod warning',
      'deploy-not-manual .gitlab-ci.yml:26:1 deploy-prod warning',
      // No rules: the deploy job runs for every branch and tag pipeline.
      'deploy-unprotected-ref .gitlab-ci.yml:30:11 deploy-prod error',
      // Tags come from the included templates: the findings point into that file.
      'deploy-tier-tag-misuse ci/templates.yml:2:10 build error',
      'deploy-tier-tag-misuse ci/templates.yml:7:10 deploy-prod error',
      'unpinned-image ci/templates.yml:8:10 deploy-prod warning',
    ]);
  });

  it('applies team overrides with --group: a re-rated rule blocks, an exception suppresses', async () => {
    const r = await run(['lint', '--format', 'json', '--policy', policies, '--group', 'acme/payments']);
    const data = JSON.parse(r.out);
    expect(summary(r.out)).toContain('deploy-not-manual .gitlab-ci.yml:26:1 deploy-prod error');
    const pinned = data.findings.find((f: { ruleId: string }) => f.ruleId === 'unpinned-image');
    expect(pinned).toMatchObject({ blocking: false, suppressed: { kind: 'exception', reason: 'digest pinning lands with the new registry, OPS-42' } });
    expect(data.summary).toMatchObject({ errors: 4, suppressed: 1 });
  });
});

describe('the installed bin in a pipeline', () => {
  it('ends quietly when the reader has closed the pipe (`tierguard rules | true`)', async () => {
    const { spawnSync } = await import('node:child_process');
    // `true` exits without reading, long before node has started: every write meets a closed pipe.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${path.join(root, 'bin', 'tierguard.js')}" rules | true; echo "status=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(r.stdout).toContain('status=0');
  });
});

describe('tierguard lint on a folder without a CI file', () => {
  it('is a usage error when there is nothing to judge', async () => {
    const dir = tempCheckout({ 'README.md': '# nothing here\n' });
    const r = await run(['lint'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no .gitlab-ci.yml and no runner configuration here');
  });

  it('judges the runner configuration alone and says so', async () => {
    const dir = tempCheckout({ 'ops/config.toml': '[[runners]]\n  name = "shared"\n  executor = "shell"\n' });
    const r = await run(['lint'], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/ops\/config\.toml:3:\d+: error: .*\[runner-shell-executor\]/);
    expect(r.out).toContain('note: .gitlab-ci.yml: not present; only runner configuration files were judged');
  });
});

describe('tierguard lint --strict and live checks against a GitLab', () => {
  const runEnv = async (args: string[], env: Record<string, string>, cwd: string) => {
    let out = '';
    let err = '';
    const code = await main(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, cwd, env });
    return { code, out, err };
  };
  const DEPLOY = 'deploy:\n  tags: [ci-deploy-prod]\n  environment: production\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n      when: manual\n  script: [./deploy.sh]\n';

  it('--strict turns an include it could not read into a blocking ci-config-unverified (exit 1); without it a note (exit 0)', async () => {
    const dir = tempCheckout({ '.gitlab-ci.yml': 'include:\n  - project: group/ci\n    ref: v1.0.0\n    file: build.yml\nbuild:\n  tags: [ci-general]\n  script: [make]\n' });
    const loose = await run(['lint', '--format', 'json', dir]);
    expect(loose.code).toBe(0);
    const strict = await run(['lint', '--strict', '--format', 'json', dir]);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.out).findings.map((f: { ruleId: string; line: number; column: number }) => `${f.ruleId}:${f.line}:${f.column}`)).toEqual(['ci-config-unverified:2:5']);
  });

  it('a project path with subgroups is resolved (and encoded) once, so the environment check runs; a rejected token exits 2', async () => {
    const { startFakeGitLab } = await import('../support/fake-gitlab.js');
    const gl = await startFakeGitLab();
    try {
      gl.addProject({ path: 'acme/payments/api' });
      const dir = tempCheckout({ '.gitlab-ci.yml': DEPLOY });
      const r = await runEnv(['lint', '--format', 'json', '--gitlab-url', gl.url, '--project', 'acme/payments/api', dir], { GITLAB_TOKEN: gl.token }, dir);
      const ids = JSON.parse(r.out).findings.map((f: { ruleId: string }) => f.ruleId);
      expect(ids).toContain('deploy-environment-unprotected');
      expect(r.out).not.toMatch(/deploy-environment-unprotected[^"]*skipped/);
      const bad = await runEnv(['lint', '--gitlab-url', gl.url, '--project', 'acme/payments/api', dir], { GITLAB_TOKEN: 'glpat-revoked-token-000' }, dir);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('rejected the token in GITLAB_TOKEN (401 Unauthorized)');
      expect(bad.out).toBe('');
      const missing = await runEnv(['lint', '--gitlab-url', gl.url, '--project', 'acme/nope', dir], { GITLAB_TOKEN: gl.token }, dir);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain('project acme/nope was not found');
    } finally {
      await gl.close();
    }
  });
});
