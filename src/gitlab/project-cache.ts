/**
 * Per-project TTL cache of project-level GitLab reads: the project's settings and protected
 * refs (./cached-api.ts), the project policy file (src/server/review-mr.ts) and what the live
 * checks fetch (runners, environments, variables), so a busy project (many MRs, many pushes)
 * costs one round of API calls per TTL instead of one per review. Concurrent callers of one
 * process share one load (the entry holds the promise). A rejected load is dropped at once (the
 * next caller asks again); callers that want "this token cannot read it" remembered resolve with
 * it instead of rejecting.
 *
 * With a {@link SharedProjectStore} (REDIS_URL: src/server/project-cache-redis.ts) the entries a
 * caller marks as shareable (a {@link Codec} to turn them into a string and back) live there
 * instead, for the same TTL, seen by every replica: a replica that never saw a project reads
 * what another one loaded, and an invalidation drops them for all replicas at once. The process
 * then keeps only the loads in flight (for sharing them between concurrent callers), never a
 * copy that another replica's invalidation could not reach. The store is best effort: when it
 * fails (Redis away or slower than its timeout) the process's own entries serve, as without
 * REDIS_URL; a value that does not decode is read from GitLab again. A warning is logged (never
 * a value), and nothing fails or waits on the store beyond its own timeout.
 */
export interface ProjectCacheOptions {
  /** Time to live in milliseconds (default 60 000). 0 disables caching. */
  ttlMs?: number;
  /** Most projects kept (default 500); the oldest is evicted first. */
  maxProjects?: number;
  now?: () => number;
  /** Where shareable entries are kept (every replica sees them); without it, in process only. */
  shared?: SharedProjectStore;
  /** A shared store operation failed (the cache went on without it). No value is ever passed. */
  onWarning?: (msg: string, detail: Record<string, unknown>) => void;
}

/** A cached value to and from the string kept in the shared store. */
export interface Codec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/** For values that are plain JSON data (no Date, Map, class instance, undefined in arrays). */
export function jsonCodec<T>(): Codec<T> {
  return { encode: (v) => JSON.stringify(v), decode: (t) => JSON.parse(t) as T };
}

/** The cross-replica part of the cache (implemented on Redis by the service). Any method may reject. */
export interface SharedProjectStore {
  /**
   * The fresh value of (project, key) or, when there is none, the project's current epoch: a
   * value loaded afterwards is written under it, so an invalidation in between (which ends
   * the epoch) keeps the older read out.
   */
  read(project: string, key: string, ttlMs: number): Promise<{ hit: true; value: string } | { hit: false; epoch: string }>;
  write(project: string, key: string, value: string, ttlMs: number, epoch: string): Promise<void>;
  /** The fresh value of (project, key), if any. */
  peek(project: string, key: string, ttlMs: number): Promise<string | undefined>;
  /** Forget every entry of the project. */
  invalidate(project: string): Promise<void>;
  /** Forget every entry of the project if (project, key) still holds `value`. */
  invalidateIf(project: string, key: string, value: string): Promise<void>;
}

export interface GetOptions<T> {
  now?: () => number;
  /** Keep the entry in the shared store (when the cache has one) as this codec writes it. */
  shared?: Codec<T>;
}

interface Entry {
  at: number;
  value: Promise<unknown>;
}

export class ProjectCache {
  readonly ttlMs: number;
  private readonly maxProjects: number;
  private readonly now: () => number;
  private readonly shared?: SharedProjectStore;
  /** project key → data key → entry; Map order is insertion order (oldest first). */
  private readonly projects = new Map<string, Map<string, Entry>>();
  /** Shared mode: loads in flight, project key → data key → promise. */
  private readonly pending = new Map<string, Map<string, Promise<unknown>>>();

  constructor(private readonly options: ProjectCacheOptions = {}) {
    const ttl = options.ttlMs ?? 60_000;
    if (!Number.isFinite(ttl) || ttl < 0) throw new Error(`ProjectCache ttlMs must be a non-negative number, got ${String(options.ttlMs)}`);
    this.ttlMs = ttl;
    this.maxProjects = Math.max(1, options.maxProjects ?? 500);
    this.now = options.now ?? Date.now;
    if (options.shared) this.shared = options.shared;
  }

  /**
   * The cached value for (project, key), or the result of `load` (a rejected promise is dropped
   * at once so the next caller retries). With `opts.shared` and a shared store, kept there.
   */
  get<T>(project: number | string, key: string, load: () => Promise<T>, opts: GetOptions<T> = {}): Promise<T> {
    if (this.ttlMs === 0) return load();
    const pk = String(project);
    if (this.shared && opts.shared) return this.getShared(this.shared, pk, key, load, opts.shared);
    return this.getLocal(pk, key, load, (opts.now ?? this.now)());
  }

