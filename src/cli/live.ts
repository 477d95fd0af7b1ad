/**
 * `tierguard lint --gitlab-url URL --project PATH` (token from GITLAB_TOKEN): the live checks
 * for the CLI. The token is only ever sent to `gitlabUrl` (the adapter pins the origin).
 */
import type { Finding } from '../findings/finding.js';
import { createGitLabApi } from '../gitlab/client.js';
import { GitLabError } from '../gitlab/errors.js';
import type { GitLabApi } from '../gitlab/types.js';
import { runLiveChecks, type SkippedCheck } from '../live/check.js';
import type { Policy } from '../policy/types.js';
import type { VariableAssumptions } from '../contexts/contexts.js';
import { readVariableAssumptions } from '../live/assumptions.js';
import type { Evaluation } from '../rules/engine.js';

export interface LiveLintOptions {
  gitlabUrl: string;
  token: string;
  /** Project path (`group/app`) or numeric id. */
  project: string;
  evaluation: Evaluation;
  policy: Policy;
  /** For tests: use this client instead of creating one. */
  api?: GitLabApi;
}

/** GitLab could not be used at all (token rejected, project not visible): exit 2 with this message. */
export class LiveLintError extends Error {
  override readonly name = 'LiveLintError';
}

export async function liveLint(opts: LiveLintOptions): Promise<{ findings: Finding[]; skipped: SkippedCheck[]; notes: string[] }> {
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
  return runLiveChecks(api, { projectId, evaluation: opts.evaluation, policy: opts.policy });
}

/** Live data about variables that override YAML values, read before the pipeline is judged. */
export async function liveVariableAssumptions(opts: Pick<LiveLintOptions, 'gitlabUrl' | 'token' | 'project' | 'api'>): Promise<VariableAssumptions> {
  const api = opts.api ?? createGitLabApi({ url: opts.gitlabUrl, token: opts.token });
  const project = opts.project.trim();
  const projectId: number | string = /^\d+$/.test(project) ? Number(project) : project.replace(/^\/+|\/+$/g, '');
  return readVariableAssumptions(api, projectId);
}
