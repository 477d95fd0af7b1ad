/**
 * The GitLab surface tierguard uses. Everything outside src/gitlab talks to `GitLabApi`, so
 * tests can swap in a fake. Each response is validated with zod (only the fields we use; zod
 * objects strip everything else) and mapped to a plain camelCase result.
 *
 * Routes follow GitLab's lib/api/*.rb (see the comment on each method).
 */
import { z } from 'zod';

const id = z.number().int();
const nullableStr = z.string().nullish().transform((v) => v ?? null);

// ---------------------------------------------------------------------------------------------
// Schemas (snake_case, as GitLab sends them) and mapped results

export const UserSchema = z.object({ id, username: z.string() });
export type GitLabUser = z.infer<typeof UserSchema>;

export const ProjectSchema = z
  .object({
    id,
    path_with_namespace: z.string(),
    namespace: z.object({ full_path: z.string() }),
    default_branch: nullableStr,
    ci_config_path: nullableStr,
    web_url: z.string(),
    /** private | internal | public (lib/api/entities/project.rb, basic entity). */
    visibility: z.string().optional(),
  })
  .transform((p) => ({
    id: p.id,
    pathWithNamespace: p.path_with_namespace,
    namespaceFullPath: p.namespace.full_path,
    defaultBranch: p.default_branch,
    // GitLab stores "" when the setting was cleared (app/models/project.rb ci_config_path=).
    ciConfigPath: p.ci_config_path ? p.ci_config_path : null,
    webUrl: p.web_url,
    visibility: p.visibility ?? null,
  }));
export type GitLabProject = z.output<typeof ProjectSchema>;

const DiffRefsSchema = z
  .object({ base_sha: z.string().nullable(), head_sha: z.string().nullable(), start_sha: z.string().nullable() })
  .nullish()
  .transform((r) =>
    r && r.base_sha && r.head_sha && r.start_sha
      ? { baseSha: r.base_sha, headSha: r.head_sha, startSha: r.start_sha }
      : null,
  );
export type DiffRefs = { baseSha: string; headSha: string; startSha: string };

export const MergeRequestSchema = z
  .object({
    iid: id,
    project_id: id,
    source_project_id: id,
    target_project_id: id,
    source_branch: z.string(),
    target_branch: z.string(),
    sha: z.string(),
    diff_refs: DiffRefsSchema,
    head_pipeline: z.object({ id }).nullish(),
    web_url: z.string(),
    state: z.string(),
    author: z.object({ id }).nullish(),
    user_notes_count: z.number().int().nonnegative().nullish(),
  })
  .transform((m) => ({
    iid: m.iid,
    projectId: m.project_id,
    sourceProjectId: m.source_project_id,
    targetProjectId: m.target_project_id,
    sourceBranch: m.source_branch,
    targetBranch: m.target_branch,
    sha: m.sha,
    diffRefs: m.diff_refs,
    headPipelineId: m.head_pipeline?.id ?? null,
    webUrl: m.web_url,
    state: m.state,
    /** The MR author: GitLab reads `include:project` files with the permissions of the pipeline's user. */
    authorId: m.author?.id ?? null,
    /**
     * The MR's notes other than system notes, counted when GitLab answered (`notes.user.count` in
     * app/models/concerns/issuable.rb, exposed by lib/api/entities/merge_request_basic.rb); null
     * when the answer did not carry it.
     */
    userNotesCount: m.user_notes_count ?? null,
  }));
export type GitLabMergeRequest = z.output<typeof MergeRequestSchema>;

const DiffSchema = z
  .object({
    old_path: z.string(),
    new_path: z.string(),
    new_file: z.boolean(),
    renamed_file: z.boolean(),
    deleted_file: z.boolean(),
    diff: z.string().nullish(),
  })
  .transform((d) => ({
    oldPath: d.old_path,
    newPath: d.new_path,
    newFile: d.new_file,
    renamedFile: d.renamed_file,
    deletedFile: d.deleted_file,
    // Empty for collapsed / too_large entries.
    diff: d.diff ?? '',
  }));
export type GitLabDiff = z.output<typeof DiffSchema>;

/**
 * GET /projects/:id/merge_requests/:iid/changes (lib/api/entities/merge_request_changes.rb): the
 * MR with the files of its latest diff. `sha` (`diff_head_sha`), `changes` and `overflow` are read
 * from the same `merge_request_diff` in one request (app/models/merge_request.rb), so the files
 * listed are those of that head. A separate GET …/diffs lists whatever diff is newest when it is
 * answered: a push between the two reads would pair one head's sha with another head's files.
 */
