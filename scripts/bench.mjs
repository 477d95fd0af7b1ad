#!/usr/bin/env node
// Benchmarks (run after `npm run build`): `npm run bench -- [CORPUS_DIR]` (default ../shared/corpus).
// Every figure is a ratio against a baseline measured in the same run, never an absolute target.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { BENCH_PIPELINES, readTree, walk } from './lib/bench-corpus.mjs';
import { extraCaCertsSet, withoutExtraCaCerts } from './lib/bench-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'corpus'));
if (!existsSync(corpus)) {
  console.error(`bench: corpus folder not found: ${corpus} (pass it as the first argument)`);
  process.exit(2);
}
const { buildPipeline } = await import(path.join(root, 'dist/model/pipeline.js'));
const { MemorySource } = await import(path.join(root, 'dist/model/source.js'));
const { evaluatePipeline, jobsWithTrust } = await import(path.join(root, 'dist/rules/engine.js'));
const { pipelineRules } = await import(path.join(root, 'dist/rules/index.js'));
const { defaultTrustFactory } = await import(path.join(root, 'dist/rules/trust-provider.js'));
const { builtinPolicy } = await import(path.join(root, 'dist/policy/defaults.js'));

const fmt = (n) => n.toFixed(2).padStart(8);

/**
 * Section 1 times each pipeline over WARM + runs rounds and reports two windows of them: rounds
 * EARLY.. (what this bench reported before) and rounds WARM.. (steady state). The evaluation is
 * 36 rules' worth of code, each function called a few times per pipeline, and V8 keeps tiering
 * it up for longer than the few hot functions of the YAML parser: measured on GitLab's
 * templates, the evaluation took 50–60 ms per round in rounds 2–10 and 20 ms from round 15 on,
 * while the model went from 90 to 60 ms. The early window measures that tier-up as much as the
 * work; the service, which judges pipeline after pipeline, runs warm. Both are printed, each
 * with its verdict.
 */
const EARLY = 3;
const WARM = 12;
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
/** The medians of each series over `runs` rounds from EARLY and from WARM. */
function windows(series, runs) {
  const at = (from) => Object.fromEntries(Object.entries(series).map(([k, xs]) => [k, median(xs.slice(from, from + runs))]));
  return { early: at(EARLY), warm: at(WARM) };
}

/**
 * Median bare-parse time and median model-build time, measured in the same rounds (the order
 * alternating round by round), so both run on the same heap: neither pays for garbage the
 * other phase left behind more than the other does.
 */
async function bareAndModel(bare, build, runs) {
  const b = [];
  const m = [];
  for (let i = 0; i < WARM + runs; i++) {
    const timed = async (fn) => {
      const s = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - s) / 1e6;
    };
    let tb, tm;
    if (i % 2) {
      tb = await timed(bare);
      tm = await timed(build);
    } else {
      tm = await timed(build);
      tb = await timed(bare);
    }
    b.push(tb);
    m.push(tm);
  }
  return windows({ bare: b, model: m }, runs);
}

/** Median build time and median evaluation time, alternating build → evaluate each round. */
async function buildThenEvaluate(build, runs) {
  const b = [];
  const e = [];
  for (let i = 0; i < WARM + runs; i++) {
    let s = process.hrtime.bigint();
    const built = await build();
    const tb = Number(process.hrtime.bigint() - s) / 1e6;
    s = process.hrtime.bigint();
    // Every job judged, as the review's summary and `jobs --contexts` read them (the evaluation
    // judges a job when first asked, and the rules ask about fewer jobs than a pipeline has).
    for (const p of Array.isArray(built) ? built : [built]) jobsWithTrust(evaluatePipeline(p, { policy, rules: pipelineRules, trust: defaultTrustFactory }));
    const te = Number(process.hrtime.bigint() - s) / 1e6;
    b.push(tb);
    e.push(te);
  }
  return windows({ model: b, rules: e }, runs);
}

const pipelines = BENCH_PIPELINES.filter(([d]) => existsSync(path.join(corpus, d)));

