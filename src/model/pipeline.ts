import type { Diagnostic } from './diagnostics.js';
import { GITLAB_INCLUDE_LIMITS, IncludeExpander, type IncludeLimits, type IncludeRecord, type LoadedFile } from './include.js';
import type { SourceLocation } from './location.js';
import { annotateEntries, deepMerge, withVia, withoutKeys } from './merge.js';
import { get, str, strList, type Provenance, type YMap, type YMapEntry, type YNode, type YSeq } from './node.js';
import type { ConfigSource } from './source.js';
import { readVariables, type VariableDef } from './variables.js';

/** `lib/gitlab/ci/config/entry/root.rb`: keys of the root that are not jobs. */
export const RESERVED_KEYS = new Set(['default', 'include', 'before_script', 'image', 'services', 'after_script', 'variables', 'stages', 'cache', 'workflow', 'spec', 'types']);
/** Deprecated top-level aliases of `default:` keys (`root.rb`). */
const TOP_LEVEL_DEFAULTS = ['image', 'services', 'cache', 'before_script', 'after_script'];
/** `entry/default.rb` ALLOWED_KEYS. */
export const DEFAULT_KEYS = new Set(['after_script', 'artifacts', 'before_script', 'cache', 'hooks', 'id_tokens', 'identity', 'image', 'interruptible', 'retry', 'services', 'tags', 'timeout']);
/** `entry/job.rb` ALLOWED_KEYS + `entry/processable.rb` PROCESSABLE_ALLOWED_KEYS. */
const JOB_KEYS = new Set([
  'tags', 'script', 'run', 'type', 'image', 'services', 'start_in', 'artifacts', 'cache', 'dependencies', 'before_script', 'after_script',
  'hooks', 'environment', 'coverage', 'retry', 'parallel', 'interruptible', 'timeout', 'release', 'secrets', 'id_tokens', 'identity', 'pages',
  'publish', 'manual_confirmation', 'dast_configuration', 'extends', 'stage', 'only', 'except', 'rules', 'variables', 'inherit', 'allow_failure',
  'when', 'needs', 'resource_group', 'inputs',
]);
/** `entry/bridge.rb` ALLOWED_KEYS + processable keys. */
const BRIDGE_KEYS = new Set(['trigger', 'allow_failure', 'when', 'needs', 'extends', 'stage', 'only', 'except', 'rules', 'variables', 'inherit', 'environment', 'resource_group', 'parallel', 'inputs']);
const ALLOWED_WHEN = new Set(['on_success', 'on_failure', 'always', 'manual', 'delayed', 'never']);
/** `entry/stages.rb`: the default stages, with `.pre` first and `.post` last always. */
const DEFAULT_STAGES = ['build', 'test', 'deploy'];
/** `config/extendable/entry.rb` MAX_NESTING_LEVELS. */
const MAX_EXTENDS_DEPTH = 10;
/** `!reference` results nest at most 10 levels (`entry/commands.rb`, `entry/rules.rb`). */
const MAX_REFERENCE_NESTING = 10;
/** Keywords whose nested lists GitLab flattens (script-like and rules). */
const FLATTENED_KEYS = new Set(['script', 'before_script', 'after_script', 'rules', 'tags', 'run']);

export interface Job {
  name: string;
  kind: 'job' | 'bridge';
  /** Where the job's name is written. */
  keyLoc: SourceLocation;
  file: string;
  /** Resolved keywords: includes, `extends`, `!reference`, `default:` and `inherit:` applied. */
  node: YMap;
  stage: string;
  /** Effective runner tags. */
  tags: string[];
  /** Effective variables: inherited global ones (per `inherit:variables`) overridden by the job's. */
  variables: Map<string, VariableDef>;
  /** Only the job's own `variables:`. */
  jobVariables: Map<string, VariableDef>;
}

export interface Pipeline {
  rootFile: string;
  files: LoadedFile[];
  /** The whole configuration after includes, `extends` and `!reference`. */
  config?: YMap;
  jobs: Job[];
  hiddenJobs: string[];
  stages: string[];
  workflow?: YMap;
  /** Global `variables:`. */
  variables: Map<string, VariableDef>;
  default?: YMap;
  includes: IncludeRecord[];
  diagnostics: Diagnostic[];
}

export interface BuildOptions {
  includeLimits?: IncludeLimits;
}

