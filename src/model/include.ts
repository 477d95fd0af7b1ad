import type { Diagnostic } from './diagnostics.js';
import type { SourceLocation } from './location.js';
import { deepMerge, emptyMap, withoutKeys } from './merge.js';
import { get, scalarText, str, strList, type YMap, type YMapEntry, type YNode } from './node.js';
import { displayName, normalizeLocal, type ConfigSource, type FileRef } from './source.js';
import { parseCiYaml } from './yaml.js';
import { single } from '../util/array.js';

/**
 * Include expansion, after `lib/gitlab/ci/config/external/processor.rb` and `mapper/*`:
 * each included file is loaded with its own includes expanded first, files are deep-merged
 * in order, and the including file is merged last so it wins.
 */

type IncludeKind = 'local' | 'project' | 'remote' | 'template' | 'component' | 'artifact';

/** One `include:` entry as written, and what became of it. */
export interface IncludeRecord {
  kind: IncludeKind;
  /** The include entry (a string scalar or a map). */
  node: YNode;
  loc: SourceLocation;
  /** The file that wrote the include. */
  from: string;
  /** What it names: path, URL, template name, component address. */
  target: string;
  project?: string;
  ref?: string;
  integrity?: string;
  /** `include:rules` present: whether it applies depends on the pipeline. */
  conditional: boolean;
  /** The files it produced (display names), empty when unresolved. */
  files: string[];
  status: 'resolved' | 'unresolved' | 'missing' | 'excluded' | 'invalid';
  reason?: string;
  /**
   * Set on the entries of a `trigger:include` (a child pipeline's configuration): the trigger
   * job that starts the child pipeline. Such records live in the child's `Pipeline.includes`.
   */
  trigger?: string;
}

export interface LoadedFile {
  name: string;
  text: string;
  kind: IncludeKind | 'root';
}

export interface IncludeLimits {
  maxIncludes: number;
}

/**
 * GitLab's default `ci_max_includes` is 150, duplicates counted (`external/mapper/verifier.rb`);
 * an include loop simply runs into it. It also bounds the nesting depth.
 */
export const GITLAB_INCLUDE_LIMITS: IncludeLimits = { maxIncludes: 150 };

/** How many of a file's includes ahead of the one being resolved may be read in advance. */
const PREFETCH_WINDOW = 8;

const INCLUDE_KEYS = new Set(['local', 'file', 'remote', 'template', 'component', 'artifact', 'inputs', 'job', 'project', 'ref', 'rules', 'integrity', 'cache']);

interface FileCtx {
  name: string;
  /** Project whose `local:` includes this file's includes resolve in (undefined = evaluated project). */
  project?: string;
  ref?: string;
  chain: string[];
}

export class IncludeExpander {
  readonly includes: IncludeRecord[] = [];
  readonly files = new Map<string, LoadedFile>();
  readonly diagnostics: Diagnostic[] = [];
  private count = 0;
  private stopped = false;
  private readonly parsed = new Map<string, { root?: YMap; header?: YMap }>();

  constructor(
    private readonly source: ConfigSource,
    private readonly limits: IncludeLimits = GITLAB_INCLUDE_LIMITS,
  ) {}

  /** Parse and expand the root file. Returns undefined when it could not be read at all. */
  async loadRoot(path: string): Promise<YMap | undefined> {
    const name = normalizeLocal(path);
    const res = await this.source.read({ kind: 'local', path: name });
    if (res.status !== 'ok') {
      this.diagnostics.push({
        kind: 'invalid',
        message: res.status === 'missing' ? `Local file \`${name}\` does not exist!` : res.status === 'denied' ? res.message : `\`${name}\` could not be read: ${res.reason}`,
        location: { file: name, line: 1, column: 1, endLine: 1, endColumn: 1 },
        keyPath: [],
      });
      return undefined;
    }
    this.files.set(name, { name, text: res.text, kind: 'root' });
    const parsed = this.parse(name, res.text);
    if (!parsed.root) return parsed.header ? emptyMap(parsed.header.loc) : undefined;
    // A root file with a `spec:` header takes its inputs' defaults (pipeline inputs).
    const root = parsed.header ? interpolateInputs(parsed.root, parsed.header, undefined) : parsed.root;
    return this.expand(root, { name, chain: [name] });
  }