const policy = builtinPolicy();
console.log(`tierguard bench — corpus ${corpus}`);
console.log('\n1. Pipeline model vs a bare `yaml` parse of the same bytes (same process)');
console.log('   bare and model alternate in the same rounds; "model*" is the build right after an evaluation');
console.log('   (the rounds that time the rules), which also pays for the garbage the evaluation left');
console.log(`   medians of the rounds from round ${WARM + 1} (warm); the totals after ${EARLY} warm-up rounds follow the table`);
console.log('pipeline'.padEnd(34) + 'bare ms'.padStart(9) + 'model ms'.padStart(10) + '  ratio' + '  model* ms' + '   +rules ms' + '  rules/model*');
/** Sums over the pipelines, per window. */
const sums = { early: { bare: 0, model: 0, after: 0, rules: 0 }, warm: { bare: 0, model: 0, after: 0, rules: 0 } };
const addUp = (pm, be) => {
  for (const w of ['early', 'warm']) {
    sums[w].bare += pm[w].bare;
    sums[w].model += pm[w].model;
    sums[w].after += be[w].model;
    sums[w].rules += be[w].rules;
  }
};
/** Issue 19's targets, each with the ratio measured in this run: printed together at the end. */
const targets = [];
const target = (name, ratio, shown, met) => targets.push({ name, shown: `${ratio.toFixed(2)}${shown}`, met });
for (const [dir, rootFile] of pipelines) {
  const files = readTree(path.join(corpus, dir));
  const source = new MemorySource(files);
  const pipeline = await buildPipeline(source, rootFile);
  const read = pipeline.files.map((f) => f.text);
  const pm = await bareAndModel(() => { for (const t of read) parseAllDocuments(t, { version: '1.1', uniqueKeys: false }); }, () => buildPipeline(source, rootFile), 15);
  // Build and evaluate alternate, each evaluation on the pipeline just built: both phases see
  // the same heap, and nothing cached on the nodes of an earlier run helps a later one.
  const be = await buildThenEvaluate(() => buildPipeline(source, rootFile), 15);
  addUp(pm, be);
  const { bare, model } = pm.warm;
  const { model: after, rules } = be.warm;
  console.log(`${dir.padEnd(34)}${fmt(bare)} ${fmt(model)}  ${(model / bare).toFixed(2)}x ${fmt(after)} ${fmt(rules)}     ${(rules / after * 100).toFixed(0)}%   (${pipeline.jobs.length} jobs, ${pipeline.files.length} files)`);
  target(`model vs bare parse, ${dir} (≤2x)`, model / bare, 'x', model / bare <= 2);
}

const tdir = path.join(corpus, 'gitlab-templates');
if (existsSync(tdir)) {
  const files = readTree(tdir);
  const source = new MemorySource(files);
  const names = Object.keys(files);
  const buildAll = async () => {
    const all = [];
    for (const n of names) all.push(await buildPipeline(source, n));
    return all;
  };
  const pm = await bareAndModel(() => { for (const n of names) parseAllDocuments(files[n], { version: '1.1', uniqueKeys: false }); }, buildAll, 7);
  const be = await buildThenEvaluate(buildAll, 7);
  addUp(pm, be);
  const { bare, model } = pm.warm;
  const { model: after, rules } = be.warm;
  console.log(`${('all templates (' + names.length + ')').padEnd(34)}${fmt(bare)} ${fmt(model)}  ${(model / bare).toFixed(2)}x ${fmt(after)} ${fmt(rules)}     ${(rules / after * 100).toFixed(0)}%`);
}
const { warm, early } = sums;
console.log(`${'total'.padEnd(34)}${fmt(warm.bare)} ${fmt(warm.model)}  ${(warm.model / warm.bare).toFixed(2)}x ${fmt(warm.after)} ${fmt(warm.rules)}     ${(warm.rules / warm.after * 100).toFixed(0)}%`);
console.log(`${('total after ' + EARLY + ' warm-up rounds').padEnd(34)}${fmt(early.bare)} ${fmt(early.model)}  ${(early.model / early.bare).toFixed(2)}x ${fmt(early.after)} ${fmt(early.rules)}     ${(early.rules / early.after * 100).toFixed(0)}%`);
target('model vs bare parse, overall (≤1.5x)', warm.model / warm.bare, 'x', warm.model / warm.bare <= 1.5);
targets.push({ name: 'contexts + rules vs model*, overall (≤+40%)', shown: `+${((warm.rules / warm.after) * 100).toFixed(0)}%`, met: warm.rules / warm.after <= 0.4 });
targets.push({ name: `contexts + rules vs model*, after ${EARLY} warm-up rounds, JIT tier-up included (≤+40%)`, shown: `+${((early.rules / early.after) * 100).toFixed(0)}%`, met: early.rules / early.after <= 0.4 });
// Also against the model built alone (no evaluation's garbage to collect): a stricter reading.
console.log(`contexts + rules vs the model built alone: +${((warm.rules / warm.model) * 100).toFixed(0)}% (after ${EARLY} warm-up rounds: +${((early.rules / early.model) * 100).toFixed(0)}%)`);

