import type { SourceLocation } from '../model/location.js';
import type { ReportSink } from '../findings/finding.js';
import type { Policy } from '../policy/types.js';
import type { RuleMeta } from '../findings/rule-meta.js';
import type { KeyPath } from './positions.js';

/** Trust tier of a runner, from policy name patterns (`policy.runners.tiers`). */
export type RunnerTier = 'deploy' | 'build' | 'general';

export type TomlTable = Record<string, unknown>;

/** One `[[runners]]` entry of a config file. */
export interface RunnerEntry {
  /** 0-based position among the file's `[[runners]]`. */
  index: number;
  /** `name` as written, or `runners[<index>]` when the entry has none. */
  name: string;
  tier: RunnerTier;
  /** `executor` as written (`docker`, `kubernetes`, `shell`, …), if any. */
  executor?: string;
  /** The raw `[[runners]]` table. */
  table: TomlTable;
  /** Where the entry starts (its `[[runners]]` header). */
  loc: SourceLocation;
  /** Policy allows `privileged = true` here: build tier and named in `privilegedAllowed`. */
  privilegedAllowed: boolean;
}

/** A parsed runner configuration file (plain `config.toml` or Helm values). */
export interface RunnerConfigDoc {
  file: string;
  format: 'toml' | 'helm-values';
  /** The whole TOML document (for Helm values: the `runners.config` string). */
  root: TomlTable;
  runners: RunnerEntry[];
  /** Location of a key path of the TOML document, in the file (undefined when not written). */
  locate(path: KeyPath, part?: 'key' | 'value' | 'inner'): SourceLocation | undefined;
  /** Helm values only: top-level YAML keys that matter to the rules (e.g. `runnerToken`). */
  helmValues?: Map<string, { value: unknown; keyLoc: SourceLocation; valueLoc: SourceLocation; innerLoc?: SourceLocation }>;
}

export interface RunnerRuleContext extends ReportSink {
  file: string;
  policy: Policy;
  doc: RunnerConfigDoc;
  /** A value under the runner (`get(['docker', 'privileged'])`). */
  get(path: KeyPath): unknown;
  /**
   * Where a key path under the runner was written; falls back to the nearest written
   * ancestor (e.g. the `[runners.kubernetes]` header for a missing key) and then the runner.
   */
  at(path: KeyPath, part?: 'key' | 'value' | 'inner'): SourceLocation;
}

/** Reports a finding that belongs to no single runner (job omitted from the finding). */
export interface FileRuleContext extends ReportSink {
  file: string;
  policy: Policy;
  doc: RunnerConfigDoc;
}

export interface RunnerRule {
  meta: RuleMeta;
  /** Judges one `[[runners]]` entry. */
  check(runner: RunnerEntry, ctx: RunnerRuleContext): void;
  /** Judges what belongs to the whole file (e.g. Helm values keys outside the TOML). */
  checkFile?(doc: RunnerConfigDoc, ctx: FileRuleContext): void;
}

/** Executors that read `[runners.docker]` (docker, docker-windows, docker+machine, docker-autoscaler). */
export function usesDocker(r: RunnerEntry): boolean {
  return r.executor === undefined ? r.table.docker !== undefined : r.executor.startsWith('docker');
}

export function usesKubernetes(r: RunnerEntry): boolean {
  return r.executor === undefined ? r.table.kubernetes !== undefined : r.executor === 'kubernetes';
}

export function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function describeRunner(r: RunnerEntry): string {
  return `runner "${r.name}" (${r.tier} tier)`;
}
