#!/usr/bin/env node
// Audit benchmark (run after `npm run build`; part of `npm run bench`): `tierguard audit` of a
// fake GitLab group of 2,000 projects (a few jobs each) with 1 and 2 workers — projects per
// minute, GitLab calls per project, peak memory. The fake GitLab is TypeScript (test/support),
// so the driver runs under vitest with its own config (bench/vitest.audit.config.ts); each audit
// runs the built code from dist/ in a child process. Env: BENCH_AUDIT_PROJECTS (2000),
// BENCH_AUDIT_WORKERS ("1,2").
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(root, 'dist/audit/run.js'))) {
  console.error('bench-audit: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bench-audit-'));
const out = path.join(dir, 'result.json');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'bench/vitest.audit.config.ts', '--reporter', 'dot', '--silent'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, BENCH_AUDIT_OUT: out },
});
if (run.status !== 0 || !existsSync(out)) {
  console.error(`bench-audit: the benchmark run failed (exit ${run.status})`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
const result = JSON.parse(readFileSync(out, 'utf8'));
rmSync(dir, { recursive: true, force: true });
console.log(result.text);
