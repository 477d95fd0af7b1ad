#!/usr/bin/env node
// Robustness run over a corpus of real GitLab CI YAML (run after `npm run build`):
//   node scripts/corpus.mjs [CORPUS_DIR] [--json]
// Every template is loaded standalone (include:template resolved from the same folder), the
// real pipelines from their checkout. It prints crashes (there must be none), configurations
// GitLab would reject standalone, and the blocking findings per file with their rule ids.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const corpus = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(root, '..', 'shared', 'corpus'));
if (!existsSync(corpus)) {
  console.error(`corpus: folder not found: ${corpus}`);
  process.exit(2);
}
const { DirectorySource } = await import(path.join(root, 'dist/model/source.js'));
const { lintPipeline } = await import(path.join(root, 'dist/rules/run.js'));
const { builtinPolicy } = await import(path.join(root, 'dist/policy/defaults.js'));

const walk = (dir, rel = '') =>
  readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? walk(path.join(dir, f), rel + f + '/') : [rel + f]));

const targets = [];
for (const group of ['gitlab-templates', 'gitlab-templates-historical']) {
  const dir = path.join(corpus, group);
  if (!existsSync(dir)) continue;
  for (const f of walk(dir).filter((f) => /\.ya?ml$/.test(f))) targets.push({ name: `${group}/${f}`, dir, file: f, templates: dir });
}
for (const group of ['real-pipelines', 'gitlab-monorepo']) {
  const dir = path.join(corpus, group);
  if (!existsSync(dir)) continue;
  for (const d of readdirSync(dir)) if (existsSync(path.join(dir, d, '.gitlab-ci.yml'))) targets.push({ name: `${group}/${d}`, dir: path.join(dir, d), file: '.gitlab-ci.yml' });
}

const policy = builtinPolicy();
const childJobs = (ev) => (ev.children ?? []).reduce((n, c) => n + c.evaluation.pipeline.jobs.length + childJobs(c.evaluation), 0);
const results = [];
for (const t of targets) {
  try {
    const ev = await lintPipeline(new DirectorySource(t.dir, t.templates), t.file, { policy });
    const invalid = ev.findings.filter((f) => f.ruleId === 'ci-config-invalid');
    const blocking = ev.findings.filter((f) => f.blocking && f.ruleId !== 'ci-config-invalid');
    results.push({
      name: t.name,
      jobs: ev.pipeline.jobs.length,
      // jobs of child pipelines (trigger: include), counted apart from the parent's
      childJobs: childJobs(ev),
      rejected: invalid.map((f) => `${f.location.file}:${f.location.line}: ${f.message}`),
      blocking: blocking.map((f) => ({ rule: f.ruleId, job: f.job, at: `${f.location.file}:${f.location.line}`, message: f.message })),
      warnings: ev.findings.filter((f) => f.severity === 'warning').length,
      notes: ev.notes.length,
    });
  } catch (err) {
    results.push({ name: t.name, crash: err instanceof Error ? err.stack : String(err) });
  }
}

if (asJson) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const crashes = results.filter((r) => r.crash);
  console.log(`${results.length} configurations, ${crashes.length} crashes`);
  console.log('\nJobs per real pipeline (+ jobs of child pipelines):');
  for (const r of results.filter((r) => !r.crash && !r.name.startsWith('gitlab-templates'))) console.log(`  ${r.name}: ${r.jobs}${r.childJobs ? ` (+${r.childJobs})` : ''}`);
  for (const r of crashes) console.log(`CRASH ${r.name}\n${r.crash}`);
  console.log('\nRejected by GitLab standalone:');
  for (const r of results.filter((r) => r.rejected?.length)) console.log(`  ${r.name}: ${r.rejected[0]}${r.rejected.length > 1 ? ` (+${r.rejected.length - 1} more)` : ''}`);
  console.log('\nBlocking findings:');
  const byRule = new Map();
  for (const r of results.filter((r) => r.blocking?.length)) {
    console.log(`  ${r.name}: ${[...new Set(r.blocking.map((b) => b.rule))].join(', ')} (${r.blocking.length})`);
    for (const b of r.blocking) byRule.set(b.rule, (byRule.get(b.rule) ?? 0) + 1);
  }
  console.log('\nBlocking findings by rule:');
  for (const [rule, n] of [...byRule].sort((a, b) => b[1] - a[1])) console.log(`  ${rule.padEnd(36)} ${n}`);
  process.exitCode = crashes.length ? 1 : 0;
}