console.log('\n2. Whole CLI runs, start-up included, against `node -e ""` (the process start baseline)');
console.log('   paired: each round runs every command once, in turn, after a warm-up round (which fills');
console.log('   the code cache of lint and jobs); medians of the rounds');
const bin = path.join(root, 'bin', 'tierguard.js');
/**
 * Median wall time (ms) of each command line, run in alternating rounds after one warm-up round.
 * They run in an empty folder: `lint` there reads no policy directory (run from this checkout,
 * it would read its `policies/`), as in compare-gitlab-ci-local.mjs.
 */
const cliCwd = mkdtempSync(path.join(tmpdir(), 'tierguard-bench-cwd-'));
// `lint` and `jobs` keep a code cache after their first run (src/cli/compile-cache.ts): here in a folder of
// this run's own, filled by the warm-up round, as a developer's first run fills theirs.
const cliEnv = { ...process.env, TIERGUARD_COMPILE_CACHE: mkdtempSync(path.join(tmpdir(), 'tierguard-bench-code-cache-')) };
// With NODE_EXTRA_CA_CERTS set, `node -e ""` and `rules` also run without it (scripts/lib/bench-env.mjs).
const noCaEnv = withoutExtraCaCerts(cliEnv);
/** `cmds`: argument lists (run with cliEnv), or `{ args, env }`. */
function pairedWall(cmds, rounds) {
  const t = cmds.map(() => []);
  for (let i = 0; i <= rounds; i++) {
    cmds.forEach((cmd, j) => {
      const { args, env } = Array.isArray(cmd) ? { args: cmd, env: cliEnv } : cmd;
      const s = process.hrtime.bigint();
      spawnSync(process.execPath, args, { stdio: 'ignore', cwd: cliCwd, env }); // lint exits 1 on blocking findings
      if (i > 0) t[j].push(Number(process.hrtime.bigint() - s) / 1e6);
    });
  }
  return t.map(median);
}
const cliRounds = Number(process.env.TIERGUARD_BENCH_CLI_ROUNDS ?? 15);
// The first pipeline is linted once more with this checkout's policies/ (what a team with a
// policy directory pays on every run: reading, validating and merging the policy files).
const [policyLinted] = pipelines;
const cliCmds = [['-e', ''], [bin, 'rules'], ...pipelines.flatMap(([dir]) => [[bin, 'lint', '--format', 'json', path.join(corpus, dir)], [bin, 'jobs', path.join(corpus, dir)]])];
if (policyLinted) cliCmds.push([bin, 'lint', '--format', 'json', '--policy', path.join(root, 'policies'), path.join(corpus, policyLinted[0])]);
if (extraCaCertsSet) cliCmds.push({ args: ['-e', ''], env: noCaEnv }, { args: [bin, 'rules'], env: noCaEnv });
const walls = pairedWall(cliCmds, cliRounds);
const [noCaStart, noCaRules] = extraCaCertsSet ? walls.splice(-2) : [];
const [nodeStart, rulesMs, ...runMs] = walls;
console.log(`node -e ""${' '.repeat(39)}${fmt(nodeStart)} ms`);
console.log(`tierguard rules${' '.repeat(34)}${fmt(rulesMs)} ms  (${(rulesMs / nodeStart).toFixed(2)}x node start)`);
if (extraCaCertsSet) {
  console.log(`without NODE_EXTRA_CA_CERTS (set here; Node ${process.versions.node.split('.')[0]} reads it at every start):`);
  console.log(`  node -e ""${' '.repeat(37)}${fmt(noCaStart)} ms`);
  console.log(`  tierguard rules${' '.repeat(32)}${fmt(noCaRules)} ms  (${(noCaRules / noCaStart).toFixed(2)}x node start)`);
}
pipelines.forEach(([dir], i) => {
  for (const [cmd, ms] of [['lint', runMs[2 * i]], ['jobs', runMs[2 * i + 1]]]) {
    console.log(`tierguard ${cmd} ${dir.padEnd(34)} ${fmt(ms)} ms  (${(ms / nodeStart).toFixed(2)}x node start)`);
  }
});
target('`tierguard rules` vs `node -e ""`, paired (≤1.5x)', rulesMs / nodeStart, 'x', rulesMs / nodeStart <= 1.5);
if (extraCaCertsSet) target('`tierguard rules` vs `node -e ""`, without NODE_EXTRA_CA_CERTS (≤1.5x)', noCaRules / noCaStart, 'x', noCaRules / noCaStart <= 1.5);
if (policyLinted) {
  const [withPolicy, without] = [runMs[2 * pipelines.length], runMs[0]];
  console.log(`tierguard lint --policy policies/ ${policyLinted[0].padEnd(17)} ${fmt(withPolicy)} ms  (${(withPolicy / without).toFixed(2)}x lint without a policy directory)`);
  target(`lint ${policyLinted[0]} with policies/ vs without (reported)`, withPolicy / without, 'x', null);
}

