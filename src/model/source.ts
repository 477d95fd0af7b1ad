import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { own } from '../util/table.js';

/** What an include points at. `project` undefined means the project being evaluated. */
export type FileRef =
  | { kind: 'local'; project?: string; ref?: string; path: string }
  | { kind: 'project'; project: string; ref?: string; path: string }
  | { kind: 'remote'; url: string }
  | { kind: 'template'; name: string }
  | { kind: 'component'; address: string; project: string; name: string; version: string };

export type ReadResult =
  | { status: 'ok'; text: string }
  | { status: 'missing' }
  /** Could not be read here (offline, not allowlisted, no access): recorded as unresolved. */
  | { status: 'unavailable'; reason: string }
  /**
   * GitLab itself would refuse it for the pipeline's user (e.g. `include:project` of a project
   * the MR author cannot read): an invalid configuration with GitLab's `message`. Nothing of
   * the file was read.
   */
  | { status: 'denied'; message: string };

/**
 * Where configuration files come from. The CLI reads a checkout from disk; the service reads
 * through the GitLab API at a sha. Everything the model reads goes through this interface.
 */
export interface ConfigSource {
  read(ref: FileRef): Promise<ReadResult>;
  /**
   * Start reading a file the resolution will ask for next (a file's plain local includes, all at
   * once). Only for a source that keeps its answers, so the later read() is served from the
   * same read; what the resolution decides is unchanged.
   */
  prefetch?(ref: FileRef): void;
  /** Paths of the evaluated (or named) project's files matching a `local:` wildcard, sorted. */
  glob(pattern: string, project?: string, ref?: string): Promise<string[] | undefined>;
}

/** The name findings use for a file: repo-relative for the project's own files. */
export function displayName(ref: FileRef): string {
  switch (ref.kind) {
    case 'local':
      return ref.project ? `${ref.project}:${normalizeLocal(ref.path)}${ref.ref ? '@' + ref.ref : ''}` : normalizeLocal(ref.path);
    case 'project':
      return `${ref.project}:${normalizeLocal(ref.path)}${ref.ref ? '@' + ref.ref : ''}`;
    case 'remote':
      return ref.url;
    case 'template':
      return `template:${ref.name}`;
    case 'component':
      return `component:${ref.address}`;
  }
}

export function normalizeLocal(p: string): string {
  return p.replace(/^\/+/, '').replace(/^\.\//, '');
}

/**
 * `include:local` wildcards (`doc/ci/yaml/includes.md`): `*` matches within one directory,
 * `**` across directories (Ruby `File.fnmatch?` with FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB).
 */
export function localGlobToRegExp(pattern: string): RegExp {
  const p = normalizeLocal(pattern);
  let src = '^';
  for (let i = 0; i < p.length; i++) {
    const ch = p.charAt(i);
    if (ch === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') {
          i++;
          src += '(?:.*/)?';
        } else src += '.*';
      } else src += '[^/]*';
    } else if (ch === '?') src += '[^/]';
    else src += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(src + '$');
}

/** Offline source: the project's files from a checkout directory; nothing else is fetched. */
export class DirectorySource implements ConfigSource {
  private listing?: string[];

  constructor(
    readonly root: string,
    private readonly templatesDir?: string,
  ) {}

  read(ref: FileRef): Promise<ReadResult> {
    if (ref.kind === 'local' && !ref.project) return Promise.resolve(this.readUnder(this.root, normalizeLocal(ref.path)));
    if (ref.kind === 'template' && this.templatesDir) return Promise.resolve(this.readUnder(this.templatesDir, ref.name));
    return Promise.resolve({ status: 'unavailable', reason: 'not read offline' });
  }

  glob(pattern: string, project?: string): Promise<string[] | undefined> {
    if (project) return Promise.resolve(undefined);
    this.listing ??= listFiles(this.root);
    const re = localGlobToRegExp(pattern);
    return Promise.resolve(this.listing.filter((f) => re.test(f)).sort());
  }

  private readUnder(base: string, rel: string): ReadResult {
    const full = path.resolve(base, rel);
    const rootAbs = path.resolve(base);
    if (full !== rootAbs && !full.startsWith(rootAbs + path.sep)) return { status: 'missing' };
    // Read synchronously: only the CLI reads a checkout, with nothing else to do meanwhile, and
    // each of fs/promises' steps (stat, open, read, close) is a trip through the thread pool.
    try {
      if (!statSync(full).isFile()) return { status: 'missing' };
      return { status: 'ok', text: readFileSync(full, 'utf8') };
    } catch {
      return { status: 'missing' };
    }
  }
}

const SKIP_DIRS = new Set(['.git', 'node_modules']);

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    let ents: Dirent[];
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(path.join(dir, e.name), rel + e.name + '/');
      } else if (e.isFile()) out.push(rel + e.name);
    }
  };
  walk(root, '');
  return out;
}

/** An in-memory source (tests, and the service's prefetched files). */
export class MemorySource implements ConfigSource {
  constructor(
    private readonly files: Record<string, string>,
    private readonly external: Record<string, string> = {},
  ) {}

  async read(ref: FileRef): Promise<ReadResult> {
    // Own keys only: a path such as `constructor` is a file name, not Object.prototype's member.
    if (ref.kind === 'local' && !ref.project) {
      const t = own(this.files, normalizeLocal(ref.path));
      return t === undefined ? { status: 'missing' } : { status: 'ok', text: t };
    }
    const t = own(this.external, displayName(ref));
    return t === undefined ? { status: 'unavailable', reason: 'not available' } : { status: 'ok', text: t };
  }

  async glob(pattern: string, project?: string): Promise<string[] | undefined> {
    if (project) return undefined;
    const re = localGlobToRegExp(pattern);
    return Object.keys(this.files).filter((f) => re.test(f)).sort();
  }
}
