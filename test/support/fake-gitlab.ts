/**
 * A loopback fake of the GitLab REST API (the routes tierguard uses, under /api/v4) for
 * end-to-end tests: a real node:http server on 127.0.0.1:0 with in-memory state.
 *
 *   const gl = await startFakeGitLab();
 *   const project = gl.addProject({ path: 'group/app' });
 *   const mr = gl.addMergeRequest(project.id, { base: { '.gitlab-ci.yml': a }, head: { '.gitlab-ci.yml': b } });
 *   ... createGitLabApi({ url: gl.url, token: gl.token }) ...
 *   gl.failNext('POST /projects/1/merge_requests/1/notes', { status: 502, apply: true });
 *   expect(gl.requests.filter(...)) ...
 *   await gl.close();
 *
 * It validates like GitLab where tierguard depends on it: PRIVATE-TOKEN / Bearer auth (401),
 * offset pagination (`per_page` ≤ 100, `page`, `Link`, `X-Next-Page`, `X-Total`…), diff note
 * positions must match a line of the MR diff exactly (lib/gitlab/diff/file.rb
 * `line_for_position`: old_line and new_line both equal; else 400 with `line_code`), commit
 * status transitions (app/services/ci/create_commit_status_service.rb: re-posting
 * pending/running is a 400 "Cannot transition status", a finished status is never reused),
 * statuses attach to `pipeline_id` or the newest pipeline for the sha or a new external one,
 * note body length (Note validates `note` ≤ 1 000 000 characters).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseUnifiedDiff, unifiedDiff } from './fake-gitlab-diff.js';

export { parseUnifiedDiff, unifiedDiff } from './fake-gitlab-diff.js';

// ---------------------------------------------------------------------------------------------
// State

export interface FakeUser {
  id: number;
  username: string;
  token: string;
}

export type FileTree = Record<string, string>;

export interface FakeProject {
  id: number;
  pathWithNamespace: string;
  defaultBranch: string;
  ciConfigPath: string | null;
  /** commit sha → file tree */
  commits: Map<string, FileTree>;
  /** branch or tag name → sha */
  refs: Map<string, string>;
  protectedBranches: string[];
  /** Protected tag names or patterns (GET /projects/:id/protected_tags: Maintainer only). */
  protectedTags: string[];
  /** Existing tags (GET /projects/:id/repository/tags, `protected` from protectedTags). */
  repoTags: string[];
  /** private (default) | internal | public. */
  visibility: 'private' | 'internal' | 'public';
  runnerIds: number[];
  protectedEnvironments: Array<{ name: string; deploy_access_levels: Array<{ access_level: number | null; user_id?: number | null; group_id?: number | null }>; required_approval_count?: number }>;
  variables: Array<{ key: string; value: string; protected: boolean; masked: boolean; environment_scope: string; variable_type?: string }>;
  externalStatusChecks: Array<{ id: number; name: string; external_url: string }>;
  /** CI/CD settings sent by GET /projects/:id to Maintainers (snake_case, as GitLab names them). */
  ciSettings: Record<string, unknown>;
  /**
   * Role of a user in the project (GitLab access levels: 30 Developer, 40 Maintainer, 50 Owner).
   * Users not listed are Owners; 0 means no membership (a private project answers 404).
   * Maintainer-only routes (runners, variables, protected environments, protected tags, CI
   * settings in GET /projects/:id) answer 403 / omit the fields below 40; commit statuses
   * need Developer (30); code reads need Reporter (20) on a private project.
   */
  roles: Map<number, number>;
}

interface FakeGroup {
  fullPath: string;
  variables: Array<{ key: string; value: string; protected: boolean; masked: boolean; environment_scope: string; variable_type?: string }>;
  /**
   * Role of a user in the group (default Owner); group variables need Owner (50):
   * `admin_cicd_variables` is in app/policies/group_policy.rb's owner block.
   */
  roles: Map<number, number>;
}

interface FakeDiffEntry {
  old_path: string;
  new_path: string;
  new_file: boolean;
  renamed_file: boolean;
  deleted_file: boolean;
  diff: string;
}

interface FakePosition {
  base_sha: string;
  start_sha: string;
  head_sha: string;
  old_path: string;
  new_path: string;
  position_type: string;
  old_line: number | null;
  new_line: number | null;
}

interface FakeNote {
  id: number;
  body: string;
  authorId: number;
  system: boolean;
  resolvable: boolean;
  resolved: boolean;
  position: FakePosition | null;
  createdAt: string;
}

/** The parameters of a route pattern: one string per `:name` segment, in order. */
export type RouteParams<P extends string> = P extends `${string}:${string}/${infer Rest}` ? [string, ...RouteParams<Rest>] : P extends `${string}:${string}` ? [string] : [];

interface FakeDiscussion {
  id: string;
  individualNote: boolean;
  /** A discussion starts with its first note; notes are only added. */
  notes: [FakeNote, ...FakeNote[]];
}

export interface FakeMergeRequest {
  iid: number;
  projectId: number;
  sourceProjectId: number;
  sourceBranch: string;
  targetBranch: string;
  baseSha: string;
  startSha: string;
  headSha: string;
  headPipelineId: number | null;
  state: string;
  /** The MR author (GitLab reads `include:project` files as the pipeline's user). */
  authorId: number;
  diffs: FakeDiffEntry[];
  /** GitLab's `changes_count` (default: the number of diffs, `1000+` past 1,000); set to simulate an overflowing diff. */
  changesCount?: string;
  discussions: FakeDiscussion[];
  statusCheckResponses: Array<{ sha: string; external_status_check_id: number; status: string }>;
  /** ISO time of the last change (GET …/merge_requests?updated_after= filters on it). */
  updatedAt: string;
}

interface FakePipeline {
  id: number;
  projectId: number;
  sha: string;
  ref: string;
  source: string;
}

interface FakeStatus {
  id: number;
  projectId: number;
  sha: string;
  ref: string;
  name: string;
  state: 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped';
  targetUrl: string | null;
  description: string | null;
  pipelineId: number;
  authorId: number;
}

export interface FakeRunner {
  id: number;
  description: string;
  tag_list: string[];
  run_untagged: boolean;
  access_level: 'not_protected' | 'ref_protected';
  runner_type: 'instance_type' | 'group_type' | 'project_type';
  paused: boolean;
  locked: boolean;
}

