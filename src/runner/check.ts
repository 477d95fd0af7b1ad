/**
 * Runner configuration judge: GitLab Runner `config.toml` and the `runners.config` TOML string
 * of gitlab-runner Helm chart values. Public API used by `tierguard check-runner` and by
 * `tierguard lint` for runner config files found in a checkout.
 */
import type * as TomlModule from 'smol-toml';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { SourceLocation } from '../model/location.js';
import type { Finding } from '../findings/finding.js';
import { SourceFiles } from '../findings/sources.js';
import type { Policy } from '../policy/types.js';
import { matchesAny } from '../util/glob.js';
import { blankTemplateLines, extractHelmRunnerConfig, HelmValuesError, type HelmExtract } from './helm.js';
import { Reporter } from '../policy/reporter.js';
import { isTable, type RunnerConfigDoc, type RunnerEntry, type RunnerTier, type TomlTable } from './model.js';
import { pathKey, scanTomlPositions, type KeyPath, type TextPos } from './positions.js';
import { runnerRules } from './rules/index.js';
import { firstLine } from '../util/text.js';

let tomlModule: typeof TomlModule | undefined;
/**
 * `smol-toml`, loaded on the first runner config judged (the CLI bundle leaves it out; it loads
 * from node_modules). Its tables have no prototype: a table or key named `constructor` or
 * `toString` is a key like any other. `@iarna/toml` (used before) looked such names up through
 * Object.prototype and used the built-in function it found as the table: `[runners.toString]`
 * wrote the table's keys onto Object.prototype.toString, for the whole process (a second
 * parse of the same file then failed with "Can't redefine existing key", and what the table
 * held was lost to the rules).
 */
function toml(): typeof TomlModule {
  return (tomlModule ??= createRequire(import.meta.url)('smol-toml') as typeof TomlModule);
}

export { runnerRules };

/** Files above this size are refused (a runner config is a few kB). */
export const MAX_RUNNER_CONFIG_BYTES = 2 * 1024 * 1024;

/** Runner configs nest a handful of levels; deeper documents are refused before any recursion. */
const MAX_NESTING = 64;

export class RunnerConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = 'RunnerConfigError';
  }
}

interface RunnerSummary {
  name: string;
  tier: RunnerTier;
  executor?: string;
  loc: SourceLocation;
}

export interface RunnerCheckResult {
  findings: Finding[];
  /** The file's text with every secret found registered for masking. */
  sources: SourceFiles;
  runners: RunnerSummary[];
}

const RUNNERS_LINE = /^[ \t]*\[\[[ \t]*runners[ \t]*\]\]/m;

/**
 * Whether a file in a checkout is a runner configuration tierguard judges: a `*.toml` with a
 * `[[runners]]` table, or a YAML values file with `runners:` and `config:` whose text holds
 * `[[runners]]` (gitlab-runner Helm chart).
 */
export function looksLikeRunnerConfig(file: string, text: string): 'toml' | 'helm-values' | undefined {
  const name = basename(file).toLowerCase();
  if (name.endsWith('.toml')) return RUNNERS_LINE.test(text) ? 'toml' : undefined;
  if (name.endsWith('.yaml') || name.endsWith('.yml')) {
    if (/^runners:/m.test(text) && /^[ \t]+config:/m.test(text) && /\[\[[ \t]*runners[ \t]*\]\]/.test(text)) {
      return 'helm-values';
    }
  }
  return undefined;
}