/** Build the pipeline GitLab would build from `rootFile`, reading files through `source`. */
export async function buildPipeline(source: ConfigSource, rootFile = '.gitlab-ci.yml', opts: BuildOptions = {}): Promise<Pipeline> {
  const expander = new IncludeExpander(source, opts.includeLimits ?? GITLAB_INCLUDE_LIMITS);
  const merged = await expander.loadRoot(rootFile);
  const diagnostics = expander.diagnostics;
  const pipeline: Pipeline = {
    rootFile: rootFile.replace(/^\/+/, ''),
    files: [...expander.files.values()],
    jobs: [],
    hiddenJobs: [],
    stages: ['.pre', ...DEFAULT_STAGES, '.post'],
    variables: new Map(),
    includes: expander.includes,
    diagnostics,
  };
  if (!merged) return pipeline;
  // With an include that could not be read (offline, not allowlisted), a missing `extends`
  // parent, `!reference` target or job body may live in it: that is "unresolved", not invalid.
  const incomplete = pipeline.includes.some((i) => i.status === 'unresolved');
  const invalid = (message: string, location: SourceLocation, keyPath: string[], job?: string, dependsOnIncludes = false) =>
    diagnostics.push({
      kind: incomplete && dependsOnIncludes ? 'unresolved' : 'invalid',
      message: incomplete && dependsOnIncludes ? `${message} (it may come from an include that was not read)` : message,
      location,
      keyPath,
      job,
    });

  const extended = applyExtends(merged, invalid);
  const config = resolveReferences(extended, invalid);
  pipeline.config = config;

  // Stages.
  const stagesNode = config.entries.get('stages') ?? config.entries.get('types');
  if (stagesNode) {
    const list = strList(stagesNode.value);
    pipeline.stages = ['.pre', ...list.filter((s) => s !== '.pre' && s !== '.post'), '.post'];
  }
  pipeline.workflow = asMap(config.entries.get('workflow')?.value);
  pipeline.variables = readVariables(config.entries.get('variables')?.value);

  // `default:` and its deprecated top-level aliases (`entry/root.rb`).
  let defaults = asMap(config.entries.get('default')?.value);
  if (defaults) {
    for (const [k, e] of defaults.entries) if (!DEFAULT_KEYS.has(k)) invalid(`default config contains unknown keys: ${k}`, e.keyLoc, ['default', k]);
  }
  for (const k of TOP_LEVEL_DEFAULTS) {
    const top = config.entries.get(k);
    if (!top) continue;
    if (defaults?.entries.has(k)) {
      invalid(`\`${k}\` is set both at the top level and in \`default:\` (use only \`default:${k}\`)`, top.keyLoc, [k]);
      continue;
    }
    const entries: Map<string, YMapEntry> = new Map(defaults?.entries ?? []);
    entries.set(k, { ...top, value: withVia(top.value, { kind: 'top-level', from: k, loc: top.keyLoc }) });
    defaults = { kind: 'map', entries, loc: defaults?.loc ?? top.keyLoc };
  }
  pipeline.default = defaults;

  for (const [name, e] of config.entries) {
    if (RESERVED_KEYS.has(name)) continue;
    if (name.startsWith('.')) {
      pipeline.hiddenJobs.push(name);
      continue;
    }
    if (e.value.kind !== 'map') {
      invalid(`jobs:${name} config should be a hash`, e.keyLoc, [name], name);
      continue;
    }
    const isBridge = e.value.entries.has('trigger');
    if (!isBridge && !e.value.entries.has('script') && !e.value.entries.has('run')) {
      invalid(`jobs:${name} config should implement the script:, run:, or trigger: keyword`, e.keyLoc, [name], name, true);
      continue;
    }
    const job = resolveJob(name, e, isBridge, defaults, pipeline, invalid);
    pipeline.jobs.push(job);
  }
  if (pipeline.jobs.length === 0 && !diagnostics.some((d) => d.kind === 'invalid')) {
    invalid('jobs config should contain at least one visible job', merged.loc, [], undefined, true);
  }
  return pipeline;
}

type Invalid = (message: string, location: SourceLocation, keyPath: string[], job?: string, dependsOnIncludes?: boolean) => void;

function asMap(n: YNode | undefined): YMap | undefined {
  return n?.kind === 'map' ? n : undefined;
}

/**
 * `extends` (`lib/gitlab/ci/config/extendable/entry.rb`): parents deep-merged left to right,
 * the job last; at most 10 levels; unknown parents, non-hash parents and cycles are errors.
 */