interface FakeState {
  users: FakeUser[];
  projects: Map<number, FakeProject>;
  mergeRequests: FakeMergeRequest[];
  pipelines: FakePipeline[];
  statuses: FakeStatus[];
  runners: Map<number, FakeRunner>;
  templates: Map<string, string>;
  groups: Map<string, FakeGroup>;
}

interface RequestLogEntry {
  method: string;
  /** Path after /api/v4, still URL-encoded (e.g. `/projects/1/repository/files/a%2Fb.yml/raw`). */
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  authenticated: boolean;
  /** How many requests had been answered when this one arrived, and when it was answered (which requests overlapped). */
  answeredBefore: number;
  answeredAt?: number;
}

interface FaultSpec {
  status: number;
  /** Retry-After header value (seconds or HTTP date). */
  retryAfter?: string | number;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Wait before answering (simulate a slow server; the client may time out first). */
  delayMs?: number;
  /**
   * Perform the request's effect at once, then (after `delayMs`) answer with the fault: the
   * ambiguous "it landed but the answer was lost" case.
   */
  apply?: boolean;
  body?: unknown;
}

interface Fault extends FaultSpec {
  pattern: string | RegExp;
  remaining: number;
  /** Only slow: the request is answered normally after delayMs. */
  slow?: boolean;
  /** Run before the request is answered (beforeNext). */
  effect?: () => void;
}

export interface FakeGitLabOptions {
  /** Note body limit (GitLab: 1 000 000). */
  noteMaxLength?: number;
  /** Default per_page (GitLab: 20). */
  defaultPerPage?: number;
}

export interface FakeGitLab {
  /** Base URL without /api/v4, e.g. http://127.0.0.1:12345 */
  url: string;
  /** Token of the bot user (tierguard). */
  token: string;
  botUser: FakeUser;
  state: FakeState;
  requests: RequestLogEntry[];
  addUser(username: string): FakeUser;
  addProject(init: {
    path: string;
    defaultBranch?: string;
    ciConfigPath?: string | null;
    files?: FileTree;
  }): FakeProject;
  /** Create a commit on a project from a file tree; moves `branch` when given. Returns the sha. */
  addCommit(projectId: number, files: FileTree, branch?: string): string;
  /**
   * An MR from two file trees. Base tree goes on the target branch, head tree on the source
   * branch; diffs are computed with correct hunk numbers. `headPipeline: true` creates a CI
   * pipeline for the head sha and sets it as the MR's head pipeline.
   */
  addMergeRequest(
    projectId: number,
    init: { base: FileTree; head: FileTree; sourceBranch?: string; targetBranch?: string; headPipeline?: boolean; authorId?: number },
  ): FakeMergeRequest;
  /** A CI pipeline for a sha (becomes the newest pipeline for it). */
  addPipeline(projectId: number, sha: string, ref: string, source?: string): FakePipeline;
  addRunner(projectId: number | null, runner: Partial<FakeRunner> & { description: string }): FakeRunner;
  /** A group (by full path) whose variables GET /groups/:id/variables lists. */
  addGroup(fullPath: string): FakeGroup;
  /** Add a note by another user (e.g. a human comment, or a spoofed marker). */
  addNote(projectId: number, iid: number, body: string, authorId: number): FakeNote;
  getMergeRequest(projectId: number, iid: number): FakeMergeRequest;
  /** Make the next `count` requests matching fail. `pattern`: `'METHOD /path'`, `'/path'` or RegExp on `'METHOD /path'`. */
  failNext(pattern: string | RegExp, spec: FaultSpec): void;
  /** Answer the next `count` matching requests normally, but only after `delayMs` (a slow GitLab). */
  slowNext(pattern: string | RegExp, delayMs: number, count?: number): void;
  /** Run `effect` just before the next matching request is answered (a push landing between two reads). */
  beforeNext(pattern: string | RegExp, effect: () => void): void;
  /**
   * An outage: every authenticated API request answers `status` (default 500) while `active()`
   * is true (e.g. a virtual clock before the outage's end). `null` ends it.
   */
  outage(spec: { active: (method: string, path: string) => boolean; status?: number; retryAfter?: string | number } | null): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const notFound = (what = ''): HttpError => new HttpError(404, { message: `404 ${what ? `${what} ` : ''}Not Found` });
const badRequest = (message: string): HttpError => new HttpError(400, { message: `400 Bad request - ${message}` });

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** `a[b]=1&a[c]=2` style keys into nested objects (Rack's nested params). */
function nestParams(entries: Iterable<[string, string]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const m = /^([^[]+)((?:\[[^\]]*\])*)$/.exec(key);
    if (!m) {
      out[key] = value;
      continue;
    }
    // Both groups are required (the second may be empty); each `[…]` has its group.
    const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)];
    const leaf = path.pop()!; // path starts with m[1]
    let cur: Record<string, unknown> = out;
    for (const part of path) {
      const next = cur[part];
      if (!next || typeof next !== 'object') cur[part] = {};
      cur = cur[part] as Record<string, unknown>;
    }
    cur[leaf] = value;
  }
  return out;
}

async function readBody(req: IncomingMessage, url: URL): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  if (buf.length === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) {
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch {
      throw new HttpError(400, { error: 'body is not valid JSON' });
    }
  }
  if (type.includes('multipart/form-data') || type.includes('application/x-www-form-urlencoded')) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- small multipart test bodies, parsed like Rails does
    const form = await new Request(url, { method: 'POST', headers: { 'content-type': type }, body: buf }).formData();
    return nestParams([...form.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : '']));
  }
  return buf.toString('utf8');
}

function param(body: unknown, query: Record<string, string>, name: string): unknown {
  if (body && typeof body === 'object' && name in body) return (body as Record<string, unknown>)[name];
  return query[name];
}

const intOrNull = (v: unknown): number | null => {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new HttpError(400, { error: `${String(v)} is invalid` });
  return n;
};

// ---------------------------------------------------------------------------------------------
// Server