export const MergeRequestChangesSchema = z
  .object({
    sha: z.string(),
    diff_refs: DiffRefsSchema,
    changes: z.array(DiffSchema),
    overflow: z.boolean().nullish(),
    changes_count: z.string().nullish(),
  })
  .transform((m) => ({
    sha: m.sha,
    diffRefs: m.diff_refs,
    diffs: m.changes,
    /**
     * Whether every changed file is listed. GitLab stores at most `diff_max_files` files of a diff
     * and then says `changes_count: "1000+"` (app/models/merge_request_diff.rb `save_diffs`;
     * Gitlab::Git::DiffCollection#real_size appends `+` on overflow), and `overflow: true` when the
     * listed collection hit its limits. true: complete; false: files are missing from the list;
     * null: the answer did not say.
     */
    complete: m.overflow === true || m.changes_count?.endsWith('+') ? false : m.changes_count == null ? null : true,
  }));
type GitLabMergeRequestChanges = z.output<typeof MergeRequestChangesSchema>;

export const NameSchema = z.object({ name: z.string() });
type NamedRef = z.infer<typeof NameSchema>;

/** GET /projects/:id/repository/tags entries (lib/api/entities/tag.rb: `protected` per tag). */
export const RepositoryTagSchema = z.object({ name: z.string(), protected: z.boolean().optional() }).transform((t) => ({ name: t.name, protected: t.protected ?? false }));
type GitLabRepositoryTag = z.output<typeof RepositoryTagSchema>;

/** GET /projects/:id/members/all/:user_id (lib/api/entities/member.rb). */
export const MemberSchema = z.object({ id, access_level: z.number().int() }).transform((m) => ({ id: m.id, accessLevel: m.access_level }));
type GitLabMember = z.output<typeof MemberSchema>;

/** GET /projects/:id/repository/tree entries (lib/api/entities/tree_object.rb). */
export const TreeEntrySchema = z.object({ path: z.string(), type: z.string() });

export const TemplateSchema = z.object({ name: z.string().optional(), content: z.string() });

const PositionSchema = z
  .object({
    base_sha: nullableStr,
    start_sha: nullableStr,
    head_sha: nullableStr,
    old_path: nullableStr,
    new_path: nullableStr,
    position_type: z.string().optional(),
    old_line: z.number().int().nullish().transform((v) => v ?? null),
    new_line: z.number().int().nullish().transform((v) => v ?? null),
  })
  .transform((p) => ({
    baseSha: p.base_sha,
    startSha: p.start_sha,
    headSha: p.head_sha,
    oldPath: p.old_path,
    newPath: p.new_path,
    oldLine: p.old_line,
    newLine: p.new_line,
  }));

const NoteSchema = z
  .object({
    id,
    body: z.string(),
    author: z.object({ id }),
    system: z.boolean().optional(),
    resolvable: z.boolean().optional(),
    resolved: z.boolean().optional(),
    position: PositionSchema.nullish(),
  })
  .transform((n) => ({
    id: n.id,
    body: n.body,
    authorId: n.author.id,
    system: n.system ?? false,
    resolvable: n.resolvable ?? false,
    resolved: n.resolved ?? false,
    ...(n.position ? { position: n.position } : {}),
  }));
export type GitLabNote = z.output<typeof NoteSchema>;

export const DiscussionSchema = z.object({
  id: z.string(),
  individual_note: z.boolean().optional(),
  notes: z.array(NoteSchema),
}).transform((d) => ({ id: d.id, individualNote: d.individual_note ?? false, notes: d.notes }));
export type GitLabDiscussion = z.output<typeof DiscussionSchema>;

export const CreatedNoteSchema = z.object({ id });

export const ExternalStatusCheckSchema = z
  .object({ id, name: z.string(), external_url: z.string().optional() })
  .transform((c) => ({ id: c.id, name: c.name, externalUrl: c.external_url ?? null }));
type GitLabExternalStatusCheck = z.output<typeof ExternalStatusCheckSchema>;

export const RunnerSummarySchema = z.object({ id });

