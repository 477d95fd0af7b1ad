/**
 * Per-project TTL cache of project-level GitLab reads: the project's settings and protected
 * refs (./cached-api.ts) and what the live checks fetch (runners, environments, variables), so a
 * busy project (many MRs, many pushes) costs one round of API calls per TTL instead of one per
 * review. Entries hold the promise, so concurrent reviews of the same project share one request.
 * A rejected load is dropped at once (the next caller asks again); callers that want "this token
 * cannot read it" remembered resolve with it instead of rejecting. Per process: with several
 * replicas each keeps its own, which is why the TTL stays short (LIVE_CACHE_TTL_SECONDS, 60 s).
 */
export interface ProjectCacheOptions {
  /** Time to live in milliseconds (default 60 000). 0 disables caching. */
  ttlMs?: number;
  /** Most projects kept (default 500); the oldest is evicted first. */
  maxProjects?: number;
  now?: () => number;
}

interface Entry {
  at: number;
  value: Promise<unknown>;
}

export class ProjectCache {
  readonly ttlMs: number;
  private readonly maxProjects: number;
  private readonly now: () => number;
  /** project key → data key → entry; Map order is insertion order (oldest first). */
  private readonly projects = new Map<string, Map<string, Entry>>();

  constructor(options: ProjectCacheOptions = {}) {
    const ttl = options.ttlMs ?? 60_000;
    if (!Number.isFinite(ttl) || ttl < 0) throw new Error(`ProjectCache ttlMs must be a non-negative number, got ${String(options.ttlMs)}`);
    this.ttlMs = ttl;
    this.maxProjects = Math.max(1, options.maxProjects ?? 500);
    this.now = options.now ?? Date.now;
  }

  /**
   * The cached value for (project, key), or the result of `load` (stored when `keep` says so;
   * a rejected promise is dropped at once so the next caller retries).
   */
  get<T>(project: number | string, key: string, load: () => Promise<T>, now: () => number = this.now): Promise<T> {
    const pk = String(project);
    const t = now();
    let entries = this.projects.get(pk);
    const hit = entries?.get(key);
    if (hit && t - hit.at < this.ttlMs) return hit.value as Promise<T>;
    const value = load();
    if (this.ttlMs === 0) return value;
    if (!entries) {
      entries = new Map();
      this.projects.set(pk, entries);
      while (this.projects.size > this.maxProjects) this.projects.delete(this.projects.keys().next().value as string);
    }
    const entry: Entry = { at: t, value };
    entries.set(key, entry);
    value.catch(() => {
      if (entries!.get(key) === entry) entries!.delete(key);
    });
    return value;
  }

  /** The fresh cached value for (project, key), if any (no load). */
  peek<T>(project: number | string, key: string): Promise<T> | undefined {
    const hit = this.projects.get(String(project))?.get(key);
    return hit && this.now() - hit.at < this.ttlMs ? (hit.value as Promise<T>) : undefined;
  }

  /** Forget one project (e.g. after a settings change webhook) or everything. */
  invalidate(project?: number | string): void {
    if (project === undefined) this.projects.clear();
    else this.projects.delete(String(project));
  }

  get size(): number {
    return this.projects.size;
  }
}
