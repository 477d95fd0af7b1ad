/**
 * A ConfigSource over the GitLab API: what the service evaluates. The project's own files are
 * read from the TARGET project at a sha (for a fork MR the head sha exists there as
 * `refs/merge-requests/:iid/head`, app/models/merge_request.rb `fetch_ref!`), other projects'
 * files through the same API, templates through GET /templates/gitlab_ci_ymls/:key, and
 * `include:remote` only from allowlisted hosts, fetched WITHOUT the GitLab token.
 *
 * Mirrors lib/gitlab/ci/config/external/file/{local,project,remote,template,component}.rb.
 */
import type { FileRef, ReadResult, ConfigSource } from '../model/source.js';
import { localGlobToRegExp, normalizeLocal } from '../model/source.js';
import { GitLabError } from './errors.js';
import type { GitLabApi } from './types.js';

/** GitLab's own limit on an included file (lib/gitlab/ci/config/external/file/base.rb: 2 MB is the YAML size limit default). */
const MAX_INCLUDE_BYTES = 2 * 1024 * 1024;

export interface RemoteFetchOptions {
  /** Hosts allowed for `include:remote` (policy.remoteIncludeHosts); exact host names, or `*.example.com`. */
  allowedHosts: readonly string[];
  timeoutMs?: number;
  maxBytes?: number;
  /** Injectable for tests. */
  fetch?: typeof fetch;
}

export interface GitLabConfigSourceOptions {
  api: GitLabApi;
  /** The target project (id) whose files `local:` includes read. */
  projectId: number | string;
  /** The sha `local:` includes are read at. */
  sha: string;
  remote: RemoteFetchOptions;
  /** Shared file cache (project, sha/ref, path) across evaluations; keys include the sha. */
  cache?: FileCache;
  /**
   * The GitLab user the pipeline would run for (the MR author). GitLab reads `include:project`,
   * `include:component` and `trigger:include:project` files with that user's permissions
   * (lib/gitlab/ci/config/external/file/project.rb `can_access_local_content?` →
   * `:download_code`); tierguard reads them with its own token, so it first checks that this
   * user could read the project, and reads nothing of it otherwise (no confused deputy).
   * Undefined: no check (the CLI, which reads with the person's own token).
   */
  pipelineUserId?: number | null;
  /**
   * A commit of the same project whose files are this sha's except the paths `changed` names: for
   * an MR's base commit, its head. The MR's diff is base_sha...head_sha (the merge base of the
   * target branch and the head: app/models/merge_request_diff.rb `compare` and `find_base_sha`,
   * a three-dot Gitlab::Git::Compare), so a file it does not list is the same at both. This
   * project's files outside `changed` are then read at that sha: the head's read (and its cache
   * entry) serves both. Only for a diff GitLab listed whole (`changes_count` without `+`).
   */
  sameAs?: { sha: string; changed: ReadonlySet<string> };
}

/** GitLab's message when the pipeline's user cannot read an included project (file/project.rb). */
const projectAccessDenied = (project: string): string =>
  `Project \`${project}\` not found or access denied! Make sure any includes in the pipeline configuration are correctly defined.`;

/** Access levels (app/models/members/...): Reporter (20) may download code of a private project. */
const REPORTER = 20;

/** A bounded LRU of fetched file contents keyed by `project\0ref\0path`. */
export class FileCache {
  private readonly map = new Map<string, Promise<ReadResult>>();
  constructor(private readonly max = 2000) {}

  get(key: string, load: () => Promise<ReadResult>): Promise<ReadResult> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const p = load();
    this.map.set(key, p);
    // Only definitive answers are kept: an 'unavailable' (transient) read is tried again next time.
    p.then(
      (r) => {
        if (r.status === 'unavailable') this.map.delete(key);
      },
      () => this.map.delete(key),
    );
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return p;
  }

  get size(): number {
    return this.map.size;
  }
}

/** A repository path in the form GitLab's diff lists it: segments that are not empty, `.` or `..`. */
const CANONICAL_PATH = /^(?!.*(?:^|\/)\.{0,2}(?:\/|$))[^\\]+$/;

const SHA_RE = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

export class GitLabConfigSource implements ConfigSource {
  private readonly api: GitLabApi;
  private readonly cache: FileCache;
  private readonly local = new FileCache(500);
  private readonly defaultBranches = new Map<string, Promise<string | null>>();
  private readonly access = new Map<string, Promise<ReadResult | null>>();

  constructor(private readonly opts: GitLabConfigSourceOptions) {
    this.api = opts.api;
    this.cache = opts.cache ?? new FileCache();
  }