/** GET /runners/:id (lib/api/entities/ci/runner_details.rb). */
export const RunnerDetailsSchema = z
  .object({
    id,
    description: nullableStr,
    tag_list: z.array(z.string()).nullish(),
    run_untagged: z.boolean().optional(),
    access_level: z.string().optional(),
    is_shared: z.boolean().optional(),
    runner_type: z.string().optional(),
    paused: z.boolean().optional(),
    active: z.boolean().optional(),
    locked: z.boolean().optional(),
  })
  .transform((r) => ({
    id: r.id,
    description: r.description,
    tagList: r.tag_list ?? [],
    runUntagged: r.run_untagged ?? true,
    // 'not_protected' | 'ref_protected'
    accessLevel: r.access_level ?? 'not_protected',
    isShared: r.is_shared ?? r.runner_type === 'instance_type',
    runnerType: r.runner_type ?? null,
    // `active` is the pre-14.8 spelling of !paused.
    paused: r.paused ?? (r.active === undefined ? false : !r.active),
    locked: r.locked ?? false,
  }));
export type GitLabRunner = z.output<typeof RunnerDetailsSchema>;

export const ProtectedEnvironmentSchema = z
  .object({
    name: z.string(),
    deploy_access_levels: z
      .array(
        z.object({
          access_level: z.number().int().nullish(),
          user_id: z.number().int().nullish(),
          group_id: z.number().int().nullish(),
        }),
      )
      .optional(),
    required_approval_count: z.number().int().optional(),
  })
  .transform((e) => ({
    name: e.name,
    deployAccessLevels: (e.deploy_access_levels ?? []).map((l) => ({
      accessLevel: l.access_level ?? null,
      userId: l.user_id ?? null,
      groupId: l.group_id ?? null,
    })),
    requiredApprovalCount: e.required_approval_count ?? 0,
  }));
export type GitLabProtectedEnvironment = z.output<typeof ProtectedEnvironmentSchema>;

/**
 * Project CI/CD variable WITHOUT its value: the schema does not declare `value`, so zod strips
 * it and no caller can ever read, log or render a secret.
 */
export const VariableSchema = z
  .object({
    key: z.string(),
    variable_type: z.string().optional(),
    protected: z.boolean(),
    masked: z.boolean(),
    hidden: z.boolean().optional(),
    raw: z.boolean().optional(),
    environment_scope: z.string().optional(),
  })
  .transform((v) => ({
    key: v.key,
    variableType: v.variable_type ?? 'env_var',
    protected: v.protected,
    masked: v.masked,
    hidden: v.hidden ?? false,
    raw: v.raw ?? false,
    environmentScope: v.environment_scope ?? '*',
  }));
export type GitLabVariable = z.output<typeof VariableSchema>;

/**
 * CI/CD settings of a project from GET /projects/:id. GitLab only exposes most of them to users
 * with `admin_project` (Maintainer; lib/api/entities/project.rb `with_options if: ... :admin_project`):
 * a field that is absent is `null` ("not visible to this token"), never a default. The entity also
 * carries `runners_token`: it is not declared here, so zod strips it.
 */
export const ProjectCiSettingsSchema = z
  .object({
    id,
    namespace: z.object({ full_path: z.string(), kind: z.string().optional() }),
    ci_allow_fork_pipelines_to_run_in_parent_project: z.boolean().nullish(),
    restrict_user_defined_variables: z.boolean().nullish(),
    ci_pipeline_variables_minimum_override_role: z.string().nullish(),
    ci_forward_deployment_enabled: z.boolean().nullish(),
    ci_separated_caches: z.boolean().nullish(),
    shared_runners_enabled: z.boolean().nullish(),
    group_runners_enabled: z.boolean().nullish(),
    public_jobs: z.boolean().nullish(),
  })
  .transform((p) => ({
    id: p.id,
    namespaceFullPath: p.namespace.full_path,
    /** 'group' | 'user' (null: not sent). */
    namespaceKind: p.namespace.kind ?? null,
    allowForkPipelinesInParent: p.ci_allow_fork_pipelines_to_run_in_parent_project ?? null,
    restrictUserDefinedVariables: p.restrict_user_defined_variables ?? null,
    /** 'no_one_allowed' | 'developer' | 'maintainer' | 'owner' */
    pipelineVariablesMinimumOverrideRole: p.ci_pipeline_variables_minimum_override_role ?? null,
    forwardDeploymentEnabled: p.ci_forward_deployment_enabled ?? null,
    separatedCaches: p.ci_separated_caches ?? null,
    sharedRunnersEnabled: p.shared_runners_enabled ?? null,
    groupRunnersEnabled: p.group_runners_enabled ?? null,
    publicJobs: p.public_jobs ?? null,
  }));
