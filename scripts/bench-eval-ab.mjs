#!/usr/bin/env node
// Paired A/B of the evaluation (trust contexts + rules) and of the model build between two
// built checkouts, in ONE process: both builds are loaded side by side (each its own module
// instances and memos) and alternate round by round on the same pipelines, so the machine's
// swings (10–40% between runs on a shared 2-core VM) hit both alike. The figure to read is the
// median of the per-round ratios. Not part of `npm test` or `npm run bench`; run after
// `npm run build` in both checkouts:
//
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npx tsc -p tsconfig.build.json)
//   node scripts/bench-eval-ab.mjs /tmp/base [CORPUS_DIR] [--rounds 30]
//
// Warm figures (the service's regime); `scripts/bench-instructions.mjs` compares cold CLI runs.
// The pipelines are `npm run bench`'s: CMake, gitlab-runner, GitLab's 2018 monorepo and every
// template, each build evaluated right after it is built (as bench.mjs times model* and rules).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string' } } });
if (positionals.length < 1 || positionals.length > 2) {
  console.error('usage: node scripts/bench-eval-ab.mjs BASE_CHECKOUT [CORPUS_DIR] [--rounds N]');
  process.exit(2);
}
const base = path.resolve(positionals[0]);
const corpus = path.resolve(positionals[1] ?? path.join(root, '..', 'shared', 'corpus'));
const rounds = Math.max(3, Number(values.rounds ?? 30));
for (const dir of [base, root]) {
  if (!existsSync(path.join(dir, 'dist', 'rules', 'engine.js'))) {
    console.error(`bench-eval-ab: ${dir} is not built (run npm run build there)`);
    process.exit(2);
  }
}
if (!existsSync(corpus)) {
  console.error(`bench-eval-ab: corpus folder not found: ${corpus}`);
  process.exit(2);
}

function walk(dir, rel = '') {
  return readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? walk(path.join(dir, f), rel + f + '/') : [rel + f]));
}
function readTree(dir) {
  const files = {};
  for (const f of walk(dir)) if (/\.ya?ml$/.test(f)) files[f] = readFileSync(path.join(dir, f), 'utf8');
  return files;
}
const trees = [];
for (const d of ['real-pipelines/cmake', 'real-pipelines/gitlab-runner', 'gitlab-monorepo/2018-004fb357']) {
  if (existsSync(path.join(corpus, d))) trees.push([readTree(path.join(corpus, d)), ['.gitlab-ci.yml']]);
}
if (existsSync(path.join(corpus, 'gitlab-templates'))) {
  const files = readTree(path.join(corpus, 'gitlab-templates'));
  trees.push([files, Object.keys(files)]);
}

/** One checkout's model and engine, timed per round: [model ms, evaluation ms]. */
async function load(dir) {
  const imp = (p) => import(path.join(dir, 'dist', p));
  const { buildPipeline } = await imp('model/pipeline.js');
  const { MemorySource } = await imp('model/source.js');
  const { evaluatePipeline } = await imp('rules/engine.js');
  const { pipelineRules } = await imp('rules/index.js');
  const { defaultTrustFactory } = await imp('rules/trust-provider.js');
  const { builtinPolicy } = await imp('policy/defaults.js');
  const policy = builtinPolicy();
  const sets = trees.map(([files, names]) => [new MemorySource(files), names]);
  return {
    dir,
    model: [],
    rules: [],
    async round() {
      let s = performance.now();
      const built = [];
      for (const [source, names] of sets) for (const n of names) built.push(await buildPipeline(source, n));
      const model = performance.now() - s;
      s = performance.now();
      for (const p of built) evaluatePipeline(p, { policy, rules: pipelineRules, trust: defaultTrustFactory });
      return [model, performance.now() - s];
    },
  };
}

const builds = [await load(base), await load(root)];
const warmup = 4;
for (let i = 0; i < rounds + warmup; i++) {
  for (const k of i % 2 ? [0, 1] : [1, 0]) {
    const [model, rules] = await builds[k].round();
    if (i >= warmup) {
      builds[k].model.push(model);
      builds[k].rules.push(rules);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const paired = (key) => median(builds[1][key].map((x, i) => x / builds[0][key][i]));
console.log(`Evaluation A/B on ${corpus}, ${rounds} alternating rounds in one process (medians)`);
for (const [label, b] of [['base', builds[0]], ['this checkout', builds[1]]]) {
  console.log(`  ${label.padEnd(14)} model* ${median(b.model).toFixed(1).padStart(7)} ms   contexts + rules ${median(b.rules).toFixed(1).padStart(7)} ms   (+${((median(b.rules) / median(b.model)) * 100).toFixed(0)}% of model*)`);
}
console.log(`  this checkout / base, median of per-round ratios: contexts + rules ${paired('rules').toFixed(3)}x, model* ${paired('model').toFixed(3)}x`);
