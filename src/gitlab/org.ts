/**
 * The organisation-wide GitLab reads of `tierguard audit` (groups, their projects, every kind of
 * runner) and the one audit issue it keeps up to date. A separate interface from `GitLabApi`
 * (client.ts), implemented directly over the same requester (./requester.ts: timeouts, retries,
 * Retry-After, origin pinning, token redaction), plus:
 *
 * - one limiter for the whole run (`throttle` before every attempt; a 429's Retry-After pauses
 *   every caller that shares it), and
 * - a per-run read cache: each GET (route + query) is asked of GitLab once per run.
 *
 * Each method names its REST route (lib/api/*.rb) and the least role GitLab requires for it
 * (app/policies/*.rb), so a denied read can be reported as such, never as "nothing there".
 */
import { z } from 'zod';
import { GitLabError } from './errors.js';
import { gitlabBaseUrl, validated } from './response.js';
import { callContext, createRequesterFn, type CallKind, type FormattedResponse, type GitLabLogger } from './requester.js';
import { DEFAULT_RETRY, realSleep, type RetryOptions } from './retry.js';

const id = z.number().int();
const nullableStr = z.string().nullish().transform((v) => v ?? null);

const OrgGroupSchema = z
  .object({ id, full_path: z.string(), web_url: z.string().optional() })
  .transform((g) => ({ id: g.id, fullPath: g.full_path, webUrl: g.web_url ?? null }));
type OrgGroup = z.output<typeof OrgGroupSchema>;

/**
 * A project of a group listing (lib/api/entities/project.rb). `shared_runners_enabled` is sent to
 * every reader; `group_runners_enabled` only with `admin_project` (Maintainer): absent → null.
 */
const OrgProjectSchema = z
  .object({
    id,
    path_with_namespace: z.string(),
    namespace: z.object({ full_path: z.string() }),
    default_branch: nullableStr,
    ci_config_path: nullableStr,
    web_url: z.string(),
    archived: z.boolean().optional(),
    shared_runners_enabled: z.boolean().nullish(),
    group_runners_enabled: z.boolean().nullish(),
  })
  .transform((p) => ({
    id: p.id,
    pathWithNamespace: p.path_with_namespace,
    namespaceFullPath: p.namespace.full_path,
    defaultBranch: p.default_branch,
    ciConfigPath: p.ci_config_path ? p.ci_config_path : null,
    webUrl: p.web_url,
    archived: p.archived ?? false,
    sharedRunnersEnabled: p.shared_runners_enabled ?? null,
    groupRunnersEnabled: p.group_runners_enabled ?? null,
  }));
export type OrgProject = z.output<typeof OrgProjectSchema>;

const RunnerListItemSchema = z.object({ id, runner_type: z.string().optional(), is_shared: z.boolean().optional() });

/**
 * GET /runners/:id (lib/api/entities/ci/runner_details.rb): the fields of `GitLabRunner` (so
 * src/live/runners.ts matches it) plus what the inventory shows. The executor is not in the
 * REST entity (only the runner's config.toml says it); version/platform are the latest manager's.
 */
const OrgRunnerSchema = z
  .object({
    id,
    description: nullableStr,
    name: nullableStr,
    tag_list: z.array(z.string()).nullish(),
    run_untagged: z.boolean().optional(),
    access_level: z.string().optional(),
    is_shared: z.boolean().optional(),
    runner_type: z.string().optional(),
    paused: z.boolean().optional(),
    active: z.boolean().optional(),
    locked: z.boolean().optional(),
    maximum_timeout: z.number().int().nullish(),
    contacted_at: nullableStr,
    version: nullableStr,
    platform: nullableStr,
    architecture: nullableStr,
    short_sha: nullableStr,
    groups: z.array(z.object({ id, full_path: z.string().optional(), web_url: z.string().optional() })).nullish(),
    projects: z.array(z.object({ id, path_with_namespace: z.string().optional() })).nullish(),
  })
  .transform((r) => ({
    id: r.id,
    description: r.description,
    tagList: r.tag_list ?? [],
    runUntagged: r.run_untagged ?? true,
    accessLevel: r.access_level ?? 'not_protected',
    isShared: r.is_shared ?? r.runner_type === 'instance_type',
    runnerType: r.runner_type ?? null,
    paused: r.paused ?? (r.active === undefined ? false : !r.active),
    locked: r.locked ?? false,
    maximumTimeout: r.maximum_timeout ?? null,
    contactedAt: r.contacted_at,
    version: r.version,
    platform: r.platform,
    architecture: r.architecture,
    shortSha: r.short_sha,
    groupIds: (r.groups ?? []).map((g) => g.id),
    projectIds: (r.projects ?? []).map((p) => p.id),
  }));
