/**
 * The service's GitLab reads that do not change from one review to the next, cached in front of
 * the adapter (the composition root wraps the API once, src/server/server.ts):
 *
 * - `GET /user` for the life of the process (the token does not change while it runs);
 * - `GET /projects/:id` and the protected branches / tags (and the repository-tags fallback)
 *   per project in the {@link ProjectCache}, for its short TTL (LIVE_CACHE_TTL_SECONDS, 60 s by
 *   default). A 403/404 of those lists is an answer ("this token cannot read it") and is kept
 *   like data; any other failure is not kept.
 *
 * Files are not cached here: the reviewer's FileCache (./config-source.ts) keeps every raw read
 * at an immutable sha, which is why a recheck of an unchanged sha reads no file.
 *
 * What GitLab tells us when these change (so the entries can be dropped before the TTL ends):
 * - project settings (`ci_config_path`, default branch, visibility): a *system hook* with
 *   `event_name` `project_update`, `project_rename`, `project_transfer` or `project_destroy`
 *   (app/services/system_hooks_service.rb; doc/administration/system_hooks.md), sent only to
 *   system hooks, which only an instance administrator can add (self-managed / Dedicated). Project
 *   and group webhooks get no settings event; but every merge request hook carries the project's
 *   current `default_branch` and `ci_config_path` (app/models/project.rb `hook_attrs`), so a
 *   delivery that disagrees with the cached project drops it ({@link CachedGitLabApi.projectSeen}).
 * - protected branches and tags: no webhook or system hook at all (gitlab-org/gitlab#440362), so
 *   only the TTL bounds how stale they can be.
 * - the project policy file, kept per project and target branch in the same cache
 *   (src/server/review-mr.ts): no hook says it changed (a push event would, but tierguard does
 *   not subscribe to pushes), so a change on the target branch applies within the TTL.
 * With several replicas (REDIS_URL) the project-level entries live in Redis, shared by every
 * replica ({@link ProjectCache} with src/server/project-cache-redis.ts): a replica that never saw
 * a project reads what another one loaded, and the replica that received a hook drops the
 * project's entries for all of them at once (one DEL). The settled 403/404 answers are stored as
 * their status, route and message and come back as an equal {@link GitLabError}.
 */
import { GitLabError } from './errors.js';
import { jsonCodec, type Codec, type ProjectCache } from './project-cache.js';
import type { GitLabApi, GitLabProject, GitLabUser } from './types.js';

export interface CachedGitLabApi extends GitLabApi {
  /** Drop what is cached for a project (a system hook said it changed); resolves when done, never rejects. */
  invalidateProject(projectId: number | string): Promise<void>;
  /**
   * A webhook showed the project's current default branch and CI config path: drop the cached
   * project when they differ from it. Resolves when done, never rejects.
   */
  projectSeen(projectId: number | string, seen: { defaultBranch?: string | null; ciConfigPath?: string | null }): Promise<void>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: GitLabError };

/** A settled answer as JSON: the value, or the 403/404 as status, route and message (no stack). */
type StoredSettled<T> = { ok: true; value: T } | { ok: false; status: number; route: string; message: string };

function settledCodec<T>(): Codec<Settled<T>> {
  return {
    encode: (s) => {
      const stored: StoredSettled<T> = s.ok ? s : { ok: false, status: s.error.status, route: s.error.route, message: s.error.detail };
      return JSON.stringify(stored);
    },
    decode: (text) => {
      const s = JSON.parse(text) as StoredSettled<T>;
      // The same error a caller would get from the adapter: same status, route and message.
      return s.ok ? s : { ok: false, error: new GitLabError({ status: s.status, route: s.route, message: s.message }) };
    },
  };
}
const projectCodec = jsonCodec<GitLabProject>();

export function withProjectCache(api: GitLabApi, cache: ProjectCache): CachedGitLabApi {
  let user: Promise<GitLabUser> | undefined;

  /** Cache the value, or a 403/404 (an answer about this token's role); rethrow it on every hit. */
  const settled = async <T>(project: number | string, key: string, load: () => Promise<T>): Promise<T> => {
    const r = await cache.get<Settled<T>>(
      project,
      key,
      () =>
        load().then(
          (value): Settled<T> => ({ ok: true, value }),
          (error: unknown): Settled<T> => {
            if (error instanceof GitLabError && (error.status === 403 || error.status === 404)) return { ok: false, error };
            throw error;
          },
        ),
      { shared: settledCodec<T>() },
    );
    if (r.ok) return r.value;
    throw r.error;
  };

  return {
    ...api,
    currentUser: () => {
      if (!user) {
        const p = api.currentUser();
        user = p;
        p.catch(() => {
          if (user === p) user = undefined;
        });
      }
      return user;
    },
    getProject: (project) => cache.get(project, 'project', () => api.getProject(project), { shared: projectCodec }),
    listProtectedBranches: (project) => settled(project, 'protected_branches', () => api.listProtectedBranches(project)),
    listProtectedTags: (project) => settled(project, 'protected_tags', () => api.listProtectedTags(project)),
    listRepositoryTags: (project) => settled(project, 'repository_tags', () => api.listRepositoryTags(project)),
    invalidateProject: (project) => cache.invalidate(project),
    projectSeen: (project, seen) =>
      cache.invalidateIf<GitLabProject>(
        project,
        'project',
        (p) => {
          const ciConfigPath = seen.ciConfigPath ? seen.ciConfigPath : null;
          const branchDiffers = seen.defaultBranch !== undefined && (seen.defaultBranch ?? null) !== p.defaultBranch;
          const pathDiffers = seen.ciConfigPath !== undefined && ciConfigPath !== p.ciConfigPath;
          return branchDiffers || pathDiffers;
        },
        { shared: projectCodec },
      ),
  };
}
