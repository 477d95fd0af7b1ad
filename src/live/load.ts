/**
 * The live reads of one project (runners, environments, variables, settings, protected refs):
 * each made at most once per loader and, with a `LiveCache`, once per project per TTL, so the
 * live checks and the variable assumptions (./assumptions.ts) share every GitLab call. A read
 * the token is not allowed to make (401/403/404) resolves with the reason instead of data.
 */
import { GitLabError } from '../gitlab/errors.js';
import type { GitLabApi, GitLabVariable } from '../gitlab/types.js';
import { jsonCodec, type Codec } from '../gitlab/project-cache.js';
import type { LiveCache } from './cache.js';
import { readProtectedRefs, type ProtectedRefs } from './protected-refs.js';
import type { LiveData, LiveDataKey } from './types.js';

/** A read's outcome as cached: the data, or why this token cannot have it. */
export type Loaded<T> = { ok: true; data: T } | { ok: false; reason: string };

/** Loads one kind of live data (a transient GitLab failure rejects). */
export type LiveLoad = <K extends LiveDataKey>(key: K) => Promise<Loaded<LiveData[K]>>;

/**
 * Every live read is plain JSON data (variables never carry a value: VariableSchema strips it),
 * so with the service's shared store (REDIS_URL) the entries are shared by every replica.
 */
const loadedCodec = jsonCodec<Loaded<unknown>>();

export interface LiveLoaderOptions {
  cache?: LiveCache;
  now?: () => number;
  /** The project's protected refs when the caller has read them already (the service has). */
  protectedRefs?: ProtectedRefs;
}

/** 401/403/404 are answers about this token (or tier), stable for the TTL; the rest is transient. */
function deniedReason(err: unknown): string | undefined {
  if (!(err instanceof GitLabError)) return undefined;
  if (err.status === 401) return 'the token was rejected (401 Unauthorized)';
  if (err.status === 403) return 'the token lacks the role or scope (403 Forbidden)';
  if (err.status === 404) return 'not found (404): not available on this GitLab tier, or not visible to the token';
  return undefined;
}

async function settle<T>(read: () => Promise<T>): Promise<Loaded<T>> {
  try {
    return { ok: true, data: await read() };
  } catch (err) {
    const reason = deniedReason(err);
    if (reason) return { ok: false, reason };
    throw err;
  }
}

/** `a/b/c` → [`a/b/c`, `a/b`, `a`] (nearest group first). */
function ancestorGroups(fullPath: string): string[] {
  const parts = fullPath.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = parts.length; i > 0; i--) out.push(parts.slice(0, i).join('/'));
  return out;
}

export function liveLoader(api: GitLabApi, projectId: number | string, opts: LiveLoaderOptions = {}): LiveLoad {
  const now = opts.now ?? Date.now;
  const memo = new Map<LiveDataKey, Promise<Loaded<unknown>>>();

  const readers: { [K in LiveDataKey]: () => Promise<Loaded<LiveData[K]>> } = {
    runners: () => settle(() => api.listProjectRunners(projectId)),
    protectedEnvironments: () => settle(() => api.listProtectedEnvironments(projectId)),
    projectVariables: () => settle(() => api.listProjectVariables(projectId)),
    protectedRefs: () => (opts.protectedRefs ? Promise.resolve({ ok: true, data: opts.protectedRefs }) : settle(() => readProtectedRefs(api, projectId))),
    settings: async () => {
      if (!api.getProjectCiSettings) return { ok: false, reason: 'this GitLab client cannot read project settings' };
      const get = api.getProjectCiSettings.bind(api);
      return settle(() => get(projectId));
    },
    groupVariables: async () => {
      if (!api.listGroupVariables) return { ok: false, reason: 'this GitLab client cannot read group variables' };
      const list = api.listGroupVariables.bind(api);
      const s = await load('settings');
      let namespace: string;
      let kind: string | null = null;
      if (s.ok) {
        namespace = s.data.namespaceFullPath;
        kind = s.data.namespaceKind;
      } else {
        const p = await settle(() => api.getProject(projectId));
        if (!p.ok) return p;
        namespace = p.data.namespaceFullPath;
      }
      const result: LiveData['groupVariables'] = { groups: [], unreadable: [] };
      if (kind === 'user') return { ok: true, data: result };
      for (const group of ancestorGroups(namespace)) {
        const r = await settle<GitLabVariable[]>(() => list(group));
        if (r.ok) result.groups.push({ group, variables: r.data });
        else result.unreadable.push({ group, reason: r.reason });
      }
      return { ok: true, data: result };
    },
  };

  function load<K extends LiveDataKey>(key: K): Promise<Loaded<LiveData[K]>> {
    let p = memo.get(key) as Promise<Loaded<LiveData[K]>> | undefined;
    if (!p) {
      const read = readers[key] as () => Promise<Loaded<LiveData[K]>>;
      p = opts.cache ? opts.cache.get(projectId, key, read, { now, shared: loadedCodec as Codec<Loaded<LiveData[K]>> }) : read();
      memo.set(key, p);
    }
    return p;
  }
  return load;
}
