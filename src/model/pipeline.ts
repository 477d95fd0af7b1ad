import type { Diagnostic } from './diagnostics.js';
import { describeInclude, GITLAB_INCLUDE_LIMITS, IncludeExpander, type IncludeLimits, type IncludeRecord, type LoadedFile } from './include.js';
import type { SourceLocation } from './location.js';
import { annotateEntries, copyEntries, deepMerge, withVia, withoutKeys } from './merge.js';
import { entry, get, scalarText, str, strList, type Provenance, type YMap, type YMapEntry, type YNode, type YSeq } from './node.js';
import type { ConfigSource } from './source.js';
import { readVariables, type VariableDef } from './variables.js';

/** `lib/gitlab/ci/config/entry/root.rb`: keys of the root that are not jobs. */
export const RESERVED_KEYS = new Set(['default', 'include', 'before_script', 'image', 'services', 'after_script', 'variables', 'stages', 'cache', 'workflow', 'spec', 'types']);
/** Deprecated top-level aliases of `default:` keys (`root.rb`). */
const TOP_LEVEL_DEFAULTS = ['image', 'services', 'cache', 'before_script', 'after_script'];
/** `entry/default.rb` ALLOWED_KEYS. */
const DEFAULT_KEYS = new Set(['after_script', 'artifacts', 'before_script', 'cache', 'hooks', 'id_tokens', 'identity', 'image', 'interruptible', 'retry', 'services', 'tags', 'timeout']);
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
  jobVariables: ReadonlyMap<string, VariableDef>;
  /**
   * Set when an `extends` parent of the job was not found and an include was not read: the
   * known parents are merged in order, and keys outside `certainKeys` may be set or overridden
   * by the unread parents (three-valued: see `keyUncertainty`).
   */
  partial?: PartialJob;
}

interface PartialJob {
  /** `extends` parents not found (directly, or through a known parent). */
  unreadParents: string[];
  /** Keys whose value is certain: written by the job itself, or by a known parent merged after every unread one. */
  certainKeys: Set<string>;
  /** The includes that were not read (one of them may define the parents), named as notes name them. */
  unreadIncludes: string[];
}

/**
 * Whether a job's keyword may differ from the model because of an unread `extends` parent (or
 * a job of the same name in an unread include), and if so a phrase saying why: "`tags` may be
 * set by `.remote` (from an include that was not read: include:remote `https://…`)".
 * Undefined when the value is certain.
 */
export function keyUncertainty(job: Job, key: string): string | undefined {
  const p = job.partial;
  if (!p || p.certainKeys.has(key)) return undefined;
  const verb = job.node.entries.has(key) ? 'may be overridden' : 'may be set';
  const incs = p.unreadIncludes.length === 0 ? '' : p.unreadIncludes.length === 1 ? `: ${p.unreadIncludes[0]}` : `: one of ${p.unreadIncludes.join(', ')}`;
  if (p.unreadParents.length === 0) return `\`${key}\` ${verb} by the job of the same name in an include that was not read${incs}`;
  const parents = p.unreadParents.map((x) => `\`${x}\``).join(', ');
  return `\`${key}\` ${verb} by ${parents} (from an include that was not read${incs})`;
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
  variables: ReadonlyMap<string, VariableDef>;
  default?: YMap;
  includes: IncludeRecord[];
  diagnostics: Diagnostic[];
  /** Child pipelines started by `trigger: include` (loaded where readable), in job order. */
  children?: ChildPipeline[];
  /** Multi-project triggers (`trigger: project`): pipelines judged in their own project. */
  downstream?: DownstreamPipeline[];
}

interface ChildPipeline {
  /** The trigger job (bridge) that starts it. */
  trigger: string;
  /** Where its `trigger: include` is written. */
  loc: SourceLocation;
  /** The child's configuration as a pipeline of its own; parts not read are `status: 'unresolved'` records in its `includes`. */
  pipeline: Pipeline;
}

interface DownstreamPipeline {
  job: string;
  project: string;
  branch?: string;
  loc: SourceLocation;
}