export async function startFakeGitLab(options: FakeGitLabOptions = {}): Promise<FakeGitLab> {
  const noteMaxLength = options.noteMaxLength ?? 1_000_000;
  const defaultPerPage = options.defaultPerPage ?? 20;
  let seq = 100;
  const nextId = (): number => (seq += 1);

  const state: FakeState = {
    users: [],
    projects: new Map(),
    mergeRequests: [],
    pipelines: [],
    statuses: [],
    runners: new Map(),
    templates: new Map(),
    groups: new Map(),
  };
  const requests: RequestLogEntry[] = [];
  const faults: Fault[] = [];
  let outage: { active: (method: string, path: string) => boolean; status?: number; retryAfter?: string | number } | null = null;

  const addUser = (username: string): FakeUser => {
    const user = { id: state.users.length + 1, username, token: `glpat-${randomBytes(10).toString('hex')}` };
    state.users.push(user);
    return user;
  };
  const botUser = addUser('tierguard-bot');

  const project = (idOrPath: string): FakeProject => {
    const decoded = decodeURIComponent(idOrPath);
    const p = /^\d+$/.test(decoded)
      ? state.projects.get(Number(decoded))
      : [...state.projects.values()].find((x) => x.pathWithNamespace === decoded);
    if (!p) throw notFound('Project');
    return p;
  };
  const mergeRequest = (p: FakeProject, iid: string): FakeMergeRequest => {
    const mr = state.mergeRequests.find((m) => m.projectId === p.id && String(m.iid) === iid);
    if (!mr) throw notFound('Merge Request');
    return mr;
  };
  const resolveRef = (p: FakeProject, ref: string): string | undefined =>
    p.refs.get(ref) ?? (p.commits.has(ref) ? ref : undefined);

  const addCommit = (projectId: number, files: FileTree, branch?: string): string => {
    const p = state.projects.get(projectId);
    if (!p) throw new Error(`no project ${projectId}`);
    const parent = branch ? (p.refs.get(branch) ?? '') : '';
    const sha = sha1(`${projectId}\n${parent}\n${JSON.stringify(Object.entries(files).sort())}\n${p.commits.size}`);
    p.commits.set(sha, { ...files });
    if (branch) p.refs.set(branch, sha);
    return sha;
  };

  const addProject: FakeGitLab['addProject'] = (init) => {
    const id = state.projects.size + 1;
    const p: FakeProject = {
      id,
      pathWithNamespace: init.path,
      defaultBranch: init.defaultBranch ?? 'main',
      ciConfigPath: init.ciConfigPath ?? null,
      commits: new Map(),
      refs: new Map(),
      protectedBranches: [init.defaultBranch ?? 'main'],
      protectedTags: [],
      repoTags: [],
      visibility: 'private',
      runnerIds: [],
      protectedEnvironments: [],
      variables: [],
      externalStatusChecks: [],
      ciSettings: {},
      roles: new Map(),
    };
    state.projects.set(id, p);
    if (init.files) addCommit(id, init.files, p.defaultBranch);
    return p;
  };

  const addPipeline = (projectId: number, sha: string, ref: string, source = 'push'): FakePipeline => {
    const pl = { id: nextId(), projectId, sha, ref, source };
    state.pipelines.push(pl);
    return pl;
  };

  const addMergeRequest: FakeGitLab['addMergeRequest'] = (projectId, init) => {
    const p = state.projects.get(projectId);
    if (!p) throw new Error(`no project ${projectId}`);
    const targetBranch = init.targetBranch ?? p.defaultBranch;
    const sourceBranch = init.sourceBranch ?? `feature-${state.mergeRequests.length + 1}`;
    const baseSha = addCommit(projectId, init.base, targetBranch);
    const headSha = addCommit(projectId, init.head, sourceBranch);
    const diffs: FakeDiffEntry[] = [];
    const paths = [...new Set([...Object.keys(init.base), ...Object.keys(init.head)])].sort();
    for (const path of paths) {
      const before = init.base[path];
      const after = init.head[path];
      if (before === after) continue;
      diffs.push({
        old_path: path,
        new_path: path,
        new_file: before === undefined,
        renamed_file: false,
        deleted_file: after === undefined,
        diff: unifiedDiff(before ?? '', after ?? ''),
      });
    }
    const iid = state.mergeRequests.filter((m) => m.projectId === projectId).length + 1;
    const mr: FakeMergeRequest = {
      iid,
      projectId,
      sourceProjectId: projectId,
      sourceBranch,
      targetBranch,
      baseSha,
      startSha: baseSha,
      headSha,
      headPipelineId: null,
      state: 'opened',
      authorId: init.authorId ?? botUser.id,
      diffs,
      discussions: [],
      statusCheckResponses: [],
      updatedAt: new Date().toISOString(),
    };
    if (init.headPipeline) mr.headPipelineId = addPipeline(projectId, headSha, sourceBranch, 'merge_request_event').id;
    state.mergeRequests.push(mr);
    return mr;
  };

  const addRunner: FakeGitLab['addRunner'] = (projectId, r) => {
    const runner: FakeRunner = {
      id: nextId(),
      tag_list: [],
      run_untagged: true,
      access_level: 'not_protected',
      runner_type: projectId === null ? 'instance_type' : 'project_type',
      paused: false,
      locked: false,
      ...r,
    };
    state.runners.set(runner.id, runner);
    if (projectId !== null) state.projects.get(projectId)?.runnerIds.push(runner.id);
    return runner;
  };

  const addGroup: FakeGitLab['addGroup'] = (fullPath) => {
    const g: FakeGroup = { fullPath, variables: [], roles: new Map() };
    state.groups.set(fullPath, g);
    return g;
  };
  /**
   * A private project is invisible (404) to a non-member; reading code needs `minRole` (20:
   * Reporter, `download_code`). Public and internal projects are readable by any signed-in user.
   */
  const readable = (p: FakeProject, user: FakeUser, minRole: number): FakeProject => {
    if (p.visibility !== 'private') return p;
    const role = p.roles.get(user.id) ?? 50;
    if (role <= 0) throw notFound('Project');
    if (role < minRole) throw new HttpError(403, { message: '403 Forbidden' });
    return p;
  };
  /** Maintainer-only reads (app/policies/project_policy.rb admin_project / admin_cicd_variables). */
  const requireMaintainer = (roles: Map<number, number>, user: FakeUser): void => {
    if ((roles.get(user.id) ?? 50) < 40) throw new HttpError(403, { message: '403 Forbidden' });
  };

  const newNote = (body: string, authorId: number, resolvable: boolean, position: FakePosition | null): FakeNote => ({
    id: nextId(),
    body,
    authorId,
    system: false,
    resolvable,
    resolved: false,
    position,
    createdAt: new Date().toISOString(),
  });

  const addNote: FakeGitLab['addNote'] = (projectId, iid, body, authorId) => {
    const mr = mergeRequest(project(String(projectId)), String(iid));
    const note = newNote(body, authorId, false, null);
    mr.discussions.push({ id: randomBytes(20).toString('hex'), individualNote: true, notes: [note] });
    return note;
  };

  // ------------------------------------------------------------------------------------------
  // Serialisers (GitLab entities, trimmed)

  const userJson = (id: number) => {
    const u = state.users.find((x) => x.id === id);
    return { id, username: u?.username ?? `user${id}`, name: u?.username ?? `user${id}`, state: 'active' };
  };
  const noteJson = (n: FakeNote, mr: FakeMergeRequest) => ({
    id: n.id,
    type: n.position ? 'DiffNote' : n.resolvable ? 'DiscussionNote' : null,
    body: n.body,
    author: userJson(n.authorId),
    created_at: n.createdAt,
    system: n.system,
    noteable_id: mr.iid,
    noteable_type: 'MergeRequest',
    noteable_iid: mr.iid,
    resolvable: n.resolvable,
    ...(n.resolvable ? { resolved: n.resolved } : {}),
    ...(n.position ? { position: n.position } : {}),
  });
  const discussionJson = (d: FakeDiscussion, mr: FakeMergeRequest) => ({
    id: d.id,
    individual_note: d.individualNote,
    notes: d.notes.map((n) => noteJson(n, mr)),
  });
  const mrJson = (mr: FakeMergeRequest, base: string) => {
    const p = state.projects.get(mr.projectId)!;
    return {
      id: mr.projectId * 1000 + mr.iid,
      iid: mr.iid,
      project_id: mr.projectId,
      source_project_id: mr.sourceProjectId,
      target_project_id: mr.projectId,
      source_branch: mr.sourceBranch,
      target_branch: mr.targetBranch,
      state: mr.state,
      // GitLab counts the MR's non-system notes live (app/models/concerns/issuable.rb, `notes.user.count`).
      user_notes_count: mr.discussions.reduce((n, d) => n + d.notes.filter((x) => !x.system).length, 0),
      sha: mr.headSha,
      diff_refs: { base_sha: mr.baseSha, head_sha: mr.headSha, start_sha: mr.startSha },
      // lib/api/entities/merge_request.rb: merge_request_diff.real_size (`1000+` on overflow).
      changes_count: mr.changesCount ?? (mr.diffs.length > 1000 ? '1000+' : String(mr.diffs.length)),
      head_pipeline: mr.headPipelineId === null ? null : { id: mr.headPipelineId, sha: mr.headSha, status: 'running' },
      web_url: `${base}/${p.pathWithNamespace}/-/merge_requests/${mr.iid}`,
      author: userJson(mr.authorId),
    };
  };
  const statusJson = (s: FakeStatus) => ({
    id: s.id,
    sha: s.sha,
    ref: s.ref,
    status: s.state,
    name: s.name,
    target_url: s.targetUrl,
    description: s.description,
    pipeline_id: s.pipelineId,
    author: userJson(s.authorId),
  });
  const runnerSummaryJson = (r: FakeRunner) => ({
    id: r.id,
    description: r.description,
    paused: r.paused,
    active: !r.paused,
    is_shared: r.runner_type === 'instance_type',
    runner_type: r.runner_type,
    online: true,
    status: 'online',
  });

  // ------------------------------------------------------------------------------------------
  // Commit statuses (app/services/ci/create_commit_status_service.rb, app/models/commit_status.rb)

  const EVENTS: Record<string, { event: string; from: FakeStatus['state'][]; to: FakeStatus['state'] }> = {
    pending: { event: 'enqueue', from: ['created'], to: 'pending' },
    running: { event: 'run', from: ['created', 'pending'], to: 'running' },
    success: { event: 'success', from: ['created', 'pending', 'running'], to: 'success' },
    failed: { event: 'drop', from: ['created', 'pending', 'running'], to: 'failed' },
    canceled: { event: 'cancel', from: ['created', 'pending', 'running'], to: 'canceled' },
    skipped: { event: 'skip', from: ['created', 'pending'], to: 'skipped' },
  };

  function postStatus(p: FakeProject, sha: string, body: unknown, query: Record<string, string>, user: FakeUser) {
    if (!p.commits.has(sha)) throw notFound('Commit');
    const stateParam = String(param(body, query, 'state') ?? '');
    const transition = EVENTS[stateParam];
    if (!transition) throw new HttpError(400, { error: 'state does not have a valid value' });
    const name = String(param(body, query, 'name') ?? param(body, query, 'context') ?? 'default');
    const description = param(body, query, 'description');
    if (typeof description === 'string' && description.length > 255) {
      throw new HttpError(400, { message: { description: ['is too long (maximum is 255 characters)'] } });
    }
    const refParam = param(body, query, 'ref');
    const pipelineIdParam = intOrNull(param(body, query, 'pipeline_id'));
    let pipeline: FakePipeline | undefined;
    if (pipelineIdParam !== null) {
      pipeline = state.pipelines.find((x) => x.id === pipelineIdParam && x.projectId === p.id);
      if (!pipeline) throw notFound('Pipeline');
      if (pipeline.sha !== sha) throw badRequest('pipeline_id does not belong to the sha');
    } else {
      const ref = typeof refParam === 'string' ? refParam : undefined;
      pipeline = state.pipelines
        .filter((x) => x.projectId === p.id && x.sha === sha && (ref === undefined || x.ref === ref))
        .sort((a, b) => b.id - a.id)[0];
      if (!pipeline) {
        const branch = ref ?? [...p.refs.entries()].find(([, s]) => s === sha)?.[0];
        if (!branch) throw notFound('References for commit');
        pipeline = addPipeline(p.id, sha, branch, 'external');
      }
    }
    let status = state.statuses.find(
      (s) => s.pipelineId === pipeline.id && s.name === name && (s.state === 'pending' || s.state === 'running'),
    );
    if (!status) {
      status = {
        id: nextId(),
        projectId: p.id,
        sha,
        ref: typeof refParam === 'string' ? refParam : pipeline.ref,
        name,
        state: 'created',
        targetUrl: null,
        description: null,
        pipelineId: pipeline.id,
        authorId: user.id,
      };
      state.statuses.push(status);
    }
    if (!transition.from.includes(status.state)) {
      // StateMachines::InvalidTransition rescued by the API as a 400.
      throw new HttpError(400, {
        message: `Cannot transition status via :${transition.event} from :${status.state} (Reason(s): Status cannot transition via "${transition.event}")`,
      });
    }
    status.state = transition.to;
    const targetUrl = param(body, query, 'target_url');
    if (typeof targetUrl === 'string') status.targetUrl = targetUrl;
    if (typeof description === 'string') status.description = description;
    return statusJson(status);
  }

  // ------------------------------------------------------------------------------------------
  // Discussions

  function validatePosition(mr: FakeMergeRequest, raw: unknown): FakePosition {
    if (!raw || typeof raw !== 'object') throw new HttpError(400, { error: 'position is invalid' });
    const r = raw as Record<string, unknown>;
    const pos: FakePosition = {
      base_sha: String(r.base_sha ?? ''),
      start_sha: String(r.start_sha ?? ''),
      head_sha: String(r.head_sha ?? ''),
      old_path: String(r.old_path ?? ''),
      new_path: String(r.new_path ?? ''),
      position_type: String(r.position_type ?? ''),
      old_line: intOrNull(r.old_line),
      new_line: intOrNull(r.new_line),
    };
    if (pos.position_type !== 'text') throw new HttpError(400, { error: 'position[position_type] does not have a valid value' });
    const lineCodeError = badRequest('Note {:line_code=>["can\'t be blank", "must be a valid line code"]}');
    if (pos.base_sha !== mr.baseSha || pos.start_sha !== mr.startSha || pos.head_sha !== mr.headSha) throw lineCodeError;
    const file = mr.diffs.find((d) => d.new_path === pos.new_path && d.old_path === pos.old_path);
    if (!file) throw lineCodeError;
    // lib/gitlab/diff/file.rb line_for_position: old_line and new_line must both match.
    const hit = parseUnifiedDiff(file.diff).some((l) => l.oldLine === pos.old_line && l.newLine === pos.new_line);
    if (!hit || (pos.old_line === null && pos.new_line === null)) throw lineCodeError;
    return pos;
  }

  function requireBody(body: unknown, query: Record<string, string>): string {
    const text = param(body, query, 'body');
    if (typeof text !== 'string' || text === '') throw new HttpError(400, { error: 'body is missing' });
    if (text.length > noteMaxLength) {
      throw badRequest(`Note {:note=>["is too long (maximum is ${noteMaxLength} characters)"]}`);
    }
    return text;
  }

  // ------------------------------------------------------------------------------------------
  // Pagination (lib/api/helpers/pagination.rb, Gitlab::Pagination::OffsetPagination)

  function paginate(res: ServerResponse, base: string, url: URL, items: unknown[]): unknown[] {
    const perPageRaw = url.searchParams.get('per_page');
    const pageRaw = url.searchParams.get('page');
    let perPage = perPageRaw === null ? defaultPerPage : Number(perPageRaw);
    if (!Number.isInteger(perPage) || perPage < 1) perPage = defaultPerPage;
    perPage = Math.min(perPage, 100);
    let page = pageRaw === null ? 1 : Number(pageRaw);
    if (!Number.isInteger(page) || page < 1) page = 1;
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const link = (p: number): string => {
      const u = new URL(url.pathname + url.search, base);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(perPage));
      return u.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`, `<${link(totalPages)}>; rel="last"`);
    res.setHeader('link', links.join(', '));
    res.setHeader('x-page', String(page));
    res.setHeader('x-per-page', String(perPage));
    res.setHeader('x-total', String(total));
    res.setHeader('x-total-pages', String(totalPages));
    res.setHeader('x-next-page', page < totalPages ? String(page + 1) : '');
    res.setHeader('x-prev-page', page > 1 ? String(page - 1) : '');
    return items.slice((page - 1) * perPage, page * perPage);
  }

  // ------------------------------------------------------------------------------------------
  // Router

  type Handler<M> = (ctx: {
    m: M;
    body: unknown;
    query: Record<string, string>;
    url: URL;
    res: ServerResponse;
    user: FakeUser;
    base: string;
  }) => unknown;
  const routes: Array<{ method: string; re: RegExp; handler: Handler<string[]> }> = [];
  const route = <P extends string>(method: string, pattern: P, handler: Handler<RouteParams<P>>): void => {
    const re = new RegExp(`^${pattern.replace(/:[a-z_]+/g, '([^/]+)')}$`);
    // The regex has one group per `:name` segment, so its groups are exactly RouteParams<P>.
    routes.push({ method, re, handler: (ctx) => handler({ ...ctx, m: ctx.m as RouteParams<P> }) });
  };

  route('GET', '/user', ({ user }) => ({ ...userJson(user.id), username: user.username }));
  route('GET', '/projects/:id', ({ m, base, user }) => {
    const p = readable(project(m[0]), user, 0);
    const [ns, name] = [p.pathWithNamespace.split('/').slice(0, -1).join('/'), p.pathWithNamespace.split('/').pop()];
    return {
      id: p.id,
      name,
      path: name,
      path_with_namespace: p.pathWithNamespace,
      namespace: { id: p.id + 500, full_path: ns, kind: 'group' },
      default_branch: p.defaultBranch,
      visibility: p.visibility,
      ci_config_path: p.ciConfigPath ?? '',
      web_url: `${base}/${p.pathWithNamespace}`,
      shared_runners_enabled: p.ciSettings.shared_runners_enabled ?? true,
      // lib/api/entities/project.rb: CI/CD settings only for admin_project (Maintainer+).
      ...((p.roles.get(user.id) ?? 50) >= 40
        ? {
            ci_allow_fork_pipelines_to_run_in_parent_project: true,
            restrict_user_defined_variables: false,
            ci_pipeline_variables_minimum_override_role: 'developer',
            ci_forward_deployment_enabled: true,
            ci_separated_caches: true,
            group_runners_enabled: true,
            public_jobs: true,
            runners_token: 'GR1348941fake-runners-token',
            ...p.ciSettings,
          }
        : {}),
    };
  });
  // lib/api/merge_requests.rb find_merge_request_with_access: `read_merge_request` (Reporter on a private project).
  route('GET', '/projects/:id/merge_requests/:iid', ({ m, base, user }) => mrJson(mergeRequest(readable(project(m[0]), user, 20), m[1]), base));
  const diffJson = (d: FakeDiffEntry) => ({ ...d, a_mode: '100644', b_mode: '100644', collapsed: false, too_large: false });
  route('GET', '/projects/:id/merge_requests/:iid/diffs', ({ m, res, url, base }) => paginate(res, base, url, mergeRequest(project(m[0]), m[1]).diffs.map(diffJson)));
  // lib/api/entities/merge_request_changes.rb: the MR with its latest diff's files (at most
  // diff_max_files, 1,000 by default) and `overflow` when the list was cut.
  route('GET', '/projects/:id/merge_requests/:iid/changes', ({ m, base, user }) => {
    const mr = mergeRequest(readable(project(m[0]), user, 20), m[1]);
    const overflow = mr.diffs.length > 1000 || (mr.changesCount ?? '').endsWith('+');
    return { ...mrJson(mr, base), changes: mr.diffs.slice(0, 1000).map(diffJson), overflow };
  });
  route('GET', '/projects/:id/repository/files/:path/raw', ({ m, query }) => {
    const p = project(m[0]);
    const path = decodeURIComponent(m[1]);
    const sha = resolveRef(p, query.ref ?? p.defaultBranch);
    const content = sha === undefined ? undefined : p.commits.get(sha)?.[path];
    if (content === undefined) throw notFound('File');
    return { __raw: content };
  });
  route('GET', '/projects/:id/repository/tree', ({ m, query, res, url, base }) => {
    // lib/api/repositories.rb: `pagination` values legacy (default), keyset, none.
    if (query.pagination !== undefined && !['legacy', 'keyset', 'none'].includes(query.pagination)) {
      throw new HttpError(400, { error: 'pagination does not have a valid value' });
    }
    const p = project(m[0]);
    const sha = resolveRef(p, query.ref ?? p.defaultBranch);
    const tree = sha === undefined ? undefined : p.commits.get(sha);
    if (!tree) throw notFound('Tree');
    const prefix = query.path ? `${query.path.replace(/\/+$/, '')}/` : '';
    const recursive = query.recursive === 'true';
    const blobs = Object.entries(tree).filter(([f]) => f.startsWith(prefix) && (recursive || !f.slice(prefix.length).includes('/')));
    const dirs = new Set<string>();
    for (const f of Object.keys(tree)) {
      if (!f.startsWith(prefix)) continue;
      const parts = f.slice(prefix.length).split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i += 1) if (recursive || i === 1) dirs.add(prefix + parts.slice(0, i).join('/'));
    }
    const entries = [
      ...[...dirs].map((d) => ({ id: sha1(d), name: d.split('/').pop(), type: 'tree', path: d, mode: '040000' })),
      ...blobs.map(([f, text]) => ({ id: sha1(text), name: f.split('/').pop(), type: 'blob', path: f, mode: '100644' })),
    ].sort((a, b) => a.path.localeCompare(b.path));
    return paginate(res, base, url, entries);
  });
  route('GET', '/projects/:id/protected_branches', ({ m, res, url, base }) =>
    paginate(res, base, url, project(m[0]).protectedBranches.map((name, i) => ({ id: i + 1, name, allow_force_push: false }))),
  );
  // lib/api/protected_tags.rb: authorize!(:read_protected_tags), enabled only by
  // manage_protected_tags (app/policies/project_policy.rb): Maintainer.
  route('GET', '/projects/:id/protected_tags', ({ m, res, url, base, user }) => {
    const p = project(m[0]);
    requireMaintainer(p.roles, user);
    return paginate(res, base, url, p.protectedTags.map((name) => ({ name })));
  });
  // lib/api/tags.rb (authorize_read_code!, Reporter+ on private projects); entities/tag.rb `protected`.
  route('GET', '/projects/:id/repository/tags', ({ m, res, url, base, user }) => {
    const p = readable(project(m[0]), user, 20);
    const isProtected = (name: string) => p.protectedTags.some((pat) => new RegExp(`^${pat.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name));
    return paginate(res, base, url, p.repoTags.map((name) => ({ name, message: '', target: p.refs.get(name) ?? null, protected: isProtected(name) })));
  });
  // lib/api/members.rb: anyone who can see the project may read its members; 404 for a non-member.
  route('GET', '/projects/:id/members/all/:user_id', ({ m, user }) => {
    const p = readable(project(m[0]), user, 0);
    const target = state.users.find((u) => u.id === Number(m[1]));
    const level = target ? (p.roles.get(target.id) ?? 50) : 0;
    if (!target || level <= 0) throw notFound();
    return { ...userJson(target.id), username: target.username, access_level: level };
  });
  route('GET', '/templates/gitlab_ci_ymls/:key', ({ m }) => {
    const key = decodeURIComponent(m[0]);
    const content = state.templates.get(key);
    if (content === undefined) throw notFound('Template');
    return { name: key, content };
  });
  route('GET', '/projects/:id/merge_requests/:iid/discussions', ({ m, res, url, base }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    return paginate(res, base, url, mr.discussions.map((d) => discussionJson(d, mr)));
  });
  route('POST', '/projects/:id/merge_requests/:iid/discussions', ({ m, body, query, user, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const text = requireBody(body, query);
    const rawPos = param(body, query, 'position');
    const position = rawPos === undefined ? null : validatePosition(mr, rawPos);
    const d: FakeDiscussion = { id: randomBytes(20).toString('hex'), individualNote: false, notes: [newNote(text, user.id, true, position)] };
    mr.discussions.push(d);
    res.statusCode = 201;
    return discussionJson(d, mr);
  });
  route('POST', '/projects/:id/merge_requests/:iid/discussions/:did/notes', ({ m, body, query, user, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const d = mr.discussions.find((x) => x.id === m[2]);
    if (!d) throw notFound('Discussion');
    const text = requireBody(body, query);
    const note = newNote(text, user.id, d.notes[0].resolvable, null);
    d.notes.push(note);
    res.statusCode = 201;
    return noteJson(note, mr);
  });
  route('PUT', '/projects/:id/merge_requests/:iid/discussions/:did', ({ m, body, query }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const d = mr.discussions.find((x) => x.id === m[2]);
    if (!d) throw notFound('Discussion');
    const resolved = String(param(body, query, 'resolved'));
    if (resolved !== 'true' && resolved !== 'false') throw new HttpError(400, { error: 'resolved is missing' });
    if (!d.notes[0].resolvable) throw badRequest('Discussion is not resolvable');
    for (const n of d.notes) n.resolved = resolved === 'true';
    return discussionJson(d, mr);
  });
  route('GET', '/projects/:id/merge_requests/:iid/notes', ({ m, res, url, base }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    return paginate(res, base, url, mr.discussions.flatMap((d) => d.notes).map((n) => noteJson(n, mr)));
  });
  route('POST', '/projects/:id/merge_requests/:iid/notes', ({ m, body, query, user, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const note = newNote(requireBody(body, query), user.id, false, null);
    mr.discussions.push({ id: randomBytes(20).toString('hex'), individualNote: true, notes: [note] });
    res.statusCode = 201;
    return noteJson(note, mr);
  });
  route('PUT', '/projects/:id/merge_requests/:iid/notes/:nid', ({ m, body, query, user }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const note = mr.discussions.flatMap((d) => d.notes).find((n) => String(n.id) === m[2]);
    if (!note) throw notFound('Note');
    if (note.authorId !== user.id) throw new HttpError(403, { message: '403 Forbidden' });
    note.body = requireBody(body, query);
    return noteJson(note, mr);
  });
  route('POST', '/projects/:id/statuses/:sha', ({ m, body, query, user, res }) => {
    const out = postStatus(project(m[0]), decodeURIComponent(m[1]), body, query, user);
    res.statusCode = 201;
    return out;
  });
  // lib/api/commit_statuses.rb: `read_commit_status` (Reporter); 404 for an unknown commit;
  // `latest` (one per name and ref: the newest) unless all=true; filters ref, stage, name.
  route('GET', '/projects/:id/repository/commits/:sha/statuses', ({ m, res, url, base, user, query }) => {
    const p = project(m[0]);
    if ((p.roles.get(user.id) ?? 50) < 20) throw new HttpError(403, { message: '403 Forbidden' });
    if (!p.commits.has(decodeURIComponent(m[1]))) throw notFound('Commit');
    let list = state.statuses.filter((s) => s.projectId === p.id && s.sha === decodeURIComponent(m[1]));
    if (query.all !== 'true') list = list.filter((s) => !list.some((o) => o.id > s.id && o.name === s.name && o.ref === s.ref));
    if (query.ref) list = list.filter((s) => s.ref === query.ref);
    if (query.name) list = list.filter((s) => s.name === query.name);
    return paginate(res, base, url, list.map(statusJson));
  });
  // lib/api/merge_requests.rb (project MRs): `read_merge_request`; state, updated_after (ISO 8601) filters.
  route('GET', '/projects/:id/merge_requests', ({ m, res, url, base, query }) => {
    const p = project(m[0]);
    if (query.updated_after !== undefined && Number.isNaN(Date.parse(query.updated_after))) throw new HttpError(400, { error: 'updated_after is invalid' });
    const list = state.mergeRequests
      .filter((mr) => mr.projectId === p.id)
      .filter((mr) => !query.state || query.state === 'all' || mr.state === query.state)
      .filter((mr) => query.updated_after === undefined || Date.parse(mr.updatedAt) >= Date.parse(query.updated_after))
      .sort((a, b) => b.iid - a.iid)
      // The list shows Entities::MergeRequestBasic: no `changes_count` (lib/api/merge_requests.rb).
      .map((mr) => {
        const { changes_count: _single, ...basic } = mrJson(mr, base);
        return { ...basic, updated_at: mr.updatedAt };
      });
    return paginate(res, base, url, list);
  });
  // lib/api/projects.rb GET /projects: membership=true → the user's projects; min_access_level
  // filters on the user's own role (unlisted users are Owners in this fake).
  route('GET', '/projects', ({ res, url, base, user, query }) => {
    const min = query.min_access_level === undefined ? 0 : Number(query.min_access_level);
    if (!Number.isInteger(min)) throw new HttpError(400, { error: 'min_access_level does not have a valid value' });
    if (query.membership !== 'true') throw new HttpError(400, { error: 'this fake lists member projects only (membership=true)' });
    const list = [...state.projects.values()].filter((p) => (p.roles.get(user.id) ?? 50) >= Math.max(min, 10)).sort((a, b) => b.id - a.id);
    return paginate(res, base, url, list.map((p) => ({ id: p.id, name: p.pathWithNamespace.split('/').pop(), path_with_namespace: p.pathWithNamespace })));
  });
  route('GET', '/projects/:id/external_status_checks', ({ m, res, url, base }) =>
    paginate(res, base, url, project(m[0]).externalStatusChecks.map((c) => ({ ...c, project_id: Number(m[0]) || undefined, protected_branches: [] }))),
  );
  route('POST', '/projects/:id/merge_requests/:iid/status_check_responses', ({ m, body, query, res }) => {
    const p = project(m[0]);
    const mr = mergeRequest(p, m[1]);
    const sha = String(param(body, query, 'sha') ?? '');
    const checkId = intOrNull(param(body, query, 'external_status_check_id'));
    const status = String(param(body, query, 'status') ?? '');
    if (!['passed', 'failed'].includes(status)) throw new HttpError(400, { error: 'status does not have a valid value' });
    if (!p.externalStatusChecks.some((c) => c.id === checkId)) throw notFound('External status check');
    if (sha !== mr.headSha) throw new HttpError(409, { message: '409 Conflict: SHA must be the HEAD of the merge request' });
    const entry = { sha, external_status_check_id: checkId!, status };
    mr.statusCheckResponses.push(entry);
    res.statusCode = 201;
    return { id: nextId(), merge_request: { iid: mr.iid }, ...entry };
  });
  route('GET', '/projects/:id/runners', ({ m, res, url, base, user }) => {
    requireMaintainer(project(m[0]).roles, user);
    const p = project(m[0]);
    const ids = [...p.runnerIds, ...[...state.runners.values()].filter((r) => r.runner_type === 'instance_type').map((r) => r.id)];
    return paginate(res, base, url, ids.map((id) => runnerSummaryJson(state.runners.get(id)!)));
  });
  route('GET', '/runners/:rid', ({ m }) => {
    const r = state.runners.get(Number(m[0]));
    if (!r) throw notFound('Runner');
    return { ...runnerSummaryJson(r), tag_list: r.tag_list, run_untagged: r.run_untagged, access_level: r.access_level, locked: r.locked, maximum_timeout: null };
  });
  route('GET', '/projects/:id/protected_environments', ({ m, res, url, base, user }) => {
    requireMaintainer(project(m[0]).roles, user);
    return paginate(res, base, url, project(m[0]).protectedEnvironments);
  });
  route('GET', '/projects/:id/variables', ({ m, res, url, base, user }) => {
    requireMaintainer(project(m[0]).roles, user);
    return paginate(res, base, url, project(m[0]).variables.map((v) => ({ variable_type: 'env_var', raw: false, hidden: false, description: null, ...v })));
  });
  route('GET', '/groups/:id/variables', ({ m, res, url, base, user }) => {
    const g = state.groups.get(decodeURIComponent(m[0]));
    if (!g) throw notFound('Group');
    // lib/api/ci/group_variables.rb: authorize! :admin_cicd_variables (group_policy.rb: owner).
    if ((g.roles.get(user.id) ?? 50) < 50) throw new HttpError(403, { message: '403 Forbidden' });
    return paginate(res, base, url, g.variables.map((v) => ({ variable_type: 'env_var', raw: false, hidden: false, description: null, ...v })));
  });

  // ------------------------------------------------------------------------------------------

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    if (body && typeof body === 'object' && '__raw' in body) {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end((body as { __raw: string }).__raw);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  };

  const matchFault = (method: string, path: string): Fault | undefined => {
    const key = `${method} ${path}`;
    return faults.find((f) => {
      if (f.remaining <= 0) return false;
      if (f.pattern instanceof RegExp) return f.pattern.test(key);
      return f.pattern === key || f.pattern === path;
    });
  };

  let answered = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const path = url.pathname.startsWith('/api/v4') ? url.pathname.slice('/api/v4'.length) : url.pathname;
    const query = Object.fromEntries(url.searchParams.entries());
    const entry: RequestLogEntry = { method, path, query, body: undefined, status: 0, authenticated: false, answeredBefore: answered };
    requests.push(entry);
    const finish = (status: number, body: unknown): void => {
      entry.status = status;
      entry.answeredAt = ++answered;
      send(res, status, body);
    };
    try {
      entry.body = await readBody(req, url);
      const auth = req.headers['private-token'] ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const user = state.users.find((u) => u.token === auth);
      if (!user) return finish(401, { message: '401 Unauthorized' });
      entry.authenticated = true;
      if (!url.pathname.startsWith('/api/v4/')) return finish(404, { error: '404 Not Found' });

      if (outage?.active(method, path)) {
        if (outage.retryAfter !== undefined) res.setHeader('retry-after', String(outage.retryAfter));
        return finish(outage.status ?? 500, { message: `${outage.status ?? 500} outage` });
      }
      const fault = matchFault(method, path);
      if (fault) fault.remaining -= 1;
      const pause = (): Promise<void> => new Promise((r) => setTimeout(r, fault?.delayMs ?? 0));
      const injected = (): void => {
        if (fault!.retryAfter !== undefined) res.setHeader('retry-after', String(fault!.retryAfter));
        finish(fault!.status, fault!.body ?? { message: `${fault!.status} injected failure` });
      };
      fault?.effect?.();
      if (fault?.slow) await pause();
      else if (fault && !fault.apply) {
        await pause();
        return injected();
      }

      const r = routes.find((x) => x.method === method && x.re.test(path));
      if (!r) return finish(404, { error: '404 Not Found' });
      const m = r.re.exec(path)!.slice(1);
      res.statusCode = 200;
      const out = r.handler({ m, body: entry.body, query, url, res, user, base });
      if (fault && !fault.slow) {
        // The effect happened at once; the answer is slow and/or lost.
        await pause();
        return injected();
      }
      return finish(res.statusCode, out);
    } catch (err) {
      if (err instanceof HttpError) return finish(err.status, err.body);
      return finish(500, { message: '500 Internal Server Error', detail: String(err) });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token: botUser.token,
    botUser,
    state,
    requests,
    addUser,
    addProject,
    addCommit,
    addMergeRequest,
    addPipeline,
    addRunner,
    addGroup,
    addNote,
    getMergeRequest: (projectId, iid) => mergeRequest(project(String(projectId)), String(iid)),
    failNext(pattern, spec) {
      faults.push({ ...spec, pattern, remaining: spec.count ?? 1 });
    },
    slowNext(pattern, delayMs, count = 1) {
      faults.push({ status: 200, delayMs, pattern, remaining: count, slow: true });
    },
    beforeNext(pattern, effect) {
      faults.push({ status: 200, pattern, remaining: 1, slow: true, effect });
    },
    outage(spec) {
      outage = spec;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Requests logged since `from`, by route with ids and shas folded ("GET /projects/:id/repository/files/:path/raw"). */
export function routesSince(requests: readonly RequestLogEntry[], from: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests.slice(from)) {
    const path = r.path
      .replace(/\/projects\/\d+/, '/projects/:id')
      .replace(/\/merge_requests\/\d+/, '/merge_requests/:iid')
      .replace(/\/statuses\/[0-9a-f]{40}/, '/statuses/:sha')
      .replace(/\/files\/[^/]+\/raw/, '/files/:path/raw')
      .replace(/\/notes\/\d+/, '/notes/:nid');
    const key = `${r.method} ${path}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Raw file reads logged since `from`, as `path@sha7`. */
export function rawReadsSince(requests: readonly RequestLogEntry[], from: number): string[] {
  return requests
    .slice(from)
    .filter((r) => r.path.endsWith('/raw'))
    .map((r) => `${decodeURIComponent(r.path.split('/files/')[1]?.replace(/\/raw$/, '') ?? '')}@${r.query.ref?.slice(0, 7)}`);
}

/** The number of calls in a `routesSince` count. */
export function totalCalls(byRoute: Record<string, number>): number {
  return Object.values(byRoute).reduce((a, n) => a + n, 0);
}

/** Reads of the project, its protected branches and its protected tags in a `routesSince` count. */
export function projectReads(byRoute: Record<string, number>): [number, number, number] {
  return [byRoute['GET /projects/:id'] ?? 0, byRoute['GET /projects/:id/protected_branches'] ?? 0, byRoute['GET /projects/:id/protected_tags'] ?? 0];
}

