// What the benchmark scripts read from the corpus (`bench.mjs`, `bench-eval-ab.mjs`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The real pipelines the benchmarks time one by one, each with its root file (the templates are read as a set). */
export const BENCH_PIPELINES = [
  ['real-pipelines/cmake', '.gitlab-ci.yml'],
  ['real-pipelines/gitlab-runner', '.gitlab-ci.yml'],
  ['gitlab-monorepo/2018-004fb357', '.gitlab-ci.yml'],
];

/** Every file under `dir`, as paths relative to it. */
export function walk(dir, rel = '') {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? walk(full, rel + f + '/') : [rel + f];
  });
}

/** The YAML files under `dir`: relative path → text. */
export function readTree(dir) {
  const files = {};
  for (const f of walk(dir)) if (/\.ya?ml$/.test(f)) files[f] = readFileSync(path.join(dir, f), 'utf8');
  return files;
}
