/** `tierguard audit` from the command line: outputs, the idempotent issue, SARIF per project. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { renderAuditMarkdown, auditMarker } from '../../src/audit/render-markdown.js';
import type { AuditReport } from '../../src/audit/types.js';
import { RUNNER_TOML, auditOf, startScenario, type Scenario } from './scenario.js';
import { defined } from '../support/defined.js';

function cli(cwd: string, env: NodeJS.ProcessEnv) {
  const out = { stdout: '', stderr: '' };
  const io = { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) }, cwd, env };
  return { out, run: (args: string[]) => main(args, io) };
}

describe('tierguard audit (CLI)', () => {
  let s: Scenario;
  let dir: string;
  beforeEach(async () => {
    s = await startScenario();
    dir = mkdtempSync(path.join(tmpdir(), 'tg-audit-cli-'));
    writeFileSync(path.join(dir, 'build.toml'), RUNNER_TOML(true));
  });
  afterEach(async () => {
    await s.gl.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints Markdown, writes JSON, HTML and one SARIF per project, exits 1 on error-level problems, never prints the token', async () => {
    const { out, run } = cli(dir, { GITLAB_TOKEN: s.gl.token });
    const code = await run(['audit', '--gitlab-url', s.gl.url, '--group', 'acme', '--runner-config', 'build.toml', '--json', 'r.json', '--html', 'r.html', '--sarif-dir', 'sarif']);
    expect(code).toBe(1);
    expect(out.stdout).toContain(auditMarker('acme'));
    expect(out.stdout).toContain('`mixed-trust`');
    expect(out.stdout).toContain('| #');
    expect(out.stderr).toMatch(/audit: 5\/5 projects/);
    const report = JSON.parse(readFileSync(path.join(dir, 'r.json'), 'utf8')) as AuditReport;
    expect(report.schema).toBe('tierguard-audit/1');
    expect(report.summary.problems).toMatchObject({ errors: 4, warnings: 0 });
    expect(readFileSync(path.join(dir, 'r.html'), 'utf8')).toContain('<svg');
    expect(readdirSync(path.join(dir, 'sarif')).sort()).toEqual(['acme__api.sarif', 'acme__payments.sarif', 'acme__platform__images.sarif', 'acme__web.sarif']);
    const sarif = JSON.parse(readFileSync(path.join(dir, 'sarif', 'acme__payments.sarif'), 'utf8')) as { runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }> };
    const env = defined(sarif.runs[0]?.results.find((x) => x.ruleId === 'audit-deploy-environment-unprotected'), 'the SARIF result');
    expect(env.locations[0]?.physicalLocation).toMatchObject({ artifactLocation: { uri: '.gitlab-ci.yml' }, region: { startLine: 8 } });
    for (const text of [out.stdout, out.stderr, readFileSync(path.join(dir, 'r.json'), 'utf8'), readFileSync(path.join(dir, 'r.html'), 'utf8')]) expect(text).not.toContain(s.gl.token);
  });

  it('keeps one issue up to date (--issue), and shows progress against --baseline', async () => {
    const { out, run } = cli(dir, { GITLAB_TOKEN: s.gl.token });
    const args = ['audit', '--gitlab-url', s.gl.url, '--group', 'acme', '--runner-config', 'build.toml', '--issue', 'acme/web', '--json', 'first.json'];
    await run(args);
    expect(out.stderr).toMatch(/issue acme\/web#1 created/);
    expect(s.gl.issues).toHaveLength(1);
    expect(s.gl.issues[0]).toMatchObject({ title: 'tierguard audit: acme (4 errors, 0 warnings)', authorId: s.gl.base.botUser.id });
    await run(args);
    expect(out.stderr).toMatch(/issue acme\/web#1 unchanged/);
    expect(s.gl.requests.filter((q) => q.method === 'PUT' && q.path.includes('/issues/'))).toHaveLength(0);
    // A human's issue quoting the marker is never taken over.
    const human = s.gl.base.addUser('alice');
    s.gl.issues.push({ iid: 2, projectId: s.ids.web, title: 'copy', description: `see ${auditMarker('acme')}`, authorId: human.id, state: 'opened' });
    // Something changes: the payments environment gets protected.
    s.gl.base.state.projects.get(s.ids.payments)!.protectedEnvironments.push({ name: 'production', deploy_access_levels: [{ access_level: 40 }] });
    await run([...args.slice(0, -1), 'second.json', '--baseline', 'first.json']);
    expect(out.stderr).toMatch(/issue acme\/web#1 updated/);
    expect(s.gl.issues.filter((i) => i.authorId === s.gl.base.botUser.id)).toHaveLength(1);
    expect(s.gl.issues[0]?.title).toBe('tierguard audit: acme (3 errors, 0 warnings)');
    expect(s.gl.issues[0]?.description).toContain('1 resolved, 0 new, 3 remaining');
    expect(s.gl.issues[1]?.description).toBe(`see ${auditMarker('acme')}`);
  });

  it('rejects usage errors with exit 2', async () => {
    const { out, run } = cli(dir, {});
    expect(await run(['audit', '--gitlab-url', s.gl.url, '--group', 'acme'])).toBe(2);
    expect(out.stderr).toContain('GITLAB_TOKEN');
    const withToken = cli(dir, { GITLAB_TOKEN: 'x' });
    expect(await withToken.run(['audit', '--group', 'acme'])).toBe(2);
    expect(await withToken.run(['audit', '--gitlab-url', s.gl.url, '--group', 'acme', '--concurrency', '0'])).toBe(2);
    expect(await withToken.run(['audit', '--gitlab-url', s.gl.url, '--group', 'acme', '--format', 'pdf'])).toBe(2);
    expect(withToken.out.stderr).toContain('--format must be one of markdown, json, html (got "pdf")');
  });
});

describe('audit Markdown', () => {
  it('fits a GitLab issue: truncated below the limit with a note', async () => {
    const s = await startScenario();
    try {
      const r = await auditOf(s);
      const text = renderAuditMarkdown(r, { maxLength: 600 });
      expect(text.length).toBeLessThanOrEqual(600);
      expect(text.startsWith(auditMarker('acme'))).toBe(true);
      expect(text).toContain('truncated at 600 characters');
    } finally {
      await s.gl.close();
    }
  });
});