function applyExtends(config: YMap, invalid: Invalid): YMap {
  const result = new Map(config.entries);
  const done = new Set<string>();
  const failed = new Set<string>();
  let reported = false;

  const extend = (key: string, path: string[]): YMap | undefined => {
    const e = result.get(key);
    if (!e || e.value.kind !== 'map') return undefined;
    if (done.has(key)) return e.value as YMap;
    const value = e.value;
    const extEntry = value.entries.get('extends');
    if (!extEntry) {
      done.add(key);
      return value;
    }
    const fail = (msg: string, dependsOnIncludes = false): YMap => {
      // GitLab stops at the first `extends` error (Extendable::ExtensionError makes the whole
      // config invalid with that one message: lib/gitlab/ci/config/extendable/entry.rb raises,
      // lib/gitlab/ci/config.rb turns it into a single ConfigError): one
      // finding, not one per template of a 3,000-template cycle.
      if (!reported) invalid(`\`${key}\`: ${msg}`, extEntry.keyLoc, [key, 'extends'], key.startsWith('.') ? undefined : key, dependsOnIncludes);
      reported = true;
      failed.add(key);
      done.add(key);
      return value;
    };
    if (path.includes(key)) return fail('circular dependency detected in `extends`');
    if (path.length >= MAX_EXTENDS_DEPTH) return fail('nesting too deep in `extends`');
    const parents = strList(extEntry.value);
    if (extEntry.value.kind !== 'scalar' && extEntry.value.kind !== 'seq') return fail('invalid `extends` value: a string or a list of strings');
    const unknown = parents.filter((p) => !result.has(p));
    if (unknown.length) return fail(`unknown keys in \`extends\` (${unknown.join(', ')})`, true);
    const invalidBases = parents.filter((p) => result.get(p)!.value.kind !== 'map');
    if (invalidBases.length) return fail(`invalid base hashes in \`extends\` (${invalidBases.join(', ')})`);
    let merged: YMap | undefined;
    for (const p of parents) {
      if (path.includes(p) || p === key) return fail('circular dependency detected in `extends`');
      const base = extend(p, [...path, key]);
      if (failed.has(p) && !base) return fail(`invalid base hashes in \`extends\` (${p})`);
      if (!base) continue;
      const annotated = annotateEntries(withoutKeys(base, ['extends']), { kind: 'extends', from: p, loc: extEntry.keyLoc });
      merged = merged ? deepMerge(merged, annotated) : annotated;
    }
    const out = merged ? deepMerge(merged, value) : value;
    result.set(key, { ...e, value: { ...out, loc: value.loc } });
    done.add(key);
    return result.get(key)!.value as YMap;
  };

  for (const key of config.entries.keys()) extend(key, []);
  return { ...config, entries: result };
}

/**
 * `!reference [a, b, …]` (`lib/gitlab/ci/config/yaml/tags/reference.rb`), resolved on the
 * config after `extends`; references inside the referenced value are resolved too.
 */
function resolveReferences(config: YMap, invalid: Invalid): YMap {
  const resolving = new Set<string>();
  const walk = (n: YNode, depth: number, topKey: string): YNode => {
    if (n.kind === 'reference') {
      const keyStr = n.path.join('\u0000');
      const label = `!reference ${JSON.stringify(n.path).replace(/,/g, ', ')}`;
      if (resolving.has(keyStr) || depth > 20) {
        invalid(`${label}: circular reference`, n.loc, [topKey]);
        return { kind: 'scalar', value: null, loc: n.loc };
      }
      let target: YNode | undefined = config;
      for (const p of n.path) target = target?.kind === 'map' ? target.entries.get(p)?.value : undefined;
      if (!target) {
        invalid(`${label} could not be found`, n.loc, [topKey], undefined, true);
        return { kind: 'scalar', value: null, loc: n.loc };
      }
      resolving.add(keyStr);
      const resolved = walk(target, depth + 1, topKey);
      resolving.delete(keyStr);
      return withVia(resolved, { kind: 'reference', from: n.path.join('.'), loc: n.loc });
    }
    if (n.kind === 'seq') {
      let changed = false;
      const items = n.items.map((it) => {
        const r = walk(it, depth, topKey);
        if (r !== it) changed = true;
        return r;
      });
      return changed ? { ...n, items } : n;
    }
    if (n.kind === 'map') {
      let changed = false;
      const entries = new Map<string, YMapEntry>();
      for (const [k, e] of n.entries) {
        const v = walk(e.value, depth, topKey);
        if (v !== e.value) changed = true;
        entries.set(k, v === e.value ? e : { ...e, value: v });
      }
      return changed ? { ...n, entries } : n;
    }
    return n;
  };
  const entries = new Map<string, YMapEntry>();
  for (const [k, e] of config.entries) entries.set(k, { ...e, value: walk(e.value, 0, k) });
  return { ...config, entries };
}

/** Flatten nested lists up to GitLab's nesting limit (script, rules, tags after `!reference`). */
function flatten(n: YSeq, level = 0): YSeq {
  if (!n.items.some((i) => i.kind === 'seq') || level >= MAX_REFERENCE_NESTING) return n;
  const items: YNode[] = [];
  for (const it of n.items) {
    // Items stay the very nodes that were written (shared between the jobs that reference
    // them); the list itself carries the `!reference` provenance.
    if (it.kind === 'seq') items.push(...flatten(it, level + 1).items);
    else items.push(it);
  }
  return { ...n, items };
}

