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
 * - a push to the default branch can change the project policy file, but that file is read at
 *   the MR's base sha (immutable), so nothing cached by name needs dropping.
 * With several replicas each keeps its own cache and only the replica that received the hook
 * drops its entries: the TTL bounds the rest.
 */
import { GitLabError } from './errors.js';
import type { ProjectCache } from './project-cache.js';
import type { GitLabApi, GitLabProject, GitLabUser } from './types.js';

export interface CachedGitLabApi extends GitLabApi {
  /** Drop what is cached for a project (a system hook said it changed). */
  invalidateProject(projectId: number | string): void;
  /**
   * A webhook showed the project's current default branch and CI config path: drop the cached
   * project when they differ from it.
   */
  projectSeen(projectId: number | string, seen: { defaultBranch?: string | null; ciConfigPath?: string | null }): void;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function withProjectCache(api: GitLabApi, cache: ProjectCache): CachedGitLabApi {
  let user: Promise<GitLabUser> | undefined;

  /** Cache the value, or a 403/404 (an answer about this token's role); rethrow it on every hit. */
  const settled = async <T>(project: number | string, key: string, load: () => Promise<T>): Promise<T> => {
    const r = await cache.get<Settled<T>>(project, key, () =>
      load().then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => {
          if (error instanceof GitLabError && (error.status === 403 || error.status === 404)) return { ok: false, error };
          throw error;
        },
      ),
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
    getProject: (project) => cache.get(project, 'project', () => api.getProject(project)),
    listProtectedBranches: (project) => settled(project, 'protected_branches', () => api.listProtectedBranches(project)),
    listProtectedTags: (project) => settled(project, 'protected_tags', () => api.listProtectedTags(project)),
    listRepositoryTags: (project) => settled(project, 'repository_tags', () => api.listRepositoryTags(project)),
    invalidateProject: (project) => cache.invalidate(project),
    projectSeen: (project, seen) => {
      const cached = cache.peek<GitLabProject>(project, 'project');
      cached?.then(
        (p) => {
          const ciConfigPath = seen.ciConfigPath ? seen.ciConfigPath : null;
          const branchDiffers = seen.defaultBranch !== undefined && (seen.defaultBranch ?? null) !== p.defaultBranch;
          const pathDiffers = seen.ciConfigPath !== undefined && ciConfigPath !== p.ciConfigPath;
          // Only if the entry is still the one compared (a newer read may have replaced it).
          if ((branchDiffers || pathDiffers) && cache.peek(project, 'project') === cached) cache.invalidate(project);
        },
        () => undefined,
      );
    },
  };
}