  private getLocal<T>(pk: string, key: string, load: () => Promise<T>, t: number): Promise<T> {
    let entries = this.projects.get(pk);
    const hit = entries?.get(key);
    if (hit && t - hit.at < this.ttlMs) return hit.value as Promise<T>;
    const value = load();
    if (!entries) {
      entries = new Map();
      this.projects.set(pk, entries);
      while (this.projects.size > this.maxProjects) this.projects.delete(this.projects.keys().next().value as string);
    }
    const entry: Entry = { at: t, value };
    entries.set(key, entry);
    value.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return value;
  }

  private getShared<T>(store: SharedProjectStore, pk: string, key: string, load: () => Promise<T>, codec: Codec<T>): Promise<T> {
    let inFlight = this.pending.get(pk);
    const running = inFlight?.get(key);
    if (running) return running as Promise<T>;
    const value = (async () => {
      let epoch: string | undefined;
      try {
        const r = await store.read(pk, key, this.ttlMs);
        if (r.hit) {
          try {
            return codec.decode(r.value);
          } catch {
            // Never the parser's message: it may quote the value.
            this.warn('shared project cache: a stored value did not decode; reading from GitLab', { key });
          }
        } else epoch = r.epoch;
      } catch (err) {
        // Redis away or slow: this process's own cache, as without REDIS_URL, until it is back.
        this.warn('shared project cache unavailable (read); using this replica\'s own cache', { key, err: errMessage(err) });
        return this.getLocal(pk, key, load, this.now());
      }
      const v = await load();
      if (epoch !== undefined) {
        try {
          await store.write(pk, key, codec.encode(v), this.ttlMs, epoch);
        } catch (err) {
          this.warn('shared project cache unavailable (write); the value is not shared', { key, err: errMessage(err) });
        }
      }
      return v;
    })();
    if (!inFlight) {
      inFlight = new Map();
      this.pending.set(pk, inFlight);
    }
    const entries = inFlight;
    entries.set(key, value);
    const done = () => {
      if (entries.get(key) !== value) return;
      entries.delete(key);
      if (entries.size === 0 && this.pending.get(pk) === entries) this.pending.delete(pk);
    };
    value.then(done, done);
    return value;
  }

  /**
   * Forget one project (e.g. after a settings change webhook) or everything this process holds.
   * With a shared store, the project's shared entries too (for every replica); resolves when
   * the store answered (never rejects).
   */
  async invalidate(project?: number | string): Promise<void> {
    if (project === undefined) {
      this.projects.clear();
      this.pending.clear();
      return;
    }
    const pk = String(project);
    this.projects.delete(pk);
    this.pending.delete(pk);
    if (!this.shared || this.ttlMs === 0) return;
    try {
      await this.shared.invalidate(pk);
    } catch (err) {
      this.warn('shared project cache unavailable (invalidate): other replicas keep the entries until the TTL ends', { err: errMessage(err) });
    }
  }

  /**
   * Forget the project when the cached value of `key` is `stale` (and still the one compared:
   * a newer read may have replaced it). Resolves when done (never rejects).
   */
  async invalidateIf<T>(project: number | string, key: string, stale: (value: T) => boolean, opts: { shared?: Codec<T> } = {}): Promise<void> {
    if (this.ttlMs === 0) return;
    const pk = String(project);
    if (this.shared && opts.shared) {
      try {
        const text = await this.shared.peek(pk, key, this.ttlMs);
        if (text !== undefined && staleText(opts.shared, text, stale)) {
          this.pending.delete(pk);
          await this.shared.invalidateIf(pk, key, text);
        }
      } catch (err) {
        this.warn('shared project cache unavailable (invalidate): other replicas keep the entries until the TTL ends', { err: errMessage(err) });
      }
    }
    // This process's own entry (the only one without a shared store; with one, what a Redis outage left).
    const hit = this.projects.get(pk)?.get(key);
    if (!hit || this.now() - hit.at >= this.ttlMs) return;
    let value: T;
    try {
      value = (await hit.value) as T;
    } catch {
      return;
    }
    if (stale(value) && this.projects.get(pk)?.get(key) === hit) this.projects.delete(pk);
  }

  get size(): number {
    return this.projects.size;
  }

  private warn(msg: string, detail: Record<string, unknown>): void {
    this.options.onWarning?.(msg, detail);
  }
}

/** A value that does not decode counts as stale (dropped). */
function staleText<T>(codec: Codec<T>, text: string, stale: (value: T) => boolean): boolean {
  let value: T;
  try {
    value = codec.decode(text);
  } catch {
    return true;
  }
  return stale(value);
}

const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