export interface BuildOptions {
  includeLimits?: IncludeLimits;
}

/** Build the pipeline GitLab would build from `rootFile`, reading files through `source`. */
export async function buildPipeline(source: ConfigSource, rootFile = '.gitlab-ci.yml', opts: BuildOptions = {}): Promise<Pipeline> {
  const expander = new IncludeExpander(source, opts.includeLimits ?? GITLAB_INCLUDE_LIMITS);
  const merged = await expander.loadRoot(rootFile);
  return assemble(source, expander, merged, rootFile.replace(/^\/+/, ''), opts, 0);
}

/**
 * GitLab nests child pipelines at most two levels deep (`doc/ci/pipelines/downstream_pipelines.md`:
 * a parent, its child, and the child's child).
 */
const MAX_CHILD_DEPTH = 2;

async function assemble(source: ConfigSource, expander: IncludeExpander, merged: YMap | undefined, rootFile: string, opts: BuildOptions, depth: number, child?: ChildOf): Promise<Pipeline> {
  const diagnostics = expander.diagnostics;
  const pipeline: Pipeline = {
    rootFile,
    files: [...expander.files.values()],
    jobs: [],
    hiddenJobs: [],
    stages: ['.pre', ...DEFAULT_STAGES, '.post'],
    variables: new Map(),
    includes: expander.includes,
    diagnostics,
    children: [],
    downstream: [],
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

  const unreadIncludes = pipeline.includes.filter((i) => i.status === 'unresolved').map(describeInclude);
  const partials = new Map<string, PartialJob>();
  const missing = new Map<string, { users: string[]; loc: SourceLocation }>();
  const extended = applyExtends(merged, invalid, incomplete ? { partials, unreadIncludes, missing } : undefined);
  for (const [parent, m] of missing) {
    const users = m.users.length > 5 ? `${m.users.slice(0, 5).map((u) => `\`${u}\``).join(', ')} and ${m.users.length - 5} more` : m.users.map((u) => `\`${u}\``).join(', ');
    diagnostics.push({
      kind: 'unresolved',
      message: `\`${parent}\` (extended by ${users}) is not in the files read: it may come from an include that was not read; what it sets is unknown`,
      location: m.loc,
      keyPath: [m.users[0]!, 'extends'], // created with its first user
    });
  }
  const config = standInScriptItems(resolveReferences(extended, invalid), expander.files);
  pipeline.config = config;
  // One `ci-config-invalid` per invalid script item, however many jobs inherit it.
  const reportedItems = new Set<string>();
  const checkScripts = (node: YMap | undefined, prefix: string, job?: string) => {
    for (const { key, item } of invalidScriptItems(node)) {
      const k = `${item.loc.file}:${item.loc.line}:${item.loc.column}`;
      if (reportedItems.has(k)) continue;
      reportedItems.add(k);
      // `lib/gitlab/ci/config/entry/commands.rb` (string_or_nested_array_of_strings, 10 levels)
      invalid(`${prefix}:${key} config should be a string or a nested array of strings up to 10 levels deep`, item.loc, job ? [job, key] : prefix.split(':').concat(key), job);
    }
  };

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
  checkScripts(defaults, 'default');

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
    let partial = partials.get(name);
    if (!isBridge && !e.value.entries.has('script') && !e.value.entries.has('run')) {
      // With an unread `extends` parent the script may come from it: keep what is known.
      if (!partial) {
        invalid(`jobs:${name} config should implement the script:, run:, or trigger: keyword`, e.keyLoc, [name], name, true);
        if (!incomplete) continue;
        // A job written over one from an unread include (a component's, a template's): GitLab
        // merges the two; what the include sets is unknown, what is written here holds.
        partial = { unreadParents: [], certainKeys: new Set([...e.value.entries.keys()].filter((k) => k !== 'extends')), unreadIncludes };
      }
    }
    const job = resolveJob(name, e, isBridge, defaults, pipeline, invalid);
    if (partial) job.partial = partial;
    checkScripts(job.node, `jobs:${name}`, name);
    pipeline.jobs.push(job);
  }
  if (pipeline.jobs.length === 0 && !diagnostics.some((d) => d.kind === 'invalid') && !(child && incomplete)) {
    invalid('jobs config should contain at least one visible job', merged.loc, [], undefined, true);
  }
  // Trigger variables (the trigger job's `variables:`, forwarded unless
  // `forward:yaml_variables: false`) override the child's YAML values.
  if (child) for (const job of pipeline.jobs) for (const [k, v] of child.variables) job.variables.set(k, v);
  await triggers(source, pipeline, opts, depth);
  return pipeline;
}