  /**
   * A child pipeline's configuration: the files a `trigger:include` names (`entry/trigger.rb`,
   * `lib/gitlab/ci/config/external/mapper/*`), merged like `include:` entries. `from` is the
   * file that wrote the trigger job.
   */
  async loadIncludes(node: YNode, from: string, trigger: string): Promise<YMap> {
    const root: YMap = { kind: 'map', entries: new Map([['include', { key: 'include', keyLoc: node.loc, value: node }]]), loc: node.loc };
    return this.expand(root, { name: from, chain: [from] }, (rec) => (rec.trigger = trigger));
  }

  private parse(name: string, text: string): { root?: YMap; header?: YMap } {
    let p = this.parsed.get(name);
    if (!p) {
      const r = parseCiYaml(name, text);
      this.diagnostics.push(...r.diagnostics);
      p = { root: r.root, header: r.header };
      this.parsed.set(name, p);
    }
    return p;
  }

  private async expand(root: YMap, ctx: FileCtx, mark?: (rec: IncludeRecord) => void): Promise<YMap> {
    const incEntry = root.entries.get('include');
    if (!incEntry) return root;
    const own = withoutKeys(root, ['include']);
    const specs = this.normalize(incEntry.value, ctx.name);
    if (mark) specs.forEach(mark);
    const prefetch = this.prefetcher(specs, ctx);
    let acc: YMap = emptyMap(root.loc);
    for (const [i, spec] of specs.entries()) {
      if (this.stopped) break;
      prefetch(i);
      for (const content of await this.resolve(spec, ctx)) acc = deepMerge(acc, content);
    }
    return deepMerge(acc, own);
  }

  /**
   * Before the include at index i is resolved, ask the source to start reading the plain local
   * includes (no wildcard, a YAML name, not excluded by `include:rules`) among the next
   * PREFETCH_WINDOW of this file: the resolution, its order, limits and diagnostics stay as they
   * are, the reads overlap. The window and the include budget bound what is asked for ahead: a
   * file listing thousands of includes never sends thousands of reads at once.
   */
  private prefetcher(specs: IncludeRecord[], ctx: FileCtx): (i: number) => void {
    const source = this.source;
    if (!source.prefetch) return () => undefined;
    let next = 0;
    return (i) => {
      const end = Math.min(specs.length, i + PREFETCH_WINDOW, i + Math.max(0, this.limits.maxIncludes - this.count));
      for (; next < end; next++) {
        const rec = specs[next]!;
        if (rec.kind !== 'local' || !rec.target || /[*?]/.test(rec.target) || !/\.(yml|yaml)$/i.test(rec.target) || excludedInclude(rec)) continue;
        source.prefetch!({ kind: 'local', path: rec.target, project: ctx.project, ref: ctx.ref });
      }
    };
  }

  private normalize(node: YNode, from: string): IncludeRecord[] {
    const items = node.kind === 'seq' ? node.items : [node];
    const out: IncludeRecord[] = [];
    for (const item of items) {
      const rec = this.record(item, from);
      if (rec) out.push(rec);
    }
    return out;
  }

