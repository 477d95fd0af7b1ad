#!/usr/bin/env node
// Paired A/B of the evaluation (trust contexts + rules) and of the model build between two
// built checkouts. In one process both builds are loaded side by side (each its own module
// instances and memos) and alternate round by round on the same pipelines, so the machine's
// swings (10–40% between runs on a shared 2-core VM) hit both alike. A build loaded second runs
// some 8–10% faster than the same build loaded first (measured: one commit against itself), so
// the script runs two processes, one per load order, and reports sqrt(r1 / r2) of the medians
// of the per-round ratios: that cancels the bias. Not part of `npm test` or `npm run bench`;
// run after `npm run build` in both checkouts:
//
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npx tsc -p tsconfig.build.json)
//   node scripts/bench-eval-ab.mjs /tmp/base [CORPUS_DIR] [--rounds 30]
//
// Warm figures (the service's regime); `scripts/bench-instructions.mjs` compares cold CLI runs.
// The pipelines are `npm run bench`'s: CMake, gitlab-runner, GitLab's 2018 monorepo and every
// template, each build evaluated right after it is built (as bench.mjs times model* and rules).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_PIPELINES, readTree } from './lib/bench-corpus.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string' }, 'load-order': { type: 'string' } } });
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

const trees = [];
for (const [d, rootFile] of BENCH_PIPELINES) {
  if (existsSync(path.join(corpus, d))) trees.push([readTree(path.join(corpus, d)), [rootFile]]);
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
  const { evaluatePipeline, jobsWithTrust } = await imp('rules/engine.js');
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
      // Every job judged, as the review's summary reads them (a checkout whose evaluation judges a
      // job when first asked would otherwise skip the jobs no rule asks about).
      for (const p of built) jobsWithTrust(evaluatePipeline(p, { policy, rules: pipelineRules, trust: defaultTrustFactory }));
      return [model, performance.now() - s];
    },
  };
}

if (!values['load-order']) {
  // Parent: one child process per load order.
  const child = (order) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), base, corpus, '--rounds', String(rounds), '--load-order', order], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`bench-eval-ab (${order}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const thisSecond = child('base-first');
  const baseSecond = child('this-first');
  console.log(`Evaluation A/B on ${corpus}, ${rounds} alternating rounds per load order (medians)`);
  for (const [label, run] of [['base loaded first', thisSecond], ['this loaded first', baseSecond]]) {
    console.log(`  ${label}:`);
    for (const b of run.builds) console.log(`    ${b.label.padEnd(14)} model* ${b.model.toFixed(1).padStart(7)} ms   contexts + rules ${b.rules.toFixed(1).padStart(7)} ms   (+${((b.rules / b.model) * 100).toFixed(0)}% of model*)`);
  }
  // thisSecond.ratio: this/base with this loaded second; baseSecond.ratio: base/this with base second.
  const corrected = (key) => Math.sqrt(thisSecond.ratio[key] / baseSecond.ratio[key]);
  console.log(`  this checkout / base, load order cancelled: contexts + rules ${corrected('rules').toFixed(3)}x, model* ${corrected('model').toFixed(3)}x`);
  console.log(`  (per order, second-loaded / first-loaded: rules ${thisSecond.ratio.rules.toFixed(3)} and ${baseSecond.ratio.rules.toFixed(3)}, model* ${thisSecond.ratio.model.toFixed(3)} and ${baseSecond.ratio.model.toFixed(3)})`);
} else {
  const order = values['load-order'] === 'this-first' ? [root, base] : [base, root];
  const builds = [await load(order[0]), await load(order[1])];
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
  const label = (dir) => (dir === root ? 'this checkout' : 'base');
  process.stdout.write(
    JSON.stringify({
      builds: builds.map((b) => ({ label: label(b.dir), model: median(b.model), rules: median(b.rules) })),
      ratio: { rules: paired('rules'), model: paired('model') },
    }),
  );
}
