#!/usr/bin/env node
// Benchmarks (run after `npm run build`): `npm run bench -- [CORPUS_DIR]` (default ../shared/corpus).
// Every figure is a ratio against a baseline measured in the same run, never an absolute target.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared', 'corpus'));
if (!existsSync(corpus)) {
  console.error(`bench: corpus folder not found: ${corpus} (pass it as the first argument)`);
  process.exit(2);
}
const { buildPipeline } = await import(path.join(root, 'dist/model/pipeline.js'));
const { MemorySource } = await import(path.join(root, 'dist/model/source.js'));
const { evaluatePipeline } = await import(path.join(root, 'dist/rules/engine.js'));
const { pipelineRules } = await import(path.join(root, 'dist/rules/index.js'));
const { defaultTrustFactory } = await import(path.join(root, 'dist/rules/trust-provider.js'));
const { builtinPolicy } = await import(path.join(root, 'dist/policy/defaults.js'));

function walk(dir, rel = '') {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? walk(full, rel + f + '/') : [rel + f];
  });
}
function readTree(dir) {
  const files = {};
  for (const f of walk(dir)) if (/\.ya?ml$/.test(f)) files[f] = readFileSync(path.join(dir, f), 'utf8');
  return files;
}
/** Median of `runs` timings of fn (ms), after a warm-up. */
async function time(fn, runs) {
  for (let i = 0; i < 3; i++) await fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}
const fmt = (n) => n.toFixed(2).padStart(8);

/** Median build time and median evaluation time, alternating build → evaluate each round. */
async function buildThenEvaluate(build, runs) {
  const b = [];
  const e = [];
  for (let i = 0; i < runs + 3; i++) {
    let s = process.hrtime.bigint();
    const built = await build();
    const tb = Number(process.hrtime.bigint() - s) / 1e6;
    s = process.hrtime.bigint();
    for (const p of Array.isArray(built) ? built : [built]) evaluatePipeline(p, { policy, rules: pipelineRules, trust: defaultTrustFactory });
    const te = Number(process.hrtime.bigint() - s) / 1e6;
    if (i >= 3) {
      b.push(tb);
      e.push(te);
    }
  }
  const med = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return { model: med(b), rules: med(e) };
}

const pipelines = [
  ['real-pipelines/cmake', '.gitlab-ci.yml'],
  ['real-pipelines/gitlab-runner', '.gitlab-ci.yml'],
  ['gitlab-monorepo/2018-004fb357', '.gitlab-ci.yml'],
].filter(([d]) => existsSync(path.join(corpus, d)));

const policy = builtinPolicy();
console.log(`tierguard bench — corpus ${corpus}`);
console.log('\n1. Pipeline model vs a bare `yaml` parse of the same bytes (same process)');
console.log('pipeline'.padEnd(34) + 'bare ms'.padStart(9) + 'model ms'.padStart(10) + '  ratio' + '   +rules ms' + '  rules/model');
let sumBare = 0, sumModel = 0, sumRules = 0;
for (const [dir, rootFile] of pipelines) {
  const files = readTree(path.join(corpus, dir));
  const source = new MemorySource(files);
  const pipeline = await buildPipeline(source, rootFile);
  const read = pipeline.files.map((f) => f.text);
  const bare = await time(() => { for (const t of read) parseAllDocuments(t, { version: '1.1', uniqueKeys: false }); }, 15);
  // Build and evaluate alternate, each evaluation on the pipeline just built: both phases see
  // the same heap, and nothing cached on the nodes of an earlier run helps a later one.
  const { model, rules } = await buildThenEvaluate(() => buildPipeline(source, rootFile), 15);
  sumBare += bare; sumModel += model; sumRules += rules;
  console.log(`${dir.padEnd(34)}${fmt(bare)} ${fmt(model)}  ${(model / bare).toFixed(2)}x ${fmt(rules)}     ${(rules / model * 100).toFixed(0)}%   (${pipeline.jobs.length} jobs, ${pipeline.files.length} files)`);
}

const tdir = path.join(corpus, 'gitlab-templates');
if (existsSync(tdir)) {
  const files = readTree(tdir);
  const source = new MemorySource(files);
  const names = Object.keys(files);
  const bare = await time(() => { for (const n of names) parseAllDocuments(files[n], { version: '1.1', uniqueKeys: false }); }, 7);
  const { model, rules } = await buildThenEvaluate(async () => {
    const all = [];
    for (const n of names) all.push(await buildPipeline(source, n));
    return all;
  }, 7);
  sumBare += bare; sumModel += model; sumRules += rules;
  console.log(`${('all templates (' + names.length + ')').padEnd(34)}${fmt(bare)} ${fmt(model)}  ${(model / bare).toFixed(2)}x ${fmt(rules)}     ${(rules / model * 100).toFixed(0)}%`);
}
console.log(`${'total'.padEnd(34)}${fmt(sumBare)} ${fmt(sumModel)}  ${(sumModel / sumBare).toFixed(2)}x ${fmt(sumRules)}     ${(sumRules / sumModel * 100).toFixed(0)}%`);
console.log('targets: model ≤ 2x the bare parse; contexts + rules ≤ +50% of the model');

console.log('\n2. Whole CLI run, startup included, against `node -e ""` (process start baseline)');
const bin = path.join(root, 'bin', 'tierguard.js');
const wall = (args) => {
  const runs = [];
  for (let i = 0; i < 5; i++) {
    const s = process.hrtime.bigint();
    try { execFileSync(process.execPath, args, { stdio: 'ignore' }); } catch { /* lint exits 1 on blocking findings */ }
    runs.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return runs[2];
};
const nodeStart = wall(['-e', '']);
console.log(`node -e "" ${fmt(nodeStart)} ms`);
for (const [dir] of pipelines) {
  const ms = wall([bin, 'lint', '--format', 'json', path.join(corpus, dir)]);
  console.log(`tierguard lint ${dir.padEnd(32)} ${fmt(ms)} ms  (${(ms / nodeStart).toFixed(1)}x node start)`);
}
if (process.env.TIERGUARD_BENCH_SERVER !== '0' && existsSync(path.join(root, 'scripts', 'bench-server.mjs'))) {
  console.log('\n3. Service');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bench-server.mjs')], { stdio: 'inherit' });
}