  /**
   * Over the API every read is a round trip: a file's local includes are read at once instead of
   * one after the other. The FileCache keeps the read in flight, so read() gets that answer (an
   * error included), and GitLab is asked once either way.
   */
  prefetch(ref: FileRef): void {
    if (ref.kind !== 'local' || ref.project !== undefined) return;
    this.read(ref).catch(() => undefined);
  }

  async read(ref: FileRef): Promise<ReadResult> {
    const other = ref.kind === 'project' || ref.kind === 'component' ? ref.project : ref.kind === 'local' ? ref.project : undefined;
    if (other !== undefined) {
      const refused = await this.userAccess(other);
      if (refused) return refused;
    }
    switch (ref.kind) {
      case 'local': {
        const path = normalizeLocal(ref.path);
        if (ref.project === undefined) {
          // This project's own file: at the sha, or at `sameAs` when the diff does not list it.
          // Only a path written as the diff writes it: `a/./b` or `a//b` could name a changed file.
          const same = this.opts.sameAs;
          const unchanged = same !== undefined && CANONICAL_PATH.test(path) && !same.changed.has(path);
          return this.raw(this.opts.projectId, path, unchanged ? same.sha : this.opts.sha);
        }
        // A local include inside another project's file (include.ts never gives an empty project).
        const at = ref.ref ?? (await this.defaultBranch(ref.project));
        if (!at) return { status: 'missing' };
        return this.raw(ref.project, path, at);
      }
      case 'project': {
        // include:project without ref: the project's HEAD, i.e. its default branch (file/project.rb).
        const at = ref.ref ?? (await this.defaultBranch(ref.project));
        if (!at) return { status: 'missing' };
        return this.raw(ref.project, normalizeLocal(ref.path), at);
      }
      case 'template':
        return this.cache.get(`template\0\0${ref.name}`, () =>
          this.guard(async () => {
            // lib/gitlab/ci/config/external/file/template.rb: the name ends in `.gitlab-ci.yml`,
            // the API key is the name without it.
            const key = ref.name.replace(/\.gitlab-ci\.yml$/, '');
            const text = await this.api.getCiTemplate(key);
            return text === null ? { status: 'missing' } : { status: 'ok', text };
          }),
        );
      case 'component':
        return this.component(ref);
      case 'remote':
        return this.remote(ref.url);
    }
  }

  async glob(pattern: string, project?: string, ref?: string): Promise<string[] | undefined> {
    const at = project ? (ref ?? (await this.defaultBranch(project))) : this.opts.sha;
    if (!at) return [];
    try {
      const files = await this.api.listRepositoryTree(project ?? this.opts.projectId, at, { recursive: true });
      const re = localGlobToRegExp(pattern);
      return files.filter((f) => re.test(f)).sort();
    } catch {
      return undefined;
    }
  }

  private raw(project: number | string, path: string, at: string): Promise<ReadResult> {
    // Only immutable shas go to the shared cache; a branch or tag moves, so reads by name are
    // cached for this source (one evaluation) only.
    const cache = SHA_RE.test(at) ? this.cache : this.local;
    return cache.get(`${project}\0${at}\0${path}`, () =>
      this.guard(async () => {
        const text = await this.api.getRawFile(project, path, at);
        if (text === null) return { status: 'missing' };
        if (Buffer.byteLength(text) > (this.opts.remote.maxBytes ?? MAX_INCLUDE_BYTES)) {
          return { status: 'unavailable', reason: `larger than ${this.opts.remote.maxBytes ?? MAX_INCLUDE_BYTES} bytes` };
        }
        return { status: 'ok', text };
      }),
    );
  }

  /** `templates/<name>.yml`, else `templates/<name>/template.yml` (lib/gitlab/ci/components/instance_path.rb). */
  private async component(ref: Extract<FileRef, { kind: 'component' }>): Promise<ReadResult> {
    let version = ref.version;
    if (version === '~latest') {
      const def = await this.defaultBranch(ref.project);
      if (!def) return { status: 'missing' };
      // ~latest is the newest released version; without the releases API we fall back to the
      // default branch and say so.
      version = def;
    }
    const first = await this.raw(ref.project, `templates/${ref.name}.yml`, version);
    if (first.status !== 'missing') return first;
    return this.raw(ref.project, `templates/${ref.name}/template.yml`, version);
  }

