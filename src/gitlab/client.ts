/**
 * `createGitLabApi`: the GitLabApi implementation over @gitbeaker/rest (the only module that
 * imports it). HTTP behaviour (retries, timeouts, origin pinning) lives in ./requester.ts.
 */
import { AccessLevel, Gitlab, type DiscussionNotePositionOptions } from '@gitbeaker/rest';
import { z } from 'zod';
import { GitLabError, PositionRejectedError } from './errors.js';
import { gitlabBaseUrl, validated } from './response.js';
import { callContext, createRequesterFn, type CallKind, type FormattedResponse, type GitLabLogger, type RequesterSettings, type RequestOptionsLike as RequestOptions } from './requester.js';
import { DEFAULT_RETRY, backoffMs, realSleep, type RetryOptions } from './retry.js';
import {
  CreatedNoteSchema,
  MergeRequestChangesSchema,
  DiscussionSchema,
  ExternalStatusCheckSchema,
  MemberSchema,
  MergeRequestSchema,
  NameSchema,
  ProjectCiSettingsSchema,
  ProjectSchema,
  ProtectedEnvironmentSchema,
  RunnerDetailsSchema,
  RepositoryTagSchema,
  RunnerSummarySchema,
  TemplateSchema,
  TreeEntrySchema,
  UserSchema,
  VariableSchema,
  MemberProjectSchema,
  OpenMergeRequestSchema,
  CommitStatusSchema,
  type CommitStatusInput,
  type CommitStatusOutcome,
  type CreateOptions,
  type DiscussionPosition,
  type GitLabApi,
  type GitLabDiscussion,
  type GitLabUser,
} from './types.js';

