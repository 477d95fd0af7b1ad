/**
 * Webhook payloads shaped like GitLab's documented samples
 * (doc/user/project/integrations/webhook_events.md, lib/gitlab/hook_data/*_builder.rb), and a
 * helper to push a new commit to a fake MR; `deliverHook` posts one to a running service.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeGitLab, FakeMergeRequest, FileTree } from '../support/fake-gitlab.js';
import { unifiedDiff } from '../support/fake-gitlab.js';

export const SECRET = 'webhook-secret-0123456789abcdef';

export function policyDir(defaultYaml = 'version: 1\n'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tierguard-policy-'));
  writeFileSync(join(dir, 'default.yaml'), defaultYaml);
  return dir;
}

export function mrHook(
  gl: FakeGitLab,
  mr: FakeMergeRequest,
  init: { action: string; userId?: number; oldrev?: string; sha?: string; targetBranchChange?: boolean },
): Record<string, unknown> {
  const p = gl.state.projects.get(mr.projectId)!;
  const sha = init.sha ?? mr.headSha;
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: { id: init.userId ?? 42, name: 'Ada Lovelace', username: 'ada', avatar_url: null, email: '[REDACTED]' },
    project: {
      id: p.id,
      name: p.pathWithNamespace.split('/').pop(),
      description: '',
      web_url: `${gl.url}/${p.pathWithNamespace}`,
      avatar_url: null,
      git_ssh_url: `git@example.com:${p.pathWithNamespace}.git`,
      git_http_url: `${gl.url}/${p.pathWithNamespace}.git`,
      namespace: p.pathWithNamespace.split('/')[0],
      visibility_level: 0,
      path_with_namespace: p.pathWithNamespace,
      default_branch: p.defaultBranch,
      ci_config_path: p.ciConfigPath ?? '',
    },
    repository: { name: p.pathWithNamespace.split('/').pop(), url: '', description: '', homepage: '' },
    object_attributes: {
      id: mr.projectId * 1000 + mr.iid,
      iid: mr.iid,
      target_branch: mr.targetBranch,
      source_branch: mr.sourceBranch,
      source_project_id: mr.sourceProjectId,
      target_project_id: mr.projectId,
      author_id: 42,
      title: 'Add deploy',
      created_at: '2024-01-01 10:00:00 UTC',
      updated_at: '2024-01-01 10:05:00 UTC',
      state: mr.state,
      merge_status: 'unchecked',
      description: '',
      url: `${gl.url}/${p.pathWithNamespace}/-/merge_requests/${mr.iid}`,
      last_commit: { id: sha, message: 'change', title: 'change', timestamp: '2024-01-01T10:04:00+00:00', url: '', author: { name: 'Ada', email: '[REDACTED]' } },
      work_in_progress: false,
      draft: false,
      action: init.action,
      ...(init.oldrev ? { oldrev: init.oldrev } : {}),
    },
    labels: [],
    changes: init.targetBranchChange ? { target_branch: { previous: 'develop', current: mr.targetBranch } } : { updated_at: { previous: 'a', current: 'b' } },
  };
}

export function noteHook(gl: FakeGitLab, mr: FakeMergeRequest, note: string, userId = 42): Record<string, unknown> {
  const p = gl.state.projects.get(mr.projectId)!;
  return {
    object_kind: 'note',
    event_type: 'note',
    user: { id: userId, name: 'Ada', username: 'ada', avatar_url: null, email: '[REDACTED]' },
    project_id: p.id,
    project: { id: p.id, name: 'app', path_with_namespace: p.pathWithNamespace, default_branch: p.defaultBranch, web_url: '' },
    repository: { name: 'app', url: '', description: '', homepage: '' },
    object_attributes: {
      id: 1244,
      note,
      noteable_type: 'MergeRequest',
      author_id: userId,
      created_at: '2024-01-01 10:10:00 UTC',
      updated_at: '2024-01-01 10:10:00 UTC',
      project_id: p.id,
      attachment: null,
      line_code: null,
      commit_id: '',
      noteable_id: mr.projectId * 1000 + mr.iid,
      system: false,
      st_diff: null,
      action: 'create',
      url: '',
    },
    merge_request: {
      id: mr.projectId * 1000 + mr.iid,
      iid: mr.iid,
      target_branch: mr.targetBranch,
      source_branch: mr.sourceBranch,
      source_project_id: mr.sourceProjectId,
      target_project_id: mr.projectId,
      state: mr.state,
      title: 'Add deploy',
      last_commit: { id: mr.headSha, message: 'change' },
    },
  };
}

/** A new commit on the MR's source branch: new head sha, new diffs, optionally a new CI pipeline. */
export function pushToMr(gl: FakeGitLab, mr: FakeMergeRequest, base: FileTree, head: FileTree, opts: { pipeline?: boolean } = {}): { oldrev: string; sha: string } {
  const oldrev = mr.headSha;
  const sha = gl.addCommit(mr.projectId, head, mr.sourceBranch);
  mr.headSha = sha;
  mr.diffs = [];
  for (const path of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
    if (base[path] === head[path]) continue;
    mr.diffs.push({
      old_path: path,
      new_path: path,
      new_file: base[path] === undefined,
      renamed_file: false,
      deleted_file: head[path] === undefined,
      diff: unifiedDiff(base[path] ?? '', head[path] ?? ''),
    });
  }
  if (opts.pipeline) mr.headPipelineId = gl.addPipeline(mr.projectId, sha, mr.sourceBranch, 'merge_request_event').id;
  return { oldrev, sha };
}

export const CLEAN_CI = `stages: [test]

test:
  stage: test
  tags: [ci-general]
  script:
    - make test
`;

export const UNSAFE_CI = `stages: [test, deploy]

test:
  stage: test
  tags: [ci-general]
  script:
    - make test

deploy:
  stage: deploy
  tags: [ci-general]
  environment: production
  script:
    - ./deploy.sh
`;

export const FIXED_CI = `stages: [test, deploy]

test:
  stage: test
  tags: [ci-general]
  script:
    - make test

deploy:
  stage: deploy
  tags: [ci-deploy-prod]
  environment: production
  needs: [test]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
  script:
    - ./deploy.sh
`;

/** POST a webhook to a running service with the right secret, then wait until its queue is idle; the HTTP status. */
export async function deliverHook(srv: { url: string; queue: { drain(): Promise<void> } }, event: string, body: unknown): Promise<number> {
  const res = await fetch(`${srv.url}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': SECRET },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  await srv.queue.drain();
  return res.status;
}