interface ChildOf {
  trigger: string;
  variables: Map<string, VariableDef>;
}

/**
 * Trigger jobs (`entry/trigger.rb`): `trigger: include` starts a child pipeline in this project
 * (same ref, `CI_PIPELINE_SOURCE=parent_pipeline`), built here from the files it names;
 * `trigger: project` (or a string) starts a pipeline in another project, judged there.
 */
async function triggers(source: ConfigSource, pipeline: Pipeline, opts: BuildOptions, depth: number): Promise<void> {
  for (const job of pipeline.jobs) {
    if (job.kind !== 'bridge') continue;
    const t = get(job.node, 'trigger');
    if (!t) continue;
    const project = t.kind === 'scalar' ? str(t) : str(get(t, 'project'));
    const forward = get(t, 'forward');
    const flag = (k: string) => { const n = get(forward, k); return n?.kind === 'scalar' ? n.value : undefined; };
    // `entry/trigger/forward.rb`: yaml_variables default true, pipeline_variables default false
    const yamlVars = flag('yaml_variables') !== false;
    const pipelineVars = flag('pipeline_variables') === true;
    if (project !== undefined) {
      const branch = str(get(t, 'branch'));
      pipeline.downstream!.push({ job: job.name, project, branch, loc: t.loc });
      pipeline.diagnostics.push({
        kind: 'note',
        message: `trigger job \`${job.name}\` starts a pipeline in project \`${project}\`${branch ? ` (branch \`${branch}\`)` : ''}${forwarded(yamlVars, pipelineVars)}: its jobs are judged in that project, not here`,
        location: t.loc,
        keyPath: [job.name, 'trigger'],
        job: job.name,
      });
      continue;
    }
    const inc = get(t, 'include');
    if (!inc) continue;
    const at = entry(t, 'include')!.keyLoc;
    if (depth >= MAX_CHILD_DEPTH) {
      pipeline.diagnostics.push({ kind: 'invalid', message: `jobs:${job.name}:trigger child pipelines can be nested at most ${MAX_CHILD_DEPTH} levels deep`, location: at, keyPath: [job.name, 'trigger'], job: job.name });
      continue;
    }
    const expander = new IncludeExpander(source, opts.includeLimits ?? GITLAB_INCLUDE_LIMITS);
    const merged = await expander.loadIncludes(inc, job.file, job.name);
    const first = expander.includes.find((r) => r.files.length)?.files[0];
    const childPipeline = await assemble(source, expander, merged, first ?? job.file, opts, depth + 1, {
      trigger: job.name,
      variables: yamlVars ? job.variables : new Map<string, VariableDef>(),
    });
    pipeline.children!.push({ trigger: job.name, loc: at, pipeline: childPipeline });
  }
}

function forwarded(yamlVars: boolean, pipelineVars: boolean): string {
  const what = [yamlVars && 'its YAML variables', pipelineVars && 'the pipeline variables'].filter(Boolean);
  return what.length ? `, passing ${what.join(' and ')}` : '';
}

/** Every include record of a pipeline and of its child pipelines (an unread one has `status: 'unresolved'`). */
export function allIncludes(p: Pipeline): IncludeRecord[] {
  return [...p.includes, ...(p.children ?? []).flatMap((c) => allIncludes(c.pipeline))];
}

type Invalid = (message: string, location: SourceLocation, keyPath: string[], job?: string, dependsOnIncludes?: boolean) => void;

function asMap(n: YNode | undefined): YMap | undefined {
  return n?.kind === 'map' ? n : undefined;
}

/**
 * `extends` (`lib/gitlab/ci/config/extendable/entry.rb`): parents deep-merged left to right,
 * the job last; at most 10 levels; unknown parents, non-hash parents and cycles are errors.
 */
function applyExtends(
  config: YMap,
  invalid: Invalid,
  unread?: { partials: Map<string, PartialJob>; unreadIncludes: string[]; missing: Map<string, { users: string[]; loc: SourceLocation }> },
): YMap {
  const result = copyEntries(config.entries);
  const done = new Set<string>();
  const failed = new Set<string>();
  const partials = unread?.partials ?? new Map<string, PartialJob>();
  let reported = false;

  const extend = (key: string, path: string[]): YMap | undefined => {
    const e = result.get(key);
    if (!e || e.value.kind !== 'map') return undefined;
    if (done.has(key)) return e.value;
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
    if (unknown.length) {
      if (!unread) return fail(`unknown keys in \`extends\` (${unknown.join(', ')})`, true);
      // GitLab would merge the parents in order; the unread ones may live in an unread include.
      // One note per missing parent (not per job): it names who extends it.
      for (const p of unknown) {
        const seen = unread.missing.get(p);
        if (seen) seen.users.push(key);
        else unread.missing.set(p, { users: [key], loc: extEntry.keyLoc });
      }
    }
    const invalidBases = parents.filter((p) => result.has(p) && result.get(p)!.value.kind !== 'map');
    if (invalidBases.length) return fail(`invalid base hashes in \`extends\` (${invalidBases.join(', ')})`);
    let merged: YMap | undefined;
    // Which keys are certain, parent by parent (an unread parent may set any key, overriding
    // the parents before it; a partial parent is certain only in its own certain keys).
    let certain = new Set<string>();
    const unreadParents: string[] = [];
    for (const p of parents) {
      if (path.includes(p) || p === key) return fail('circular dependency detected in `extends`');
      if (!result.has(p)) {
        unreadParents.push(p);
        certain = new Set();
        continue;
      }
      const base = extend(p, [...path, key]);
      if (failed.has(p) && !base) return fail(`invalid base hashes in \`extends\` (${p})`);
      if (!base) continue;
      const pp = partials.get(p);
      if (pp) {
        unreadParents.push(...pp.unreadParents);
        certain = new Set(pp.certainKeys);
      } else for (const k of base.entries.keys()) if (k !== 'extends') certain.add(k);
      const annotated = annotateEntries(withoutKeys(base, ['extends']), { kind: 'extends', from: p, loc: extEntry.keyLoc });
      merged = merged ? deepMerge(merged, annotated) : annotated;
    }
    if (unreadParents.length) {
      for (const k of value.entries.keys()) if (k !== 'extends') certain.add(k);
      partials.set(key, { unreadParents: [...new Set(unreadParents)], certainKeys: certain, unreadIncludes: unread?.unreadIncludes ?? [] });
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
  const refs = new Map<YNode, boolean>();
  const walk = (n: YNode, depth: number, topKey: string): YNode => {
    // A subtree without `!reference` stays as it is (most of a configuration, and `extends`
    // shares subtrees between many jobs): skip it without copying.
    if (!hasReference(n, refs)) return n;
    if (n.kind === 'reference') {
      const keyStr = n.path.join('\u0000');
      const label = `!reference ${JSON.stringify(n.path).replace(/,/g, ', ')}`;
      if (resolving.has(keyStr) || depth > 20) {
        invalid(`${label}: circular reference`, n.loc, [topKey]);
        return { kind: 'scalar', value: null, loc: n.loc, tag: '!reference' };
      }
      let target: YNode | undefined = config;
      for (const p of n.path) target = target?.kind === 'map' ? target.entries.get(p)?.value : undefined;
      if (!target) {
        invalid(`${label} could not be found`, n.loc, [topKey], undefined, true);
        return { kind: 'scalar', value: null, loc: n.loc, tag: '!reference' };
      }
      resolving.add(keyStr);
      const resolved = walk(target, depth + 1, topKey);
      resolving.delete(keyStr);
      return withVia(resolved, { kind: 'reference', from: n.path.join('.'), loc: n.loc });
    }
    if (n.kind === 'seq') {
      const items = n.items.map((it) => walk(it, depth, topKey));
      return items.some((r, i) => r !== n.items[i]) ? { ...n, items } : n;
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
  config.entries.forEach((e, k) => entries.set(k, { ...e, value: walk(e.value, 0, k) }));
  return { ...config, entries };
}

/** Whether a `!reference` is written anywhere in `n` (memoised in `seen`: nodes are shared and immutable). */
function hasReference(n: YNode, seen: Map<YNode, boolean>): boolean {
  if (n.kind === 'scalar') return false;
  if (n.kind === 'reference') return true;
  let hit = seen.get(n);
  if (hit === undefined) {
    hit = false;
    if (n.kind === 'seq') {
      // Index loops and forEach, here and in the model's other walks over every node: the CLI
      // runs without V8's optimizing compiler (bin/tierguard.js), and a for-of then allocates an
      // iterator result per item (a Map's also a [key, value] pair): they were a third of what a
      // `lint` allocated (CMake's pipeline: 11 scavenges before these walks changed, 10 after).
      const items = n.items;
      for (let i = 0; i < items.length; i++) if (hasReference(items[i]!, seen)) hit = true;
    } else n.entries.forEach((e) => (hit = hasReference(e.value, seen) || hit));
    seen.set(n, hit);
  }
  return hit;
}

/** Keywords GitLab reads as commands (`entry/commands.rb`): a string or nested lists of strings. */
const COMMAND_KEYS = ['before_script', 'script', 'after_script'] as const;

/**
 * GitLab rejects a script item that is not a string (`entry/commands.rb`): typically an
 * unquoted `- curl -H "PRIVATE-TOKEN: …" …` that YAML reads as a mapping. Each such item is
 * replaced by a scalar holding its source text as written (marked `invalidScriptItem`), so
 * the script rules still read the command, and the model reports it where it is written.
 */
function standInScriptItems(config: YMap, files: ReadonlyMap<string, LoadedFile>): YMap {
  const lineStarts = new Map<string, number[]>();
  const slice = (loc: SourceLocation): string => {
    const text = files.get(loc.file)?.text;
    if (text === undefined) return '';
    let starts = lineStarts.get(loc.file);
    if (!starts) {
      starts = [0];
      for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
      lineStarts.set(loc.file, starts);
    }
    const off = (line: number, col: number) => (starts[line - 1] ?? text.length) + col - 1;
    return text.slice(off(loc.line, loc.column), off(loc.endLine, loc.endColumn)).trimEnd();
  };
  const standIn = (n: YNode): YNode => {
    if (n.kind === 'scalar') {
      if (typeof n.value === 'string' || n.tag === '!reference') return n;
      const shape = n.value === null ? 'null' : typeof n.value === 'number' ? 'number' : 'boolean';
      return { ...n, value: n.value === null ? null : slice(n.loc) || String(n.value), invalidScriptItem: shape };
    }
    if (n.kind === 'seq') {
      const items = n.items.map((it) => (it.kind === 'scalar' && typeof it.value === 'string' ? it : standIn(it)));
      return items.some((r, i) => r !== n.items[i]) ? { ...n, items } : n;
    }
    return { kind: 'scalar', value: slice(n.loc), loc: n.loc, via: n.via, invalidScriptItem: n.kind === 'map' ? 'map' : 'reference' };
  };
  const fixKeys = (m: YMap): YMap => {
    let entries: Map<string, YMapEntry> | undefined;
    const set = (k: string, v: YNode, e: YMapEntry) => {
      entries ??= copyEntries(m.entries);
      entries.set(k, { ...e, value: v });
    };
    for (let i = 0; i < COMMAND_KEYS.length; i++) {
      const k = COMMAND_KEYS[i]!;
      const e = m.entries.get(k);
      if (!e || (e.value.kind === 'scalar' && (typeof e.value.value === 'string' || e.value.value === null))) continue;
      const v = standIn(e.value);
      if (v !== e.value) set(k, v, e);
    }
    const hooks = m.entries.get('hooks');
    const pre = hooks?.value.kind === 'map' ? hooks.value.entries.get('pre_get_sources_script') : undefined;
    if (hooks && pre && hooks.value.kind === 'map' && !(pre.value.kind === 'scalar' && (typeof pre.value.value === 'string' || pre.value.value === null))) {
      const v = standIn(pre.value);
      if (v !== pre.value) {
        const he = copyEntries(hooks.value.entries);
        he.set('pre_get_sources_script', { ...pre, value: v });
        set('hooks', { ...hooks.value, entries: he }, hooks);
      }
    }
    return entries ? { ...m, entries } : m;
  };
  const out = new Map<string, YMapEntry>();
  let changed = false;
  for (const [k, e] of config.entries) {
    let v = e.value;
    if ((k === 'before_script' || k === 'after_script') && !(v.kind === 'scalar' && (typeof v.value === 'string' || v.value === null))) v = standIn(v);
    else if (v.kind === 'map' && (k === 'default' || !RESERVED_KEYS.has(k))) v = fixKeys(v);
    if (v !== e.value) changed = true;
    out.set(k, v === e.value ? e : { ...e, value: v });
  }
  return changed ? { ...config, entries: out } : config;
}

/** The stand-in script items of a keyword map (after `standInScriptItems`). */
function invalidScriptItems(node: YMap | undefined): { key: string; item: YNode }[] {
  const out: { key: string; item: YNode }[] = [];
  const walk = (key: string, n: YNode | undefined) => {
    if (!n) return;
    if (n.kind === 'scalar' && n.invalidScriptItem) out.push({ key, item: n });
    else if (n.kind === 'seq') for (let i = 0; i < n.items.length; i++) walk(key, n.items[i]);
  };
  for (let i = 0; i < COMMAND_KEYS.length; i++) walk(COMMAND_KEYS[i]!, node?.entries.get(COMMAND_KEYS[i]!)?.value);
  walk('hooks:pre_get_sources_script', get(node, 'hooks', 'pre_get_sources_script'));
  return out;
}

/** Flatten nested lists up to GitLab's nesting limit (script, rules, tags after `!reference`). */
function flatten(n: YSeq, level = 0): YSeq {
  if (!n.items.some((i) => i.kind === 'seq') || level >= MAX_REFERENCE_NESTING) return n;
  const items: YNode[] = [];
  for (let i = 0; i < n.items.length; i++) {
    const it = n.items[i]!;
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
  const unknown: string[] = [];
  node.entries.forEach((_, k) => allowed.has(k) || unknown.push(k));
  const [firstUnknown] = unknown;
  if (firstUnknown !== undefined) invalid(`jobs:${name} config contains unknown keys: ${unknown.join(', ')}`, node.entries.get(firstUnknown)!.keyLoc, [name, firstUnknown], name);

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
    const entries = copyEntries(node.entries);
    defaults.entries.forEach((de, k) => {
      const own = entries.get(k);
      if ((own && !(own.value.kind === 'scalar' && own.value.value === null)) || !inheritDefault(k)) return;
      entries.set(k, { ...de, value: withVia(de.value, { kind: 'default', from: 'default', loc: de.keyLoc }) });
    });
    node = { ...node, entries };
  }
  // Flatten script-like keywords and rules after `!reference`.
  FLATTENED_KEYS.forEach((k) => {
    const ent = node.entries.get(k);
    if (ent?.value.kind === 'seq') {
      const flat = flatten(ent.value);
      if (flat !== ent.value) {
        const entries = copyEntries(node.entries);
        entries.set(k, { ...ent, value: flat });
        node = { ...node, entries };
      }
    }
  });

  const when = get(node, 'when');
  if (when && when.kind === 'scalar' && when.value !== null && !ALLOWED_WHEN.has(scalarText(when))) {
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
  pipeline.variables.forEach((v, k) => inheritVars(k) && variables.set(k, v));
  jobVariables.forEach((v, k) => variables.set(k, v));

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