export interface GitLabApiOptions {
  /** Base URL of the instance, e.g. https://gitlab.example.com (no /api/v4). */
  url: string;
  token: string;
  logger?: GitLabLogger;
  /** Per-attempt timeout (default 15 000 ms). */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** Called once per HTTP attempt: route template, HTTP status (0: no response), duration. */
  onCall?: (route: string, status: number, ms: number) => void;
  /** A limiter shared across clients (see RequesterSettings.throttle / onRateLimit). */
  throttle?: () => Promise<void>;
  onRateLimit?: (delayMs: number) => void;
  /**
   * Wait before checking whether a timed-out create landed (default: timeoutMs). Without a
   * server-side idempotency key this narrows, but cannot close, the window for a duplicate.
   */
  ambiguousSettleMs?: number;
  /** Injectable for tests (record requested delays instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** What `new Gitlab({ requesterFn })` takes (gitbeaker's RequesterType factory). */
type GitbeakerRequesterFn = NonNullable<ConstructorParameters<typeof Gitlab>[0]['requesterFn']>;

/**
 * Our requester (./requester.ts) under gitbeaker's contract, whose methods let each caller name
 * the body type `T` and never check it. Bodies stay unchecked until `call` validates each one
 * with its zod schema; naming `T` here only satisfies the contract.
 */
function gitbeakerRequesterFn(settings: RequesterSettings): GitbeakerRequesterFn {
  const create = createRequesterFn(settings);
  return (service) => {
    const r = create(service);
    /* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- gitbeaker's RequesterType is generic in T */
    const typed = <T>(p: Promise<FormattedResponse>) => p as Promise<FormattedResponse & { body: T }>;
    return {
      get: <T>(endpoint: string, options?: RequestOptions) => typed<T>(r.get(endpoint, options)),
      post: <T>(endpoint: string, options?: RequestOptions) => typed<T>(r.post(endpoint, options)),
      put: <T>(endpoint: string, options?: RequestOptions) => typed<T>(r.put(endpoint, options)),
      patch: <T>(endpoint: string, options?: RequestOptions) => typed<T>(r.patch(endpoint, options)),
      delete: <T>(endpoint: string, options?: RequestOptions) => typed<T>(r.delete(endpoint, options)),
    };
    /* eslint-enable @typescript-eslint/no-unnecessary-type-parameters */
  };
}

const DESCRIPTION_MAX = 255;
/** Safety bound on list pagination (100 pages × 100 = 10 000 items). */
const MAX_PAGES = 100;

export function createGitLabApi(options: GitLabApiOptions): GitLabApi {
  const base = gitlabBaseUrl(options.url, 'GITLAB_URL');
  if (!options.token) throw new Error('a GitLab token is required');
  const host = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const settings = {
    origin: base.origin,
    token: options.token,
    timeoutMs: options.timeoutMs ?? 15_000,
    retry,
    logger: options.logger,
    onCall: options.onCall,
    throttle: options.throttle,
    onRateLimit: options.onRateLimit,
    sleep,
    random,
  };
  // queryTimeout: null → gitbeaker creates no shared signal; the requester times each attempt.
  const gl = new Gitlab({
    host,
    token: options.token,
    queryTimeout: null,
    requesterFn: gitbeakerRequesterFn(settings),
  });

  /** Run one adapter call with its route/kind visible to the requester, and validate it. */
  async function call<S extends z.ZodType>(
    route: string,
    kind: CallKind,
    schema: S,
    fn: () => Promise<unknown>,
    rawText = false,
  ): Promise<z.output<S>> {
    return validated(route, schema, await callContext.run({ route, kind, rawText }, fn));
  }

  let me: Promise<GitLabUser> | undefined;
  const currentUser = (): Promise<GitLabUser> => {
    me ??= call('GET /user', 'read', UserSchema, () => gl.Users.showCurrentUser()).catch((err: unknown) => {
      me = undefined;
      throw err;
    });
    return me;
  };

  const listDiscussions = (projectId: number | string, iid: number): Promise<GitLabDiscussion[]> =>
    call('GET /projects/:id/merge_requests/:iid/discussions', 'read', z.array(DiscussionSchema), () =>
      gl.MergeRequestDiscussions.all(projectId, iid, { perPage: 100, maxPages: MAX_PAGES }),
    );

  /**
   * A create that is never duplicated: on an ambiguous failure (timeout, 5xx, reset) look for
   * a note by this bot containing the marker; return it if found, else try again.
   */
  async function createOnce<T>(
    route: string,
    marker: string | undefined,
    attempt: () => Promise<T>,
    findExisting: (mine: number) => Promise<T | null>,
  ): Promise<T> {
    for (let i = 0; ; i += 1) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof GitLabError) || !err.ambiguous || !marker || i >= retry.retries) throw err;
        // After a timeout the request may still be running on GitLab: give it time to land
        // before looking, or the check would miss it and the retry would duplicate it.
        const settle = err.status === 0 ? (options.ambiguousSettleMs ?? settings.timeoutMs) : 0;
        const delay = Math.max(settle, backoffMs(i, retry, random));
        options.logger?.warn({ route, attempt: i + 1, delayMs: delay }, 'GitLab create failed ambiguously; checking whether it landed');
        await sleep(delay);
        const user = await currentUser();
        const existing = await findExisting(user.id);
        if (existing !== null) return existing;
      }
    }
  }

  const hasMarker = (marker: string, mine: number) => (n: { body: string; authorId: number }) =>
    n.authorId === mine && n.body.includes(marker);

  function checkMarker(body: string, opts?: CreateOptions): string | undefined {
    const marker = opts?.idempotencyMarker;
    if (marker !== undefined && (marker === '' || !body.includes(marker))) {
      throw new Error('idempotencyMarker must be a non-empty string contained in the body');
    }
    return marker;
  }

  const api: GitLabApi = {
    currentUser,

    getProject: (projectId) =>
      call('GET /projects/:id', 'read', ProjectSchema, () => gl.Projects.show(projectId)),

    getMergeRequest: (projectId, iid) =>
      call('GET /projects/:id/merge_requests/:iid', 'read', MergeRequestSchema, () => gl.MergeRequests.show(projectId, iid)),

    getMergeRequestChanges: (projectId, iid) =>
      // Through the resource's requester: MergeRequests.showChanges() emits a deprecation warning
      // on every call. The route is deprecated for API v5 but served by v4, and it is the one
      // answer that pairs a head sha with the files of that head's diff (see MergeRequestChangesSchema).
      call('GET /projects/:id/merge_requests/:iid/changes', 'read', MergeRequestChangesSchema, async () => {
        const res = await gl.MergeRequests.requester.get(`projects/${encodeURIComponent(String(projectId))}/merge_requests/${iid}/changes`);
        return res.body;
      }),

    async getRawFile(projectId, path, ref) {
      try {
        // rawText: the file's bytes as text even if GitLab labels them application/json.
        return await call(
          'GET /projects/:id/repository/files/:file_path/raw',
          'read',
          z.string(),
          () => gl.RepositoryFiles.showRaw(projectId, path, ref),
          true,
        );
      } catch (err) {
        if (err instanceof GitLabError && err.status === 404) return null;
        throw err;
      }
    },

    listProtectedBranches: (projectId) =>
      call('GET /projects/:id/protected_branches', 'read', z.array(NameSchema), () =>
        gl.ProtectedBranches.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    listProtectedTags: (projectId) =>
      call('GET /projects/:id/protected_tags', 'read', z.array(NameSchema), () =>
        gl.ProtectedTags.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    listRepositoryTags: (projectId) =>
      call('GET /projects/:id/repository/tags', 'read', z.array(RepositoryTagSchema), () =>
        gl.Tags.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    async getProjectMember(projectId, userId) {
      try {
        return await call('GET /projects/:id/members/all/:user_id', 'read', MemberSchema, () => gl.ProjectMembers.show(projectId, userId, { includeInherited: true }));
      } catch (err) {
        if (err instanceof GitLabError && err.status === 404) return null;
        throw err;
      }
    },

    async listRepositoryTree(projectId, ref, opts) {
      try {
        const entries = await call('GET /projects/:id/repository/tree', 'read', z.array(TreeEntrySchema), () =>
          gl.Repositories.allRepositoryTrees(projectId, {
            ref,
            recursive: opts?.recursive ?? false,
            // No `pagination`: lib/api/repositories.rb takes legacy (the default: pages), keyset or
            // none, and answers 400 to anything else.
            perPage: 100,
            maxPages: MAX_PAGES,
          }),
        );
        return entries.filter((e) => e.type === 'blob').map((e) => e.path);
      } catch (err) {
        if (err instanceof GitLabError && err.status === 404) return [];
        throw err;
      }
    },

    async getCiTemplate(name) {
      try {
        // Through the resource's requester: GitLabCIYMLTemplates.show() emits a deprecation
        // warning on every call.
        const tpl = await call('GET /templates/gitlab_ci_ymls/:key', 'read', TemplateSchema, async () => {
          const res = await gl.GitLabCIYMLTemplates.requester.get(encodeURIComponent(name));
          return res.body;
        });
        return tpl.content;
      } catch (err) {
        if (err instanceof GitLabError && err.status === 404) return null;
        throw err;
      }
    },

    listDiscussions,

    async createDiscussion(projectId, iid, body, position, opts) {
      const route = 'POST /projects/:id/merge_requests/:iid/discussions';
      const marker = checkMarker(body, opts);
      const created = z.object({ id: z.string(), notes: z.tuple([CreatedNoteSchema], CreatedNoteSchema) });
      return createOnce(
        route,
        marker,
        async () => {
          try {
            const d = await call(route, 'create', created, () =>
              gl.MergeRequestDiscussions.create(projectId, iid, body, position ? { position: toPositionParams(position) } : {}),
            );
            return { id: d.id, noteId: d.notes[0].id };
          } catch (err) {
            // app/services/notes/create_service.rb → DiffNote validation of line_code.
            if (position && err instanceof GitLabError && err.status === 400 && /line_code/.test(err.message)) {
              throw new PositionRejectedError(route, err.message.replace(/^.*?: /, ''));
            }
            throw err;
          }
        },
        async (mine) => {
          const all = await listDiscussions(projectId, iid);
          for (const d of all) {
            const [note] = d.notes;
            if (note && hasMarker(marker!, mine)(note)) return { id: d.id, noteId: note.id };
          }
          return null;
        },
      );
    },

    async replyToDiscussion(projectId, iid, discussionId, body, opts) {
      const route = 'POST /projects/:id/merge_requests/:iid/discussions/:discussion_id/notes';
      const marker = checkMarker(body, opts);
      return createOnce(
        route,
        marker,
        () =>
          call(route, 'create', CreatedNoteSchema, () =>
            gl.MergeRequestDiscussions.addNote(projectId, iid, discussionId, body),
          ),
        async (mine) => {
          const all = await listDiscussions(projectId, iid);
          const note = all.find((d) => d.id === discussionId)?.notes.find(hasMarker(marker!, mine));
          return note ? { id: note.id } : null;
        },
      );
    },

    async resolveDiscussion(projectId, iid, discussionId, resolved) {
      await call('PUT /projects/:id/merge_requests/:iid/discussions/:discussion_id', 'write', z.unknown(), () =>
        gl.MergeRequestDiscussions.resolve(projectId, iid, discussionId, resolved),
      );
    },

    async createNote(projectId, iid, body, opts) {
      const route = 'POST /projects/:id/merge_requests/:iid/notes';
      const marker = checkMarker(body, opts);
      return createOnce(
        route,
        marker,
        () => call(route, 'create', CreatedNoteSchema, () => gl.MergeRequestNotes.create(projectId, iid, body)),
        async (mine) => {
          const all = await listDiscussions(projectId, iid);
          for (const d of all) {
            const n = d.notes.find(hasMarker(marker!, mine));
            if (n) return { id: n.id };
          }
          return null;
        },
      );
    },

    async editNote(projectId, iid, noteId, body) {
      await call('PUT /projects/:id/merge_requests/:iid/notes/:note_id', 'write', z.unknown(), () =>
        gl.MergeRequestNotes.edit(projectId, iid, noteId, { body }),
      );
    },

    async setCommitStatus(projectId, sha, status): Promise<CommitStatusOutcome> {
      const route = 'POST /projects/:id/statuses/:sha';
      try {
        await call(route, 'write', z.unknown(), () =>
          gl.Commits.editStatus(projectId, sha, status.state, commitStatusOptions(status)),
        );
        return 'created';
      } catch (err) {
        // The one place for the known race: posting pending→pending or running→running gives
        // 400 "Cannot transition status via :run from :running" (StateMachines::InvalidTransition
        // rescued in lib/api/commit_statuses.rb). The status is already in the wanted state.
        if (err instanceof GitLabError && err.status === 400 && /Cannot transition status/i.test(err.message)) {
          options.logger?.debug?.({ route, state: status.state }, 'commit status already in that state');
          return 'unchanged';
        }
        throw err;
      }
    },

    async postStatusCheckResponse(projectId, iid, response) {
      await call('POST /projects/:id/merge_requests/:iid/status_check_responses', 'write', z.unknown(), () =>
        gl.ExternalStatusChecks.set(projectId, iid, response.sha, response.externalStatusCheckId, {
          status: response.status,
        }),
      );
    },

    listExternalStatusChecks: (projectId) =>
      call('GET /projects/:id/external_status_checks', 'read', z.array(ExternalStatusCheckSchema), () =>
        gl.ExternalStatusChecks.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    async listProjectRunners(projectId) {
      const summaries = await call('GET /projects/:id/runners', 'read', z.array(RunnerSummarySchema), () =>
        gl.Runners.all({ projectId, perPage: 100, maxPages: MAX_PAGES }),
      );
      const out = [];
      // The list entity lacks tag_list/run_untagged/access_level: GET /runners/:id each.
      for (const r of summaries) {
        out.push(await call('GET /runners/:id', 'read', RunnerDetailsSchema, () => gl.Runners.show(r.id)));
      }
      return out;
    },

    listProtectedEnvironments: (projectId) =>
      call('GET /projects/:id/protected_environments', 'read', z.array(ProtectedEnvironmentSchema), () =>
        gl.ProjectProtectedEnvironments.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    listProjectVariables: (projectId) =>
      call('GET /projects/:id/variables', 'read', z.array(VariableSchema), () =>
        gl.ProjectVariables.all(projectId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    getProjectCiSettings: (projectId) =>
      call('GET /projects/:id', 'read', ProjectCiSettingsSchema, () => gl.Projects.show(projectId)),

    listGroupVariables: (groupId) =>
      call('GET /groups/:id/variables', 'read', z.array(VariableSchema), () =>
        gl.GroupVariables.all(groupId, { perPage: 100, maxPages: MAX_PAGES }),
      ),

    async listMemberProjects() {
      const list = await call('GET /projects', 'read', z.array(MemberProjectSchema), () =>
        gl.Projects.all({ membership: true, minAccessLevel: AccessLevel.DEVELOPER, archived: false, simple: true, perPage: 100, maxPages: MAX_PAGES }),
      );
      return list.map((p) => p.id);
    },

    listOpenMergeRequests: (projectId, updatedAfter) =>
      call('GET /projects/:id/merge_requests', 'read', z.array(OpenMergeRequestSchema), () =>
        gl.MergeRequests.all({ projectId, state: 'opened', updatedAfter: updatedAfter.toISOString(), perPage: 100, maxPages: MAX_PAGES }),
      ),

    async listCommitStatuses(projectId, sha, name) {
      const list = await call('GET /projects/:id/repository/commits/:sha/statuses', 'read', z.array(CommitStatusSchema), () =>
        gl.Commits.allStatuses(projectId, sha, statusListOptions(name)),
      );
      return [...list].sort((a, b) => a.id - b.id);
    },
  };
  return api;
}

/** camelCase position → gitbeaker (decamelises it into `position[...]` form fields). */
/**
 * The `position` of a diff note. GitLab takes the lines as integers (lib/api/discussions.rb:
 * `optional :new_line, type: Integer`); gitbeaker's type declares them as strings, so the one
 * conversion to its type is here. Everything else is as gitbeaker declares it.
 */
function toPositionParams(p: DiscussionPosition): DiscussionNotePositionOptions {
  const out: Record<string, string | number> = {
    positionType: 'text',
    baseSha: p.baseSha,
    startSha: p.startSha,
    headSha: p.headSha,
    newPath: p.newPath,
    oldPath: p.oldPath,
  };
  if (p.newLine !== undefined) out.newLine = p.newLine;
  if (p.oldLine !== undefined) out.oldLine = p.oldLine;
  return out as unknown as DiscussionNotePositionOptions;
}

function commitStatusOptions(s: CommitStatusInput): Record<string, string | number> {
  const out: Record<string, string | number> = { name: s.name };
  if (s.ref !== undefined) out.ref = s.ref;
  if (s.targetUrl !== undefined) out.targetUrl = s.targetUrl;
  if (s.description !== undefined) {
    out.description = s.description.length > DESCRIPTION_MAX ? `${s.description.slice(0, DESCRIPTION_MAX - 1)}…` : s.description;
  }
  if (s.pipelineId !== undefined) out.pipelineId = s.pipelineId;
  return out;
}

/**
 * GET /projects/:id/repository/commits/:sha/statuses is paginated (lib/api/commit_statuses.rb
 * `use :pagination`); gitbeaker's options type for it leaves the paging options out, though its
 * request helper follows pages for any list. The options are a structural superset of that type.
 */
function statusListOptions(name: string): { name: string; all: boolean; perPage: number; maxPages: number } {
  return { name, all: true, perPage: 100, maxPages: MAX_PAGES };
}