/** Parse a runner config file into its runners, with positions. Throws RunnerConfigError. */
export function parseRunnerConfig(file: string, text: string, policy: Policy): RunnerConfigDoc {
  if (Buffer.byteLength(text, 'utf8') > MAX_RUNNER_CONFIG_BYTES) {
    throw new RunnerConfigError(file, 1, 1, `file is larger than ${MAX_RUNNER_CONFIG_BYTES} bytes`);
  }
  const lower = file.toLowerCase();
  const format = lower.endsWith('.yaml') || lower.endsWith('.yml') ? 'helm-values' : 'toml';
  let helm: HelmExtract | undefined;
  let tomlText = text;
  if (format === 'helm-values') {
    try {
      helm = extractHelmRunnerConfig(file, text);
    } catch (e) {
      if (e instanceof HelmValuesError) throw new RunnerConfigError(file, e.line, e.column, e.message);
      throw new RunnerConfigError(file, 1, 1, `invalid YAML: ${(e as Error).message}`);
    }
    tomlText = helm.toml === undefined ? '' : blankTemplateLines(helm.toml);
  }
  const mapPos = helm?.mapPos ?? ((p: TextPos) => p);

  let root: TomlTable;
  try {
    // Integers past 2^53 (TOML allows 64 bits, as gitlab-runner reads them) stay exact as BigInt.
    root = toml().parse(tomlText, { integersAsBigInt: 'asNeeded' });
  } catch (e) {
    // smol-toml's TomlError: 1-based line and column; the message starts with "Invalid TOML
    // document: " and ends with the offending lines.
    const err = e as { line?: number; column?: number; message?: string };
    const where = mapPos({ line: err.line ?? 1, column: err.column ?? 1 });
    const what = firstLine(String(err.message ?? e).replace(/^Invalid TOML document: /, ''));
    const inside = format === 'helm-values' ? ' in runners.config' : '';
    throw new RunnerConfigError(file, where.line, where.column, `invalid TOML${inside}: ${what}`);
  }

  const depth = maxDepth(root);
  if (depth > MAX_NESTING) {
    throw new RunnerConfigError(file, mapPos({ line: 1, column: 1 }).line, 1, `TOML nests deeper than ${MAX_NESTING} levels`);
  }

  const positions = scanTomlPositions(tomlText);
  const locate = (path: KeyPath, part: 'key' | 'value' | 'inner' = 'value'): SourceLocation | undefined => {
    const pos = positions.get(pathKey(path));
    if (!pos) return undefined;
    const range = pos[part] ?? pos.value;
    const a = mapPos(range.start);
    const b = mapPos(range.end);
    return { file, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
  const fileStart: SourceLocation = { file, line: 1, column: 1, endLine: 1, endColumn: 1 };

  const rawRunners = root.runners;
  if (rawRunners !== undefined && !Array.isArray(rawRunners)) {
    const at = locate(['runners'], 'key') ?? fileStart;
    throw new RunnerConfigError(file, at.line, at.column, '`runners` must be an array of tables (`[[runners]]`)');
  }
  const helmName = helm?.values.get('runners.name')?.value;
  const runners: RunnerEntry[] = [];
  (rawRunners ?? []).forEach((table: unknown, index: number) => {
    const loc = locate(['runners', index], 'key') ?? locate(['runners'], 'key') ?? fileStart;
    if (!isTable(table)) {
      throw new RunnerConfigError(file, loc.line, loc.column, `runners[${index}] must be a table`);
    }
    const name =
      typeof table.name === 'string' && table.name.trim() !== ''
        ? table.name
        : typeof helmName === 'string' && helmName.trim() !== ''
          ? helmName
          : `runners[${index}]`;
    const tier: RunnerTier = matchesAny(name, policy.runners.tiers.deploy)
      ? 'deploy'
      : matchesAny(name, policy.runners.tiers.build)
        ? 'build'
        : 'general';
    runners.push({
      index,
      name,
      tier,
      executor: typeof table.executor === 'string' ? table.executor : undefined,
      table,
      loc,
      privilegedAllowed: tier === 'build' && matchesAny(name, policy.runners.privilegedAllowed),
    });
  });

  return { file, format, root, runners, locate, helmValues: helm?.values };
}

/**
 * Judge one runner config file with every runner rule, through the Reporter (policy severity,
 * exceptions as of `today`). Throws RunnerConfigError on bad input.
 */
export function checkRunnerConfig(file: string, text: string, policy: Policy, opts: { today?: Date } = {}): RunnerCheckResult {
  const doc = parseRunnerConfig(file, text, policy);
  const sources = new SourceFiles();
  sources.add(file, text);
  // Runner configs quote their values in messages: mask them there too.
  const reporter = new Reporter(policy, { today: opts.today ?? new Date(), sources, maskMessages: true, oncePerFingerprint: true });

  const identities = runnerKeys(doc);
  for (const rule of runnerRules) {
    const { report } = reporter.rule(rule.meta);
    for (const runner of doc.runners) {
      const base: KeyPath = ['runners', runner.index];
      const identity = identities.get(runner)!;
      rule.check(runner, {
        file,
        policy,
        doc,
        get: (path) => getPath(runner.table, path),
        at: (path, part = 'value') => {
          for (let n = path.length; n > 0; n--) {
            const loc = doc.locate([...base, ...path.slice(0, n)], n === path.length ? part : 'key');
            if (loc) return loc;
          }
          return runner.loc;
        },
        report: (r) => report({ ...r, job: runner.name, identity }),
      });
    }
    rule.checkFile?.(doc, { file, policy, doc, report });
  }

  return {
    findings: reporter.finish(),
    sources,
    runners: doc.runners.map((r) => ({ name: r.name, tier: r.tier, executor: r.executor, loc: r.loc })),
  };
}

/**
 * Each runner's name in fingerprints; made unique when a file repeats a name (`name#k`, the
 * k-th runner of that name). One pass over the file, however many runners it has.
 */
function runnerKeys(doc: RunnerConfigDoc): Map<RunnerEntry, string> {
  const total = new Map<string, number>();
  for (const r of doc.runners) total.set(r.name, (total.get(r.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  const out = new Map<RunnerEntry, string>();
  for (const r of doc.runners) {
    const k = seen.get(r.name) ?? 0;
    seen.set(r.name, k + 1);
    out.set(r, total.get(r.name)! > 1 ? `${r.name}#${k}` : r.name);
  }
  return out;
}

export function getPath(root: unknown, path: KeyPath): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[seg];
    } else {
      if (!isTable(cur)) return undefined;
      cur = cur[seg];
    }
  }
  return cur;
}

/** Nesting depth of a parsed TOML value, computed without recursion. */
function maxDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (d > MAX_NESTING) return d;
    if (Array.isArray(v)) for (const x of v) stack.push([x, d + 1]);
    else if (isTable(v)) for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
  return max;
}
