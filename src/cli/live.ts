/**
 * `tierguard lint --gitlab-url URL --project PATH` (token from GITLAB_TOKEN): the live access the
 * CLI hands to `judge()`, the route the service's live checks take too. The token is only ever
 * sent to `gitlabUrl` (the adapter pins the origin).
 */
import { createGitLabApi } from '../gitlab/client.js';
import { GitLabError } from '../gitlab/errors.js';
import type { GitLabApi } from '../gitlab/types.js';
import { LiveCache } from '../live/cache.js';

export interface LiveLintOptions {
  gitlabUrl: string;
  token: string;
  /** Project path (`group/app`) or numeric id. */
  project: string;
  /** For tests: use this client instead of creating one. */
  api?: GitLabApi;
}

/** What `judge()` needs for live reads: the client, the project's numeric id, one cache for the run. */
export interface LiveLintAccess {
  api: GitLabApi;
  projectId: number;
  /** Shared by the variable assumptions and the live checks: each GitLab read once per run. */
  cache: LiveCache;
}

/** GitLab could not be used at all (token rejected, project not visible): exit 2 with this message. */
export class LiveLintError extends Error {
  override readonly name = 'LiveLintError';
}

/** Connect to GitLab and resolve the project, or say why not (LiveLintError). */
export async function connectLive(opts: LiveLintOptions): Promise<LiveLintAccess> {
  const project = opts.project.trim().replace(/^\/+|\/+$/g, '');
  if (!project) throw new LiveLintError('--project needs a project path (group/app) or id');
  if (!opts.api && !opts.token) throw new LiveLintError('--gitlab-url needs a token in GITLAB_TOKEN');
  const api = opts.api ?? createGitLabApi({ url: opts.gitlabUrl, token: opts.token });
  // Resolve a path (`group/sub/app`) to the numeric id once: some gitbeaker resources put the id
  // into the URL unencoded, and `GET /projects/group/sub/app/...` is a 404.
  let projectId: number;
  try {
    projectId = (await api.getProject(/^\d+$/.test(project) ? Number(project) : project)).id;
  } catch (err) {
    if (err instanceof GitLabError && err.status === 401) throw new LiveLintError(`GitLab at ${opts.gitlabUrl} rejected the token in GITLAB_TOKEN (401 Unauthorized)`);
    if (err instanceof GitLabError && (err.status === 404 || err.status === 403)) {
      throw new LiveLintError(`project ${project} was not found at ${opts.gitlabUrl}, or the token in GITLAB_TOKEN cannot see it (${err.status})`);
    }
    throw new LiveLintError(`GitLab at ${opts.gitlabUrl} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  // One run: the TTL only has to outlast it.
  return { api, projectId, cache: new LiveCache({ ttlMs: 10 * 60_000 }) };
}