  /** `lib/gitlab/ci/config/entry/include.rb`: a string is remote when it is a URL, else local. */
  private record(item: YNode, from: string): IncludeRecord | undefined {
    const base = { node: item, loc: item.loc, from, conditional: false, files: [] as string[] };
    if (item.kind === 'scalar' && typeof item.value === 'string') {
      const isUrl = /^https?:\/\//i.test(item.value);
      return { ...base, kind: isUrl ? 'remote' : 'local', target: item.value, status: 'unresolved' };
    }
    if (item.kind !== 'map') {
      this.invalid(`Included file \`${str(item) ?? item.kind}\` needs to be a string`, item.loc, ['include']);
      return undefined;
    }
    const unknown = [...item.entries.keys()].filter((k) => !INCLUDE_KEYS.has(k));
    const [firstUnknown] = unknown;
    if (firstUnknown !== undefined) {
      this.invalid(`include config contains unknown keys: ${unknown.join(', ')}`, item.entries.get(firstUnknown)!.keyLoc, ['include']);
      return undefined;
    }
    const rules = item.entries.get('rules')?.value;
    const conditional = !!rules;
    const integrity = str(get(item, 'integrity'));
    const kinds = (['local', 'project', 'remote', 'template', 'component', 'artifact'] as const).filter((k) =>
      k === 'project' ? item.entries.has('project') : item.entries.has(k),
    );
    const kind = single(kinds);
    if (kind === undefined) {
      this.invalid(
        kinds.length === 0 ? 'Include `' + JSON.stringify(Object.fromEntries([...item.entries.keys()].map((k) => [k, '…']))) + '` does not have a valid subkey for include.' : `Each include must use only one of: ${kinds.join(', ')}`,
        item.loc,
        ['include'],
      );
      return undefined;
    }
    const targetNode = kind === 'project' ? get(item, 'file') : get(item, kind);
    const target = kind === 'project' ? strList(targetNode).join(', ') : (str(targetNode) ?? '');
    return {
      ...base,
      kind,
      target,
      project: kind === 'project' ? str(get(item, 'project')) : undefined,
      ref: kind === 'project' ? str(get(item, 'ref')) : undefined,
      integrity,
      conditional,
      status: 'unresolved',
    };
  }