  /**
   * null when the pipeline's user may read `project` (or no user is set); else what the read
   * becomes: `denied` (GitLab would reject the include for that user) or `unavailable` (tierguard
   * itself cannot see the project). Public and internal projects are readable by any signed-in
   * user; a private one needs a membership of Reporter or more (members/all: inherited too).
   */
  private userAccess(project: string): Promise<ReadResult | null> {
    const user = this.opts.pipelineUserId;
    if (user === undefined) return Promise.resolve(null);
    let p = this.access.get(project);
    if (!p) {
      p = (async (): Promise<ReadResult | null> => {
        let info;
        try {
          info = await this.api.getProject(project);
        } catch (err) {
          if (err instanceof GitLabError && (err.status === 404 || err.status === 403)) {
            return { status: 'unavailable', reason: `project \`${project}\` is not visible to tierguard's token` };
          }
          throw err;
        }
        if (String(info.id) === String(this.opts.projectId)) return null;
        if (info.visibility === 'public' || info.visibility === 'internal') return null;
        if (user === null) return { status: 'unavailable', reason: 'the merge request author is unknown, so their access cannot be checked' };
        const member = await this.api.getProjectMember(info.id, user);
        return member !== null && member.accessLevel >= REPORTER ? null : { status: 'denied', message: projectAccessDenied(project) };
      })();
      this.access.set(project, p);
      p.catch(() => this.access.delete(project));
    }
    return p;
  }

  private defaultBranch(project: string): Promise<string | null> {
    let p = this.defaultBranches.get(project);
    if (!p) {
      p = this.api.getProject(project).then(
        (x) => x.defaultBranch,
        (err: unknown) => {
          this.defaultBranches.delete(project);
          if (err instanceof GitLabError && (err.status === 404 || err.status === 403)) return null;
          throw err;
        },
      );
      this.defaultBranches.set(project, p);
    }
    return p;
  }

  private async remote(url: string): Promise<ReadResult> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return { status: 'unavailable', reason: 'not a valid URL' };
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return { status: 'unavailable', reason: 'not an http(s) URL' };
    if (!hostAllowed(u.hostname, this.opts.remote.allowedHosts)) return { status: 'unavailable', reason: 'host not allowlisted' };
    return this.cache.get(`remote\0\0${u.toString()}`, () => fetchRemote(u, this.opts.remote));
  }

  /** Transient API failures become 'unavailable' for this file; the evaluation decides. */
  private async guard(fn: () => Promise<ReadResult>): Promise<ReadResult> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GitLabError && (err.status === 403 || err.status === 401)) return { status: 'unavailable', reason: 'no access' };
      throw err;
    }
  }
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((a) => {
    const p = a.toLowerCase().replace(/\.$/, '');
    if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
    return h === p;
  });
}

/**
 * GET an allowlisted URL without credentials: no cookies, no token, a timeout, a size cap and
 * redirects followed only within the same host (lib/gitlab/ci/config/external/file/remote.rb
 * uses Gitlab::HTTP with the same kind of limits).
 */
async function fetchRemote(start: URL, opts: RemoteFetchOptions): Promise<ReadResult> {
  const doFetch = opts.fetch ?? fetch;
  const maxBytes = opts.maxBytes ?? MAX_INCLUDE_BYTES;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let url = start;
  try {
    for (let hop = 0; hop < 5; hop += 1) {
      const res = await doFetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'text/plain, application/x-yaml, */*' } });
      if (res.status >= 300 && res.status < 400) {
        const loc = res.headers.get('location');
        await res.body?.cancel();
        if (!loc) return { status: 'unavailable', reason: `redirect without location (${res.status})` };
        const next = new URL(loc, url);
        if (next.host !== start.host || (next.protocol !== start.protocol && next.protocol !== 'https:')) {
          return { status: 'unavailable', reason: 'redirect to another host refused' };
        }
        url = next;
        continue;
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return { status: 'missing' };
      }
      if (!res.ok) {
        await res.body?.cancel();
        return { status: 'unavailable', reason: `HTTP ${res.status}` };
      }
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > maxBytes) {
        await res.body?.cancel();
        return { status: 'unavailable', reason: `larger than ${maxBytes} bytes` };
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const chunk: { done: boolean; value?: unknown } = await reader.read();
          if (chunk.done) break;
          const value = chunk.value;
          if (!(value instanceof Uint8Array)) throw new Error('response body chunk is not bytes');
          size += value.byteLength;
          if (size > maxBytes) {
            await reader.cancel();
            return { status: 'unavailable', reason: `larger than ${maxBytes} bytes` };
          }
          chunks.push(value);
        }
      }
      return { status: 'ok', text: Buffer.concat(chunks).toString('utf8') };
    }
    return { status: 'unavailable', reason: 'too many redirects' };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    return { status: 'unavailable', reason: name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'could not be fetched' };
  }
}