export type GitLabProjectCiSettings = z.output<typeof ProjectCiSettingsSchema>;

// ---------------------------------------------------------------------------------------------
// Inputs

/** A text position for an inline discussion (lib/api/discussions.rb `position` params). */
export interface DiscussionPosition {
  baseSha: string;
  startSha: string;
  headSha: string;
  newPath: string;
  oldPath: string;
  /** Added line: new_line only. Unchanged line: both. Removed line: old_line only. */
  newLine?: number;
  oldLine?: number;
}

/** The states tierguard posts (GitLab also takes `skipped`: lib/api/commit_statuses.rb; tierguard never posts it). */
type CommitStatusState = 'pending' | 'running' | 'success' | 'failed' | 'canceled';

export interface CommitStatusInput {
  state: CommitStatusState;
  name: string;
  ref?: string;
  targetUrl?: string;
  /** Truncated to 255 characters (GitLab's limit). */
  description?: string;
  pipelineId?: number;
}

/** 'created': GitLab recorded it; 'unchanged': it was already in that state (race). */
export type CommitStatusOutcome = 'created' | 'unchanged';

interface StatusCheckResponseInput {
  sha: string;
  externalStatusCheckId: number;
  status: 'passed' | 'failed';
}

export interface CreateOptions {
  /**
   * A string contained in `body` (typically a hidden `<!-- tierguard:… -->` marker). When the
   * create fails ambiguously (timeout, 5xx), the adapter looks for a note containing it before
   * retrying, so a retry never posts twice. Without it an ambiguous failure is thrown.
   */
  idempotencyMarker?: string;
}

// ---------------------------------------------------------------------------------------------
// The interface