function resolveJob(name: string, e: YMapEntry, isBridge: boolean, defaults: YMap | undefined, pipeline: Pipeline, invalid: Invalid): Job {
  let node = e.value as YMap;
  const allowed = isBridge ? BRIDGE_KEYS : JOB_KEYS;
  const unknown = [...node.entries.keys()].filter((k) => !allowed.has(k));
  if (unknown.length) invalid(`jobs:${name} config contains unknown keys: ${unknown.join(', ')}`, node.entries.get(unknown[0])!.keyLoc, [name, unknown[0]], name);

  // inherit:default / inherit:variables (`entry/inherit/*.rb`): true, false or a list of keys.
  const inheritSel = (key: 'default' | 'variables'): ((k: string) => boolean) => {
    const v = get(node, 'inherit', key);
    if (!v) return () => true;
    if (v.kind === 'scalar') return () => v.value !== false;
    const allow = new Set(strList(v));
    return (k) => allow.has(k);
  };
  const inheritDefault = inheritSel('default');
  if (defaults && !isBridge) {
    const entries = new Map(node.entries);
    for (const [k, de] of defaults.entries) {
      const own = entries.get(k);
      if ((own && !(own.value.kind === 'scalar' && own.value.value === null)) || !inheritDefault(k)) continue;
      entries.set(k, { ...de, value: withVia(de.value, { kind: 'default', from: 'default', loc: de.keyLoc }) });
    }
    node = { ...node, entries };
  }
  // Flatten script-like keywords and rules after `!reference`.
  for (const k of FLATTENED_KEYS) {
    const ent = node.entries.get(k);
    if (ent?.value.kind === 'seq') {
      const flat = flatten(ent.value);
      if (flat !== ent.value) {
        const entries = new Map(node.entries);
        entries.set(k, { ...ent, value: flat });
        node = { ...node, entries };
      }
    }
  }

  const when = get(node, 'when');
  if (when && when.kind === 'scalar' && when.value !== null && !ALLOWED_WHEN.has(String(when.value))) {
    invalid(`jobs:${name} when should be one of: on_success, on_failure, always, manual, delayed`, when.loc, [name, 'when'], name);
  }
  const stageNode = get(node, 'stage') ?? get(node, 'type');
  const stage = str(stageNode) ?? 'test';
  if (!pipeline.stages.includes(stage)) {
    invalid(`jobs:${name} chosen stage ${stage} does not exist; available stages are ${pipeline.stages.join(', ')}`, (stageNode ?? { loc: e.keyLoc }).loc, [name, 'stage'], name);
  }
  const tagsNode = get(node, 'tags');
  if (tagsNode && tagsNode.kind !== 'seq' && !(tagsNode.kind === 'scalar' && tagsNode.value === null)) {
    invalid(`jobs:${name}:tags config should be an array of strings`, tagsNode.loc, [name, 'tags'], name);
  }
  const jobVariables = readVariables(get(node, 'variables'));
  const inheritVars = inheritSel('variables');
  const variables = new Map<string, VariableDef>();
  for (const [k, v] of pipeline.variables) if (inheritVars(k)) variables.set(k, v);
  for (const [k, v] of jobVariables) variables.set(k, v);

  return {
    name,
    kind: isBridge ? 'bridge' : 'job',
    keyLoc: e.keyLoc,
    file: e.keyLoc.file,
    node,
    stage,
    tags: tagsNode?.kind === 'seq' ? strList(tagsNode) : [],
    variables,
    jobVariables,
  };
}

/** Where a job's keyword got its effective value, and how. */
export interface KeyOrigin {
  loc: SourceLocation;
  via: Provenance[];
  /** e.g. "from `.deploy_base` via `extends` (line 12 of .gitlab-ci.yml)". */
  explain: string;
}

export function keyOrigin(job: Job, key: string): KeyOrigin | undefined {
  const e = job.node.entries.get(key);
  if (!e) return undefined;
  const via = e.value.via ?? [];
  const parts = via.map((p) => {
    const at = p.loc ? ` (${p.loc.file}:${p.loc.line})` : '';
    switch (p.kind) {
      case 'extends':
        return `from \`${p.from}\` via \`extends\`${at}`;
      case 'default':
        return `from \`default:\`${at}`;
      case 'top-level':
        return `from top-level \`${p.from}\`${at}`;
      case 'reference':
        return `via \`!reference [${p.from.split('.').join(', ')}]\`${at}`;
      default:
        return `via ${p.kind} ${p.from}${at}`;
    }
  });
  const where = `${e.value.loc.file}:${e.value.loc.line}:${e.value.loc.column}`;
  return { loc: e.value.loc, via, explain: parts.length ? `${where}, ${parts.reverse().join(', ')}` : where };
}