export type OrgRunner = z.output<typeof OrgRunnerSchema>;

const OrgUserSchema = z
  .object({ id, username: z.string(), is_admin: z.boolean().optional() })
  .transform((u) => ({ id: u.id, username: u.username, isAdmin: u.is_admin ?? false }));
type OrgUser = z.output<typeof OrgUserSchema>;

const OrgIssueSchema = z
  .object({ iid: id, title: z.string(), description: nullableStr, web_url: z.string().optional(), author: z.object({ id }) })
  .transform((i) => ({ iid: i.iid, title: i.title, description: i.description ?? '', webUrl: i.web_url ?? null, authorId: i.author.id }));
type OrgIssue = z.output<typeof OrgIssueSchema>;

export interface GitLabOrgApi {
  /** GET /user (lib/api/users.rb): any token; `is_admin` is only sent for administrators. */
  currentUser(): Promise<OrgUser>;
  /** GET /groups/:id (lib/api/groups.rb `find_group!`): read_group — any member, or anyone for a public group. */
  getGroup(group: string | number): Promise<OrgGroup>;
  /** GET /groups/:id/descendant_groups?all_available=false (lib/api/groups.rb): read_group; every subgroup, recursively. */
  listDescendantGroups(group: string | number): Promise<OrgGroup[]>;
  /**
   * GET /groups/:id/projects?include_subgroups=true&archived=false&with_shared=false
   * (lib/api/groups.rb): read_group; the projects of the group and all its subgroups.
   */
  listGroupProjects(group: string | number): Promise<OrgProject[]>;
  /**
   * GET /groups/:id/runners?type= (lib/api/ci/runners.rb `authorize! :read_group_runners`):
   * group Owner (app/policies/group_policy.rb enables read_group_runners in the `owner` block).
   * `group_type`: the group's own runners and its ancestors' (`group_or_instance_wide`);
   * `instance_type`: the instance runners, which is how a group Owner who is no admin sees them.
   */
  listGroupRunnerIds(group: string | number, type: 'group_type' | 'instance_type'): Promise<number[]>;
  /**
   * GET /projects/:id/runners?type=project_type (lib/api/ci/runners.rb `authorize! :read_project_runners`):
   * project Maintainer (app/policies/project_policy.rb maintainer block).
   */
  listProjectRunnerIds(project: string | number): Promise<number[]>;
  /** GET /runners/all?type=instance_type (lib/api/ci/runners.rb `authenticated_as_admin!`): administrators only. */
  listInstanceRunnerIds(): Promise<number[]>;
  /**
   * GET /runners/:id (lib/api/ci/runners.rb `authenticate_show_runner!`, app/policies/ci/runner_policy.rb):
   * instance runners for any user; group runners for a Maintainer of the group; project runners
   * for a Maintainer of a project the runner is assigned to.
   */
  getRunner(runnerId: number): Promise<OrgRunner>;
  /**
   * GET /projects/:id/issues?author_id=&search=&in=description&state=opened (lib/api/issues.rb):
   * read_issue (Guest; anyone on a public project).
   */
  findIssues(project: string | number, search: string, authorId: number): Promise<OrgIssue[]>;
  /** POST /projects/:id/issues (lib/api/issues.rb `authorize! :create_issue`): Guest (project_policy.rb guest block). */
  createIssue(project: string | number, title: string, description: string): Promise<OrgIssue>;
  /** PUT /projects/:id/issues/:issue_iid (lib/api/issues.rb `authorize! :update_issue`): Reporter, or the issue's author. */
  updateIssue(project: string | number, iid: number, title: string, description: string): Promise<OrgIssue>;
  /** GitLab calls made so far (HTTP attempts, retries included). */
  readonly calls: number;
}

