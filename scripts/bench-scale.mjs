#!/usr/bin/env node
// Scale-out benchmark (run after `npm run build`; `npm run bench` runs it before scripts/bench.mjs, which takes the arguments): MRs evaluated per
// second end to end, one and two tierguard instances sharing Redis, against the loopback fake
// GitLab. The instances run the built service from dist/ in their own processes; the fake
// GitLab is TypeScript (test/support), so the driver runs under vitest with its own config
// (bench/vitest.config.ts), never picked up by `npm test`. Needs Redis on 127.0.0.1:6379 (the
// driver starts redis-server when it does not answer). Env: BENCH_MRS (60),
// BENCH_CONCURRENCY (4), BENCH_PACE_MS ("0,250": pause between GitLab writes per scenario; production default 1000).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(root, 'dist/server/server.js'))) {
  console.error('bench-scale: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bench-scale-'));
const out = path.join(dir, 'result.json');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'bench/vitest.config.ts', '--reporter', 'dot', '--silent'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, BENCH_SCALE_OUT: out },
});
if (run.status !== 0 || !existsSync(out)) {
  console.error(`bench-scale: the benchmark run failed (exit ${run.status})`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
const result = JSON.parse(readFileSync(out, 'utf8'));
rmSync(dir, { recursive: true, force: true });
console.log(result.text);
