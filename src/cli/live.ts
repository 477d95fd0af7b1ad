/**
 * `tierguard lint --gitlab-url URL --project PATH` (token from GITLAB_TOKEN): the live checks
 * for the CLI. The token is only ever sent to `gitlabUrl` (the adapter pins the origin).
 */
import type { Finding } from '../findings/finding.js';
import { createGitLabApi } from '../gitlab/client.js';
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

export async function liveLint(opts: LiveLintOptions): Promise<{ findings: Finding[]; skipped: SkippedCheck[]; notes: string[] }> {
  const project = opts.project.trim();
  if (!project) throw new Error('--project needs a project path (group/app) or id');
  if (!opts.api && !opts.token) throw new Error('--gitlab-url needs a token in GITLAB_TOKEN');
  const api = opts.api ?? createGitLabApi({ url: opts.gitlabUrl, token: opts.token });
  const projectId: number | string = /^\d+$/.test(project) ? Number(project) : project.replace(/^\/+|\/+$/g, '');
  return runLiveChecks(api, { projectId, evaluation: opts.evaluation, policy: opts.policy });
}

/** Live data about variables that override YAML values, read before the pipeline is judged. */
export async function liveVariableAssumptions(opts: Pick<LiveLintOptions, 'gitlabUrl' | 'token' | 'project' | 'api'>): Promise<VariableAssumptions> {
  const api = opts.api ?? createGitLabApi({ url: opts.gitlabUrl, token: opts.token });
  const project = opts.project.trim();
  const projectId: number | string = /^\d+$/.test(project) ? Number(project) : project.replace(/^\/+|\/+$/g, '');
  return readVariableAssumptions(api, projectId);
}