// Peak RSS: each process records its own (getrusage maxrss) as it exits, through a preloaded one-liner.
const rssHook = "data:text/javascript,import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(process.env.TG_BENCH_RSS,String(process.resourceUsage().maxRSS)))";
const rssDir = mkdtempSync(path.join(tmpdir(), 'tierguard-bench-rss-'));
function peakRssKb(args) {
  const out = path.join(rssDir, 'rss');
  const kb = [];
  for (let i = 0; i < 3; i++) {
    spawnSync(process.execPath, ['--import', rssHook, ...args], { stdio: 'ignore', cwd: cliCwd, env: { ...cliEnv, TG_BENCH_RSS: out } });
    kb.push(Number(readFileSync(out, 'utf8')));
  }
  return kb.sort((a, b) => a - b)[1];
}
const largest = pipelines
  .filter(([d]) => d.startsWith('real-pipelines/') || d.startsWith('gitlab-monorepo/'))
  .map(([d]) => [d, walk(path.join(corpus, d)).filter((f) => /\.ya?ml$/.test(f)).reduce((n, f) => n + statSync(path.join(corpus, d, f)).size, 0)])
  .sort((a, b) => b[1] - a[1])[0];
if (largest) {
  const base = peakRssKb(['-e', '']);
  const lint = peakRssKb([bin, 'lint', '--format', 'json', path.join(corpus, largest[0])]);
  console.log(`peak RSS: node -e "" ${(base / 1024).toFixed(1)} MB, tierguard lint ${largest[0]} (largest real pipeline, ${largest[1]} bytes of YAML) ${(lint / 1024).toFixed(1)} MB`);
  target(`peak RSS, lint ${largest[0]} vs \`node -e ""\` (reported)`, lint / base, 'x', null);
}
rmSync(rssDir, { recursive: true, force: true });
rmSync(cliCwd, { recursive: true, force: true });
rmSync(cliEnv.TIERGUARD_COMPILE_CACHE, { recursive: true, force: true });

// tierguard vs gitlab-ci-local: only where both tools are installed (scripts/compare-gitlab-ci-local.mjs says how).
const cmake = path.join(corpus, 'real-pipelines', 'cmake');
if (existsSync(cmake)) {
  console.log('\ntierguard vs gitlab-ci-local on real-pipelines/cmake');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'compare-gitlab-ci-local.mjs'), cmake, '--runs', process.env.TIERGUARD_BENCH_GCL_ROUNDS ?? '5'], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
  // The verdict is the compare script's own, from the unrounded ratio (the printed one is rounded).
  const lines = [...(r.stdout ?? '').matchAll(/^target: (.*) at least 10x faster than gitlab-ci-local: ([\d.]+)x — (met|not met)$/gm)];
  if (lines.length) for (const [, who, x, verdict] of lines) target(`${who.replace(/^tierguard /, '')} vs gitlab-ci-local, cmake (≥10x faster)`, Number(x), 'x faster', verdict === 'met');
  else targets.push({ name: 'lint/jobs vs gitlab-ci-local, cmake (≥10x faster)', shown: 'not measured', met: null });
}

// GitLab calls per review (scripts/bench-calls.mjs): counts, collected from its `target:` lines.
{
  console.log('\nGitLab API calls per review');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'bench-calls.mjs')], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
  const lines = [...(r.stdout ?? '').matchAll(/^target: (.*) \| (.*) \| (met|NOT MET)$/gm)];
  if (lines.length) for (const [, name, shown, met] of lines) targets.push({ name: `GitLab calls: ${name}`, shown, met: met === 'met' });
  else targets.push({ name: 'GitLab calls per review', shown: 'not measured', met: null });
}

console.log('\nIssue 19 targets (ratios from this run)');
for (const t of targets) console.log(`  ${t.name.padEnd(88)} ${t.shown.padStart(12)}  ${t.met === null ? '-' : t.met ? 'met' : 'NOT MET'}`);

if (process.env.TIERGUARD_BENCH_SERVER !== '0' && existsSync(path.join(root, 'scripts', 'bench-server.mjs'))) {
  console.log('\n3. Service');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bench-server.mjs')], { stdio: 'inherit' });
}
