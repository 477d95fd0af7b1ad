#!/usr/bin/env node
// Instruction counts of whole CLI runs: `tierguard jobs` and `lint` on one pipeline, under
// valgrind's cachegrind with V8 single-threaded (`--single-threaded`: compiles and GC on the
// main thread), so two builds compare within a few percent (single runs of one build differed by up
// to 3%: use --runs 3 and compare the medians) on a machine whose wall times swing by
// 10% or more between runs (shared cores). Not part of `npm test` or `npm run bench` (valgrind
// makes each run about 20x slower); run after `npm run build`:
//
//   node scripts/bench-instructions.mjs PIPELINE_DIR [--base OTHER_CHECKOUT] [--runs 1]
//
// OTHER_CHECKOUT is another built checkout of tierguard (e.g. `git worktree add /tmp/base
// <commit>` then `npm run build` there): its figures are printed beside this one's, with the
// ratio. `node -e ""` is measured too: what is above it is tierguard's own work. The runs start
// in an empty folder, so `lint` reads no policy directory (from this checkout it would read
// `policies/`), as in `npm run bench`.
// Without valgrind the script says so and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { base: { type: 'string' }, runs: { type: 'string' } } });
if (positionals.length !== 1) {
  console.error('usage: node scripts/bench-instructions.mjs PIPELINE_DIR [--base OTHER_CHECKOUT] [--runs N]');
  process.exit(2);
}
const pipeline = path.resolve(positionals[0]);
const runs = Math.max(1, Number(values.runs ?? 1));
if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.log('bench-instructions: valgrind is not installed; skipped.');
  process.exit(0);
}
const checkouts = [{ label: 'this checkout', dir: root }];
if (values.base) checkouts.unshift({ label: `base ${values.base}`, dir: path.resolve(values.base) });
for (const c of checkouts) {
  if (!existsSync(path.join(c.dir, 'dist', 'bundle', 'tierguard.mjs'))) {
    console.error(`bench-instructions: ${c.dir} is not built (run npm run build there)`);
    process.exit(2);
  }
}

const cwd = mkdtempSync(path.join(tmpdir(), 'tierguard-instructions-'));
process.on('exit', () => rmSync(cwd, { recursive: true, force: true }));

/** Instructions executed by `node --single-threaded ARGS` (median of `runs`), in millions. */
function instructions(args) {
  const got = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, '--single-threaded', ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
    if (!m) throw new Error(`valgrind gave no count for ${args.join(' ')}:\n${r.stderr.slice(-2000)}`);
    got.push(Number(m[1].replaceAll(',', '')) / 1e6);
  }
  return got.sort((a, b) => a - b)[Math.floor(got.length / 2)];
}

const node = instructions(['-e', '']);
console.log(`Instructions (millions) on ${pipeline}, node ${process.versions.node} --single-threaded, median of ${runs}`);
console.log(`  node -e ""${' '.repeat(28)}${node.toFixed(0).padStart(7)}`);
for (const cmd of [['jobs', pipeline], ['lint', '--format', 'json', pipeline]]) {
  const figures = checkouts.map((c) => instructions([path.join(c.dir, 'bin', 'tierguard.js'), ...cmd]));
  const cells = figures.map((f, i) => `${checkouts[i].label}: ${f.toFixed(0)} (${(f - node).toFixed(0)} above node)`);
  const ratio = figures.length === 2 ? `  → ${((figures[1] - node) / (figures[0] - node)).toFixed(3)}x of the base's own work` : '';
  console.log(`  tierguard ${cmd[0].padEnd(6)} ${cells.join('   ')}${ratio}`);
}