  private async resolve(rec: IncludeRecord, ctx: FileCtx): Promise<YMap[]> {
    this.includes.push(rec);
    if (excludedInclude(rec)) {
      rec.status = 'excluded';
      rec.reason = 'include:rules never match';
      return [];
    }
    const refs = await this.targets(rec, ctx);
    if (!refs) {
      // an `artifact:` child configuration: made by a job at run time, never readable here
      if (rec.status === 'unresolved') {
        this.diagnostics.push({ kind: 'unresolved', message: `${describeInclude(rec)} was not read (${rec.reason})`, location: rec.loc, keyPath: ['include'] });
      }
      return [];
    }
    const out: YMap[] = [];
    for (const ref of refs) {
      if (this.stopped) break;
      const name = displayName(ref);
      if (this.count >= this.limits.maxIncludes) {
        const loop = ctx.chain.includes(name) ? ` (include loop: ${[...ctx.chain.slice(ctx.chain.indexOf(name)), name].join(' → ')})` : '';
        this.invalid(`Maximum of ${this.limits.maxIncludes} nested includes are allowed!${loop}`, rec.loc, ['include']);
        rec.status = 'invalid';
        this.stopped = true;
        break;
      }
      this.count++;
      const pathPart = ref.kind === 'remote' ? ref.url.replace(/[?#].*$/, '') : ref.kind === 'component' || ref.kind === 'template' ? 'x.yml' : ref.path;
      if (!/\.(yml|yaml)$/i.test(pathPart.split('/').pop() ?? '')) {
        this.invalid(`Included file \`${rec.kind === 'remote' ? rec.target : name}\` does not have YAML extension!`, rec.loc, ['include']);
        rec.status = 'invalid';
        continue;
      }
      const res = await this.source.read(ref);
      if (res.status === 'missing') {
        rec.status = 'missing';
        this.invalid(missingMessage(ref), rec.loc, ['include']);
        continue;
      }
      if (res.status === 'denied') {
        rec.status = 'invalid';
        rec.reason = res.message;
        this.invalid(res.message, rec.loc, ['include']);
        continue;
      }
      if (res.status === 'unavailable') {
        rec.status = 'unresolved';
        rec.reason = res.reason;
        this.diagnostics.push({ kind: 'unresolved', message: `${describeInclude(rec)} was not read (${res.reason})`, location: rec.loc, keyPath: ['include'] });
        continue;
      }
      if (!res.text.trim()) {
        rec.status = 'missing';
        this.invalid(`Included file \`${name}\` is empty or does not exist!`, rec.loc, ['include']);
        continue;
      }
      rec.status = 'resolved';
      rec.files.push(name);
      if (!this.files.has(name)) this.files.set(name, { name, text: res.text, kind: rec.kind });
      const parsed = this.parse(name, res.text);
      if (!parsed.root) continue;
      let root = parsed.root;
      if (parsed.header) root = interpolateInputs(root, parsed.header, rec.node.kind === 'map' ? get(rec.node, 'inputs') : undefined);
      const child: FileCtx = {
        name,
        project: ref.kind === 'project' || ref.kind === 'component' ? ref.project : ref.kind === 'local' ? ref.project : ctx.project,
        ref: ref.kind === 'project' ? ref.ref : ref.kind === 'local' ? ref.ref : ctx.ref,
        chain: [...ctx.chain, name],
      };
      out.push(await this.expand(root, child));
    }
    return out;
  }

  private async targets(rec: IncludeRecord, ctx: FileCtx): Promise<FileRef[] | undefined> {
    switch (rec.kind) {
      case 'local': {
        if (!rec.target) return this.fail(rec, 'Included file `` needs to be a string');
        if (/[*?]/.test(rec.target)) {
          const files = await this.source.glob(rec.target, ctx.project, ctx.ref);
          if (files === undefined) return [{ kind: 'local', path: rec.target, project: ctx.project, ref: ctx.ref }];
          if (files.length === 0) {
            rec.status = 'missing';
            this.invalid(`Included file \`${rec.target}\` does not exist!`, rec.loc, ['include']);
            return undefined;
          }
          return files.filter((f) => /\.(yml|yaml)$/i.test(f)).map((f) => ({ kind: 'local', path: f, project: ctx.project, ref: ctx.ref }));
        }
        return [{ kind: 'local', path: rec.target, project: ctx.project, ref: ctx.ref }];
      }
      case 'project': {
        if (!rec.project) return this.fail(rec, 'include:project needs a `project`');
        const files = strList(rec.node.kind === 'map' ? get(rec.node, 'file') : undefined);
        if (files.length === 0) return this.fail(rec, 'include:project needs a `file`');
        return files.map((f) => ({ kind: 'project', project: rec.project!, ref: rec.ref, path: f }));
      }
      case 'remote':
        if (!/^https?:\/\//i.test(rec.target)) return this.fail(rec, `Remote file \`${rec.target}\` does not have a valid address!`);
        return [{ kind: 'remote', url: rec.target }];
      case 'template':
        return [{ kind: 'template', name: rec.target }];
      case 'component': {
        // `<fqdn>/<project path>/<name>@<version>` (`lib/gitlab/ci/components/instance_path.rb`).
        const m = /^(.+?)\/(.+)\/([^/@]+)@(.+)$/.exec(rec.target);
        if (!m) return this.fail(rec, `Component \`${rec.target}\` is not a valid component path (expected fqdn/project/name@version)`);
        const [, , project = '', name = '', version = ''] = m; // all groups are required
        rec.project = project;
        rec.ref = version;
        return [{ kind: 'component', address: rec.target, project, name, version }];
      }
      case 'artifact':
        // Child pipelines only: the file is produced by a job at run time.
        rec.status = 'unresolved';
        rec.reason = 'generated at run time by job artifacts';
        return undefined;
    }
  }

  private fail(rec: IncludeRecord, message: string): undefined {
    rec.status = 'invalid';
    this.invalid(message, rec.loc, ['include']);
    return undefined;
  }

  private invalid(message: string, loc: SourceLocation, keyPath: string[]): void {
    this.diagnostics.push({ kind: 'invalid', message, location: loc, keyPath });
  }
}

function missingMessage(ref: FileRef): string {
  switch (ref.kind) {
    case 'local':
      return `Local file \`${normalizeLocal(ref.path)}\` does not exist!`;
    case 'project':
      return `Project \`${ref.project}\` file \`${ref.path}\` does not exist!`;
    case 'template':
      return `Template file \`${ref.name}\` is not a valid location!`;
    case 'remote':
      return `Remote file \`${ref.url}\` could not be fetched because of HTTP code \`404\`!`;
    case 'component':
      return `Component \`${ref.address}\` - content not found`;
  }
}

/** How notes and findings name an include: ``include:remote `https://…` ``, ``include:project `g/p` file `x.yml` ``. */
export function describeInclude(rec: IncludeRecord): string {
  switch (rec.kind) {
    case 'project':
      return `include:project \`${rec.project}\` file \`${rec.target}\`${rec.ref ? ` at \`${rec.ref}\`` : ''}`;
    case 'artifact': {
      const job = rec.node.kind === 'map' ? str(get(rec.node, 'job')) : undefined;
      return `include:artifact \`${rec.target}\`${job ? ` of job \`${job}\`` : ''}`;
    }
    case 'component':
      // the address already ends in `@version`
      return `include:component \`${rec.target}\``;
    default:
      return `include:${rec.kind} \`${rec.target}\``;
  }
}

/** An include whose `include:rules` can never match (it is never read). */
function excludedInclude(rec: IncludeRecord): boolean {
  const rules = rec.node.kind === 'map' ? get(rec.node, 'rules') : undefined;
  return rules !== undefined && excludedByRules(rules);
}

/**
 * `include:rules` (`lib/gitlab/ci/config/entry/include/rules/rule.rb`): an include whose
 * every rule is an unconditional `when: never` can never apply. Anything conditional may
 * apply in some pipeline, so tierguard keeps it (it judges what *can* run).
 */
function excludedByRules(rules: YNode): boolean {
  if (rules.kind !== 'seq' || rules.items.length === 0) return false;
  return rules.items.every((r) => r.kind === 'map' && str(get(r, 'when')) === 'never' && ![...r.entries.keys()].some((k) => k !== 'when'));
}

/**
 * `spec:inputs` interpolation (`lib/gitlab/ci/config/interpolation/*`): `$[[ inputs.name ]]`
 * in string values takes the include's input or the input's default. Functions after `|` are
 * not applied; an input with neither value nor default is left as written.
 */
function interpolateInputs(root: YMap, header: YMap, given: YNode | undefined): YMap {
  const specInputs = get(header, 'spec', 'inputs');
  const values = new Map<string, string>();
  if (specInputs?.kind === 'map') {
    for (const [k, e] of specInputs.entries) {
      const d = get(e.value, 'default');
      if (d && d.kind === 'scalar' && d.value !== null) values.set(k, scalarText(d));
    }
  }
  if (given?.kind === 'map') for (const [k, e] of given.entries) if (e.value.kind === 'scalar' && e.value.value !== null) values.set(k, scalarText(e.value));
  if (values.size === 0) return root;
  const re = /\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*(?:\|[^\]]*)?\]\]/g;
  const walk = (n: YNode): YNode => {
    if (n.kind === 'scalar') {
      if (typeof n.value !== 'string' || !n.value.includes('$[[')) return n;
      const name = /^\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]$/.exec(n.value)?.[1];
      const value = name === undefined ? undefined : values.get(name);
      if (value !== undefined) return { ...n, value };
      return { ...n, value: n.value.replace(re, (m, name: string) => values.get(name) ?? m) };
    }
    if (n.kind === 'seq') return { ...n, items: n.items.map(walk) };
    if (n.kind === 'map') {
      const entries = new Map<string, YMapEntry>();
      for (const [k, e] of n.entries) {
        const key = k.includes('$[[') ? k.replace(re, (m, name: string) => values.get(name) ?? m) : k;
        entries.set(key, { ...e, key, value: walk(e.value) });
      }
      return { ...n, entries };
    }
    return n;
  };
  return walk(root) as YMap;
}
