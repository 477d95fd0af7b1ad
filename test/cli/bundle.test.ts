import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';
import { main } from '../../src/cli/main.js';
import { defined } from '../support/defined.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const bin = path.join(root, 'bin', 'tierguard.js');
// `lint` and `check-runner` keep a code cache (src/cli/compile-cache.ts): the runs here keep
// theirs in a folder of the test's own, not in the user's ~/.cache.
const cacheDir = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-cache-'));
const binEnv = { ...process.env, TIERGUARD_COMPILE_CACHE: cacheDir };
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

async function inProcess(args: string[]): Promise<string> {
  return (await inProcessRun(args)).stdout;
}

async function inProcessRun(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => ((stderr += s), true) }, cwd: root, env: {} });
  return { stdout, stderr, code };
}

// The bundle (dist/bundle/, built by `npm run build` before the tests) carries the rule summaries
// as data computed at build time: it must print exactly what the sources print.
describe('the bundled CLI', () => {
  it('lists the same rules as the catalogue, in the same order, text and JSON', async () => {
    const json = JSON.parse((await promisify(execFile)(process.execPath, [bin, 'rules', '--format', 'json'])).stdout) as { id: string }[];
    expect(json.map((r) => r.id)).toEqual(allRuleMetas().map((m) => m.id));
    expect(JSON.stringify(json, null, 2) + '\n').toBe(await inProcess(['rules', '--format', 'json']));
    expect((await promisify(execFile)(process.execPath, [bin, 'rules'])).stdout).toBe(await inProcess(['rules']));
  });

  it('explains a rule from its docs page, as the sources do', async () => {
    const id = defined(allRuleMetas()[0], 'a rule').id;
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'explain', id], { cwd: '/' });
    expect(stdout).toBe(await inProcess(['explain', id]));
    expect(stdout).toContain(`# ${id}`);
  });

  // bin/tierguard.js sets V8 flags for these short runs (per Node version): a flag that Node's V8
  // does not know would print an error on every run. The suite runs on Node 20 and Node 24.
  // `jobs --contexts` and `--format json` load the engine as a chunk of their own.
  it('runs lint and jobs with the short-run V8 flags: same output as the sources, nothing on stderr', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-'));
    try {
      writeFileSync(path.join(dir, '.gitlab-ci.yml'), 'build:\n  image: node:latest\n  script:\n    - npm ci\n');
      for (const args of [['lint', dir], ['jobs', dir], ['jobs', '--contexts', dir], ['jobs', '--format', 'json', dir]]) {
        const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: binEnv });
        expect(run.stderr).toBe('');
        expect(run.stdout).toBe(await inProcess(args));
        expect(run.stdout).toContain('build');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The policy file schema is bundled apart from the rest (scripts/build-cli.mjs), with its own
  // copy of zod's functional build: a policy must be read, and refused, exactly as the sources do.
  it('reads a policy directory as the sources do, and refuses a bad one with the same errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-policy-'));
    try {
      writeFileSync(path.join(dir, '.gitlab-ci.yml'), 'build:\n  image: node:latest\n  script:\n    - echo "$CI_JOB_TOKEN" | docker login -u gitlab-ci-token --password-stdin registry.corp.example\n');
      const good = path.join(dir, 'good');
      const bad = path.join(dir, 'bad');
      const badOptions = path.join(dir, 'bad-options');
      for (const d of [good, bad, badOptions]) mkdirSync(d);
      writeFileSync(path.join(good, 'default.yaml'), 'version: 1\nrules:\n  unpinned-image: off\n  job-token-misuse: { severity: error, options: { instanceHosts: [gitlab.corp.example] } }\n');
      writeFileSync(path.join(bad, 'default.yaml'), 'version: 1\nreview: { maxInlineDiscussions: -1 }\nexceptions: [{ rule: untagged-job, reason: " ", expires: 2026-02-30 }]\n');
      writeFileSync(path.join(badOptions, 'default.yaml'), 'version: 1\nrules:\n  job-token-misuse: { options: { instanceHosts: [1] } }\n');
      for (const args of [['lint', '--policy', good, dir], ['lint', '--policy', bad, dir], ['lint', '--policy', badOptions, dir], ['jobs', '--policy', bad, dir]]) {
        const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: binEnv });
        const sources = await inProcessRun(args);
        expect({ stdout: run.stdout, stderr: run.stderr, code: run.status }).toEqual(sources);
      }
      const withPolicy = await inProcessRun(['lint', '--policy', good, dir]);
      expect(withPolicy.stdout).toContain('job-token-misuse');
      expect(withPolicy.stdout).not.toContain('unpinned-image');
      expect(withPolicy.code).toBe(1);
      const refused = await inProcessRun(['lint', '--policy', bad, dir]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('default.yaml:2:33: review.maxInlineDiscussions: Too small: expected number to be >=0');
      expect(refused.stderr).toContain('default.yaml:3:14: exceptions[0]: an exception needs a "job" and/or a "file"');
      expect(refused.stderr).toContain('default.yaml:3:58: exceptions[0].expires: expected a calendar date written YYYY-MM-DD');
      const refusedOptions = await inProcessRun(['lint', '--policy', badOptions, dir]);
      expect(refusedOptions.code).toBe(2);
      expect(refusedOptions.stderr).toContain('default.yaml:3:50: rules.job-token-misuse.options.instanceHosts[0]: expected a string, got 1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// bin/tierguard.js runs the commands that import nothing at run time from dist/bundle/light.cjs:
// main.ts's own code as a small CommonJS script, started without Node's ES module loader and
// written straight to the descriptors (no process.stdout, which loads `net` on a pipe).
describe('the light commands from their own script', () => {
  const preload = path.join(cacheDir, 'module-load-list.cjs');
  writeFileSync(preload, "process.on('exit', () => require('node:fs').writeFileSync(process.env.TG_LOADED, process.moduleLoadList.join('\\n')));\n");

  it('prints what the sources print, with the same errors and exit codes, and loads no ES module', async () => {
    const id = defined(allRuleMetas()[1], 'a rule').id;
    const loaded = path.join(cacheDir, 'loaded.txt');
    for (const args of [['rules'], ['rules', '--format', 'json'], ['rules', '--format', 'yaml'], ['rules', '--bogus'], ['explain', id], ['explain'], ['explain', 'no-such-rule'], ['--help'], ['help'], [], ['--version'], ['version'], ['no-such-command']]) {
      const run = spawnSync(process.execPath, ['--require', preload, bin, ...args], { encoding: 'utf8', cwd: '/', env: { ...binEnv, TG_LOADED: loaded } });
      const sources = await inProcessRun(args);
      expect({ args, stdout: run.stdout, stderr: run.stderr, code: run.status }).toEqual({ args, ...sources });
      const modules = readFileSync(loaded, 'utf8').split('\n');
      expect(modules).toContain('NativeModule internal/modules/cjs/loader');
      // Node 24's CommonJS loader loads most of the ES module loader itself; the `import.meta`
      // initializer loads for an ES module on Node 20 and 24 alike, `net` for process.stdout on a pipe.
      expect(modules.filter((m) => /esm\/initialize_import_meta$|^NativeModule net$/.test(m))).toEqual([]);
    }
    expect((await inProcessRun(['rules', '--format', 'yaml'])).stderr).toContain('--format must be text or json (got "yaml")');
  });

  it('holds main.ts and none of the modules the other commands load', () => {
    const script = readFileSync(path.join(root, 'dist', 'bundle', 'light.cjs'), 'utf8');
    expect(script.length).toBeLessThan(64 * 1024);
    for (const loadedLater of ['./lint.js', './jobs.js', './serve.js', '../catalogue/catalogue.js']) expect(script).toContain(`${loadedLater} is not in light.cjs`);
  });
});

// bin/tierguard.js runs `lint` (offline), `jobs` and `check-runner` from one CommonJS script through a
// code cache written after the first run; `serve`, `audit` and the live checks from the ES module bundle.
describe('the short commands from the cached script', () => {
  it('prints the same with and without the cache, and writes one cache per command', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-cached-'));
    const own = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-own-cache-'));
    try {
      writeFileSync(path.join(dir, '.gitlab-ci.yml'), 'deploy:\n  image: alpine\n  script:\n    - curl https://get.example.com | sh\n  environment: production\n');
      writeFileSync(path.join(dir, 'config.toml'), '[[runners]]\n  name = "shared"\n  executor = "shell"\n');
      const env = { ...process.env, TIERGUARD_COMPILE_CACHE: own };
      for (const args of [['lint', '--format', 'json', dir], ['jobs', '--contexts', dir], ['check-runner', path.join(dir, 'config.toml')]]) {
        const sources = await inProcessRun(args);
        const runs = [1, 2, 3].map(() => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env }));
        for (const run of runs) expect({ stdout: run.stdout, stderr: run.stderr, code: run.status }).toEqual(sources);
        expect(sources.stdout.length).toBeGreaterThan(100);
      }
      const files = readdirSync(own).sort();
      expect(files.map((f) => f.split('-')[0])).toEqual(['check', 'jobs', 'lint']);
      // Turned off: the same output, and nothing written.
      const off = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-off-'));
      const run = spawnSync(process.execPath, [bin, 'lint', dir], { encoding: 'utf8', env: { ...process.env, TIERGUARD_COMPILE_CACHE: 'off', HOME: off, XDG_CACHE_HOME: off } });
      expect(run.stdout).toBe((await inProcessRun(['lint', dir])).stdout);
      expect(readdirSync(off)).toEqual([]);
      rmSync(off, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(own, { recursive: true, force: true });
    }
  });

  // The bin exits as soon as these commands have answered and their output is written: a
  // reader that is slow to read a large output still gets all of it.
  it('writes all of a large output to a slow pipe before it exits', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bundle-large-'));
    try {
      const jobs = Array.from({ length: 300 }, (_, i) => `job-${i}:\n  script:\n    - echo "$DEPLOY_TOKEN"\n    - curl https://get.example.com/${i} | sh\n`);
      writeFileSync(path.join(dir, '.gitlab-ci.yml'), jobs.join(''));
      const args = ['lint', '--format', 'json', dir];
      const sources = await inProcessRun(args);
      expect(sources.stdout.length).toBeGreaterThan(256 * 1024);
      const child = spawn(process.execPath, [bin, ...args], { env: binEnv });
      child.stdout.pause();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(sources.code);
      expect(Buffer.concat(chunks).toString('utf8')).toBe(sources.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the live checks from the module bundle: the script leaves them out, with the service and the audit', async () => {
    const script = readFileSync(path.join(root, 'dist', 'bundle', 'tierguard.cjs'), 'latin1');
    for (const pkg of ['fastify', 'bullmq', 'ioredis', '@gitbeaker/rest', 'prom-client', 'pino']) expect(script).not.toContain(`require("${pkg}")`);
    // A GitLab that refuses the token (as GitLab answers a revoked one): the same refusal as the
    // sources, with either spelling of the options.
    const gitlab = createServer((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"401 Unauthorized"}'));
    await new Promise<void>((resolve) => gitlab.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(gitlab.address() as AddressInfo).port}`;
    try {
      for (const args of [
        ['lint', '--gitlab-url', url, '--project', 'g/p', root],
        ['lint', `--gitlab-url=${url}`, '--project=g/p', root],
      ]) {
        const run = await new Promise<{ stderr: string; code: number | null }>((resolve) => {
          execFile(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...binEnv, GITLAB_TOKEN: 'glpat-test' } }, (err, _stdout, stderr) =>
            resolve({ stderr, code: err ? (typeof err.code === 'number' ? err.code : null) : 0 }),
          );
        });
        let stderr = '';
        const code = await main(args, { stdout: { write: () => true }, stderr: { write: (t: string) => ((stderr += t), true) }, cwd: root, env: { GITLAB_TOKEN: 'glpat-test' } });
        expect(run).toEqual({ stderr, code });
        expect(code).toBe(2);
        expect(stderr).toContain(url);
      }
    } finally {
      gitlab.close();
    }
  });
});