export interface GitLabApi {
  /** GET /user */
  currentUser(): Promise<GitLabUser>;
  /** GET /projects/:id */
  getProject(projectId: number | string): Promise<GitLabProject>;
  /** GET /projects/:id/merge_requests/:iid */
  getMergeRequest(projectId: number | string, iid: number): Promise<GitLabMergeRequest>;
  /** GET /projects/:id/merge_requests/:iid/changes: the head sha and the files of its diff, from one answer */
  getMergeRequestChanges(projectId: number | string, iid: number): Promise<GitLabMergeRequestChanges>;
  /** GET /projects/:id/repository/files/:file_path/raw?ref= ; 404 → null */
  getRawFile(projectId: number | string, path: string, ref: string): Promise<string | null>;
  /** GET /projects/:id/protected_branches */
  listProtectedBranches(projectId: number | string): Promise<NamedRef[]>;
  /** GET /projects/:id/protected_tags (Maintainer: `read_protected_tags`) */
  listProtectedTags(projectId: number | string): Promise<NamedRef[]>;
  /** GET /projects/:id/repository/tags (all pages): existing tags with their `protected` flag (Reporter+) */
  listRepositoryTags(projectId: number | string): Promise<GitLabRepositoryTag[]>;
  /**
   * GET /projects/:id/members/all/:user_id: the user's effective membership (direct or
   * inherited), or null when they are not a member (404).
   */
  getProjectMember(projectId: number | string, userId: number): Promise<GitLabMember | null>;
  /**
   * GET /projects/:id/repository/tree?ref=&recursive=true (all pages, same-origin only): the
   * paths of the files (type `blob`) at a ref; 404 (unknown ref or empty repository) → [].
   */
  listRepositoryTree(projectId: number | string, ref: string, options?: { recursive?: boolean }): Promise<string[]>;
  /** GET /templates/gitlab_ci_ymls/:key → content; 404 → null */
  getCiTemplate(name: string): Promise<string | null>;
  /** GET /projects/:id/merge_requests/:iid/discussions (all pages) */
  listDiscussions(projectId: number | string, iid: number): Promise<GitLabDiscussion[]>;
  /**
   * POST /projects/:id/merge_requests/:iid/discussions (position[position_type]=text …).
   * Throws PositionRejectedError when the line is not in the diff.
   */
  createDiscussion(
    projectId: number | string,
    iid: number,
    body: string,
    position?: DiscussionPosition,
    options?: CreateOptions,
  ): Promise<{ id: string; noteId: number }>;
  /** POST /projects/:id/merge_requests/:iid/discussions/:discussion_id/notes */
  replyToDiscussion(
    projectId: number | string,
    iid: number,
    discussionId: string,
    body: string,
    options?: CreateOptions,
  ): Promise<{ id: number }>;
  /** PUT /projects/:id/merge_requests/:iid/discussions/:discussion_id?resolved= */
  resolveDiscussion(projectId: number | string, iid: number, discussionId: string, resolved: boolean): Promise<void>;
  /** POST /projects/:id/merge_requests/:iid/notes */
  createNote(projectId: number | string, iid: number, body: string, options?: CreateOptions): Promise<{ id: number }>;
  /** PUT /projects/:id/merge_requests/:iid/notes/:note_id */
  editNote(projectId: number | string, iid: number, noteId: number, body: string): Promise<void>;
  /** POST /projects/:id/statuses/:sha ; "Cannot transition status" → 'unchanged' */
  setCommitStatus(projectId: number | string, sha: string, status: CommitStatusInput): Promise<CommitStatusOutcome>;
  /** POST /projects/:id/merge_requests/:iid/status_check_responses (Ultimate) */
  postStatusCheckResponse(projectId: number | string, iid: number, response: StatusCheckResponseInput): Promise<void>;
  /** GET /projects/:id/external_status_checks (Ultimate) */
  listExternalStatusChecks(projectId: number | string): Promise<GitLabExternalStatusCheck[]>;
  /** GET /projects/:id/runners, then GET /runners/:id for each (details) */
  listProjectRunners(projectId: number | string): Promise<GitLabRunner[]>;
  /** GET /projects/:id/protected_environments */
  listProtectedEnvironments(projectId: number | string): Promise<GitLabProtectedEnvironment[]>;
  /** GET /projects/:id/variables — never returns values */
  listProjectVariables(projectId: number | string): Promise<GitLabVariable[]>;
  /**
   * GET /projects/:id, CI/CD settings only (fields the token cannot see are null). Optional so
   * other implementations of this interface keep compiling; callers treat absence as "unsupported".
   */
  getProjectCiSettings?(projectId: number | string): Promise<GitLabProjectCiSettings>;
  /** GET /groups/:id/variables — never returns values (same schema as project variables). */
  listGroupVariables?(groupId: number | string): Promise<GitLabVariable[]>;
  /**
   * GET /projects?membership=true&min_access_level=30&archived=false&simple=true (paginated): the
   * projects where tierguard's user is at least Developer (lib/api/projects.rb, any
   * authenticated user; `min_access_level` filters the user's own memberships). Ids only.
   */
  listMemberProjects(): Promise<number[]>;
  /**
   * GET /projects/:id/merge_requests?state=opened&updated_after= (paginated; lib/api/merge_requests.rb,
   * `read_merge_request`: Guest on public/internal, Reporter on private projects).
   */
  listOpenMergeRequests(projectId: number | string, updatedAfter: Date): Promise<GitLabOpenMergeRequest[]>;
  /**
   * GET /projects/:id/repository/commits/:sha/statuses?name=&all=true (lib/api/commit_statuses.rb,
   * `read_commit_status`: Reporter). Oldest first.
   */
  listCommitStatuses(projectId: number | string, sha: string, name: string): Promise<GitLabCommitStatus[]>;
}

// ---------------------------------------------------------------------------------------------
// Catch-up (reconcile) routes

export const MemberProjectSchema = z.object({ id });

/** One entry of GET /projects/:id/merge_requests (lib/api/entities/merge_request_basic.rb). */
export const OpenMergeRequestSchema = z
  .object({ iid: id, project_id: id, sha: nullableStr, state: z.string(), updated_at: nullableStr })
  .transform((m) => ({ iid: m.iid, projectId: m.project_id, sha: m.sha, state: m.state, updatedAt: m.updated_at }));
type GitLabOpenMergeRequest = z.output<typeof OpenMergeRequestSchema>;

/** One entry of GET …/commits/:sha/statuses (lib/api/entities/commit_status.rb). */
export const CommitStatusSchema = z
  .object({ id, name: z.string(), status: z.string(), description: nullableStr, author: z.object({ id }).nullish() })
  .transform((s) => ({ id: s.id, name: s.name, status: s.status, description: s.description, authorId: s.author?.id ?? null }));
type GitLabCommitStatus = z.output<typeof CommitStatusSchema>;