export interface GitLabOrgApiOptions {
  url: string;
  token: string;
  logger?: GitLabLogger;
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  onCall?: (route: string, status: number, ms: number) => void;
  /** The run's shared limiter (see ./limiter.ts). */
  throttle?: () => Promise<void>;
  onRateLimit?: (delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Largest number of pages read from one list (100 per page; default 100). */
  maxPages?: number;
}

const enc = (v: string | number): string => encodeURIComponent(String(v));

export function createGitLabOrgApi(options: GitLabOrgApiOptions): GitLabOrgApi {
  const base = gitlabBaseUrl(options.url, '--gitlab-url');
  if (!options.token) throw new Error('a GitLab token is required');
  const maxPages = options.maxPages ?? 100;
  let calls = 0;
  const settings = {
    origin: base.origin,
    token: options.token,
    timeoutMs: options.timeoutMs ?? 15_000,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    logger: options.logger,
    onCall: (route: string, status: number, ms: number) => {
      calls += 1;
      options.onCall?.(route, status, ms);
    },
    throttle: options.throttle,
    onRateLimit: options.onRateLimit,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
  };
  const api = `${base.origin}${base.pathname.replace(/\/+$/, '')}/api/v4/`;
  const requester = createRequesterFn(settings)({ url: api, authHeaders: { 'private-token': async () => options.token } });

  const send = (route: string, kind: CallKind, method: 'get' | 'post' | 'put', endpoint: string, opts: { searchParams?: Record<string, unknown>; body?: unknown }): Promise<FormattedResponse> =>
    callContext.run({ route, kind }, () => requester[method](endpoint, opts));

  /** The per-run read cache: one GitLab answer per route and query. */
  const reads = new Map<string, Promise<unknown>>();
  function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = reads.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      reads.set(key, p);
      // Transient failures are not remembered; a denial (4xx) is an answer for the whole run.
      p.catch((err: unknown) => {
        if (!(err instanceof GitLabError) || err.transient) reads.delete(key);
      });
    }
    return p;
  }

  const getOne = <S extends z.ZodType>(route: string, endpoint: string, schema: S, query: Record<string, unknown> = {}): Promise<z.output<S>> =>
    cached(`${endpoint}?${JSON.stringify(query)}`, async () => validated(route, schema, (await send(route, 'read', 'get', endpoint, { searchParams: query })).body));

  /** Offset pagination (`X-Next-Page`), 100 per page, at most `maxPages` pages. */
  const getAll = <S extends z.ZodType>(route: string, endpoint: string, schema: S, query: Record<string, unknown> = {}): Promise<z.output<S>[]> =>
    cached(`${endpoint}?${JSON.stringify(query)}*`, async () => {
      const out: z.output<S>[] = [];
      for (let page = 1; page <= maxPages; page += 1) {
        const res = await send(route, 'read', 'get', endpoint, { searchParams: { ...query, per_page: 100, page } });
        out.push(...validated(route, z.array(schema), res.body));
        const next = res.headers['x-next-page'];
        if (!next || Number(next) <= page) break;
      }
      return out;
    });

  return {
    get calls() {
      return calls;
    },
    currentUser: () => getOne('GET /user', 'user', OrgUserSchema),
    getGroup: (group) => getOne('GET /groups/:id', `groups/${enc(group)}`, OrgGroupSchema, { with_projects: false }),
    listDescendantGroups: (group) => getAll('GET /groups/:id/descendant_groups', `groups/${enc(group)}/descendant_groups`, OrgGroupSchema),
    listGroupProjects: (group) =>
      getAll('GET /groups/:id/projects', `groups/${enc(group)}/projects`, OrgProjectSchema, {
        include_subgroups: true,
        archived: false,
        with_shared: false,
        order_by: 'id',
        sort: 'asc',
      }),
    listGroupRunnerIds: async (group, type) =>
      (await getAll('GET /groups/:id/runners', `groups/${enc(group)}/runners`, RunnerListItemSchema, { type })).map((r) => r.id),
    listProjectRunnerIds: async (project) =>
      (await getAll('GET /projects/:id/runners', `projects/${enc(project)}/runners`, RunnerListItemSchema, { type: 'project_type' })).map((r) => r.id),
    listInstanceRunnerIds: async () =>
      (await getAll('GET /runners/all', 'runners/all', RunnerListItemSchema, { type: 'instance_type' })).map((r) => r.id),
    getRunner: (runnerId) => getOne('GET /runners/:id', `runners/${enc(runnerId)}`, OrgRunnerSchema),
    findIssues: (project, search, authorId) =>
      // Not cached: the issue is looked up right before it is written.
      (async () => {
        const route = 'GET /projects/:id/issues';
        const res = await send(route, 'read', 'get', `projects/${enc(project)}/issues`, {
          searchParams: { author_id: authorId, search, in: 'description', state: 'opened', per_page: 100 },
        });
        return validated(route, z.array(OrgIssueSchema), res.body);
      })(),
    createIssue: async (project, title, description) => {
      const route = 'POST /projects/:id/issues';
      const res = await send(route, 'create', 'post', `projects/${enc(project)}/issues`, { body: { title, description } });
      return validated(route, OrgIssueSchema, res.body);
    },
    updateIssue: async (project, iid, title, description) => {
      const route = 'PUT /projects/:id/issues/:issue_iid';
      const res = await send(route, 'write', 'put', `projects/${enc(project)}/issues/${iid}`, { body: { title, description } });
      return validated(route, OrgIssueSchema, res.body);
    },
  };
}
