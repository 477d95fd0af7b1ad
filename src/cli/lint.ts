import { readdirSync, readFileSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import type { Finding } from '../findings/finding.js';
import { SourceFiles } from '../findings/sources.js';
import { renderFindings, type RenderFormat } from '../findings/render/index.js';
import { DirectorySource } from '../model/source.js';
import type { Policy } from '../policy/types.js';
import { judge, type JudgeInput, type LiveAccess } from '../judge/judge.js';
import type { Evaluation } from '../rules/engine.js';
import { looksLikeRunnerConfig, RunnerConfigError } from '../runner/check.js';
import type { Outcome } from '../contexts/reach.js';
import { renderContextTable } from './context-table.js';
import type { ContextId } from '../contexts/contexts.js';
import { allRuleMetas } from '../catalogue/catalogue.js';
import { UsageError } from './io.js';
import { toolVersion } from '../util/package-info.js';
import { compareText } from '../util/text.js';

export interface LintRun {
  findings: Finding[];
  sources: SourceFiles;
  notes: string[];
  evaluations: Evaluation[];
  /** Why the live checks as a whole could not run (`judge()`'s liveError), when they could not. */
  liveError?: string;
}

export interface LintTargetOptions {
  policy: Policy;
  defaultBranch: string;
  templatesDir?: string;
  today?: Date;
  /** Root CI file name inside a checkout (the project's `ci_config_path`). */
  ciFile?: string;
  /** Unread includes are blocking `ci-config-unverified` findings (`--strict`), not notes. */
  strict?: boolean;
  /** Live data about variables that override YAML values (as `judge()` takes it). */
  variables?: JudgeInput['variables'];
  /** Live checks of the CI configuration against the project as GitLab has it (one checkout). */
  live?: LiveAccess;
}

const RUNNER_SCAN_LIMIT = 2000;
/** Not scanned for runner configs: dependencies, build output and test fixtures (deliberately bad examples). */
const SKIP_DIRS = new Set(['.git', 'node_modules', 'vendor', 'dist', 'build', 'target', 'fixtures', '__fixtures__', 'testdata']);

/**
 * `tierguard lint PATH…`: a directory is a checkout (its root CI file, local includes from
 * disk, and the runner configuration files it holds); a file is a CI file (with the directory
 * it lies in as the checkout) or a runner config.
 */
export async function lintTargets(paths: string[], cwd: string, opts: LintTargetOptions): Promise<LintRun> {
  const run: LintRun = { findings: [], sources: new SourceFiles(), notes: [], evaluations: [] };
  const prefixFor = (p: string) => (paths.length > 1 ? path.relative(cwd, path.resolve(cwd, p)).replace(/\\/g, '/') + '/' : '');
  for (const p of paths) {
    const abs = path.resolve(cwd, p);
    let st: Stats;
    try {
      st = statSync(abs);
    } catch {
      throw new UsageError(`${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const prefix = prefixFor(p);
      const ciFile = opts.ciFile ?? '.gitlab-ci.yml';
      const runnerFiles = findRunnerConfigs(abs);
      const hasCi = isFile(path.join(abs, ciFile));
      if (!hasCi && runnerFiles.length === 0) {
        throw new UsageError(`${p}: no ${ciFile} and no runner configuration here (give a checkout, a CI file, or --ci-file NAME)`);
      }
      if (!hasCi) run.notes.push(`${prefix}${ciFile}: not present; only runner configuration files were judged`);
      await judgeCheckout(abs, hasCi ? ciFile : undefined, runnerFiles, prefix, run, opts);
    } else {
      const dir = path.dirname(abs);
      const base = path.basename(abs);
      const prefix = paths.length > 1 ? prefixFor(path.dirname(p) || '.') : '';
      const text = readFileSync(abs, 'utf8');
      if (looksLikeRunnerConfig(base, text)) await judgeCheckout(dir, undefined, [base], prefix, run, opts);
      else await judgeCheckout(dir, base, [], prefix, run, opts);
    }
  }
  return run;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** One checkout (or one file of it) judged by `judge()`, the call the service makes too. */
async function judgeCheckout(dir: string, rootFile: string | undefined, runnerFiles: string[], prefix: string, run: LintRun, opts: LintTargetOptions): Promise<void> {
  const j = await judge({
    policy: opts.policy,
    ...(rootFile !== undefined ? { ci: { source: new DirectorySource(dir, opts.templatesDir), rootFile } } : {}),
    runnerFiles: runnerFiles.map((rel) => ({ path: rel, text: readFileSync(path.join(dir, rel), 'utf8') })),
    defaultBranch: opts.defaultBranch,
    today: opts.today,
    strict: opts.strict,
    variables: opts.variables,
    ...(opts.live && rootFile !== undefined ? { live: opts.live } : {}),
  });
  const bad = j.unreadable[0];
  if (bad) throw bad.error instanceof RunnerConfigError ? new UsageError(prefix + bad.error.message) : bad.error;
  if (j.evaluation) run.evaluations.push(j.evaluation);
  run.sources.absorb(j.sources, prefix);
  run.findings.push(...j.findings.map((f) => withPrefix(f, prefix)));
  run.notes.push(...j.notes.map((n) => prefix + n));
  // The live checks' notes word their own skip lines (`Live check \`…\` skipped: …`).
  run.notes.push(...j.liveNotes);
  if (j.liveError) run.liveError ??= j.liveError;
}

function withPrefix(f: Finding, prefix: string): Finding {
  if (!prefix) return f;
  const loc = { ...f.location, file: prefix + f.location.file };
  return {
    ...f,
    location: loc,
    related: f.related?.map((r) => ({ ...r, location: { ...r.location, file: prefix + r.location.file } })),
    fix: f.fix && { ...f.fix, location: { ...f.fix.location, file: prefix + f.fix.location.file } },
  };
}

/**
 * Runner config files in a checkout: `*.toml` with `[[runners]]`, Helm values with `runners.config`.
 * Read synchronously, as the checkout's CI files are (DirectorySource): the CLI has nothing else
 * to do meanwhile, and every fs/promises step is a trip through the thread pool.
 */
function findRunnerConfigs(root: string): string[] {
  const out: string[] = [];
  let seen = 0;
  const walk = (dir: string, rel: string, depth: number): void => {
    if (depth > 8 || seen > RUNNER_SCAN_LIMIT) return;
    let ents: Dirent[];
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents.sort((a, b) => compareText(a.name, b.name))) {
      if (++seen > RUNNER_SCAN_LIMIT) return;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(path.join(dir, e.name), rel + e.name + '/', depth + 1);
        continue;
      }
      if (!e.isFile() || !/\.(toml|ya?ml)$/i.test(e.name)) continue;
      if (/\.ya?ml$/i.test(e.name) && !/values/i.test(e.name)) continue;
      const full = path.join(dir, e.name);
      if (statSync(full).size > 2 * 1024 * 1024) continue;
      const text = readFileSync(full, 'utf8');
      if (looksLikeRunnerConfig(e.name, text)) out.push(rel + e.name);
    }
  };
  walk(root, '', 0);
  return out;
}

/** Table rows: each job, and under a trigger job the jobs of its child pipeline, indented. */
function contextRows(ev: Evaluation, depth = 0): { job: string; reach: Partial<Record<ContextId, Outcome>> }[] {
  const rows: { job: string; reach: Partial<Record<ContextId, Outcome>> }[] = [];
  const pad = depth ? '  '.repeat(depth - 1) + '└ ' : '';
  for (const j of ev.pipeline.jobs) {
    rows.push({ job: pad + j.name, reach: ev.trust.get(j.name)!.byContext });
    for (const c of ev.children ?? []) if (c.trigger === j.name) rows.push(...contextRows(c.evaluation, depth + 1));
  }
  return rows;
}

export function renderLint(run: LintRun, format: RenderFormat, opts: { contexts?: boolean; color?: boolean }): string {
  let out = '';
  if (opts.contexts && format === 'text') {
    for (const ev of run.evaluations) {
      const rows = contextRows(ev);
      out += `Trust contexts of ${ev.pipeline.rootFile} (default branch ${ev.defaultBranch}):\n` + renderContextTable(rows) + '\n';
    }
  }
  out += renderFindings(format, {
    findings: run.findings,
    sources: run.sources,
    rules: allRuleMetas(),
    toolVersion: toolVersion(),
    color: opts.color,
    diagnostics: run.notes,
  });
  return out;
}
