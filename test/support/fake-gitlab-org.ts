/**
 * The fake GitLab for organisation-wide reads (`tierguard audit`): a loopback server in front of
 * test/support/fake-gitlab.ts that shares its state, answers the group, runner and issue routes
 * itself and forwards everything else (raw files, protected branches/environments …) to it.
 *
 * Permissions follow GitLab's source:
 * - GET /groups/:id, /groups/:id/projects, /groups/:id/descendant_groups: read_group — any
 *   member of the group or an ancestor (app/policies/group_policy.rb); 404 otherwise.
 * - GET /groups/:id/runners: read_group_runners — group Owner (group_policy.rb `owner` block;
 *   lib/api/ci/runners.rb `authorize! :read_group_runners`).
 * - GET /projects/:id/runners: read_project_runners — Maintainer (project_policy.rb).
 * - GET /runners/all: administrators only (`authenticated_as_admin!`).
 * - GET /runners/:id: instance runners for anyone; group runners for a Maintainer of the
 *   runner's group; project runners for a Maintainer of an assigned project; admins always
 *   (app/policies/ci/runner_policy.rb). PUT /runners/:id: admins, the Owner of a group runner's
 *   group, a Maintainer of a project runner's owner project (`can_admin_runner`).
 * - Issues (lib/api/issues.rb): read and create from Guest (10); update from Reporter (20) or by
 *   the issue's author.
 * Roles are inherited down the group tree; a user not listed anywhere is an Owner (as in the
 * base fake). Membership of the project itself comes from the base fake's `roles`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeGitLab, type FakeGitLab, type FakeGitLabOptions, type FakeProject, type FakeRunner, type FakeUser, type FileTree, type RouteParams } from './fake-gitlab.js';

interface FakeIssue {
  iid: number;
  projectId: number;
  title: string;
  description: string;
  authorId: number;
  state: 'opened' | 'closed';
}

interface OrgRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface FakeGitLabOrg {
  /** Base URL of the org fake (use this one; it forwards to `base`). */
  url: string;
  token: string;
  base: FakeGitLab;
  admins: Set<number>;
  /** Every request the org fake answered or forwarded. */
  requests: OrgRequest[];
  issues: FakeIssue[];
  addGroup(fullPath: string): { id: number; fullPath: string; roles: Map<number, number> };
  addProject(init: { path: string; files?: FileTree; archived?: boolean; defaultBranch?: string }): FakeProject;
  addGroupRunner(groupPath: string, r: Partial<FakeRunner> & { description: string }): FakeRunner;
  addInstanceRunner(r: Partial<FakeRunner> & { description: string }): FakeRunner;
  addProjectRunner(projectId: number, r: Partial<FakeRunner> & { description: string }): FakeRunner;
  /** Set a user's role in a group (GitLab access levels: 10 Guest … 50 Owner). */
  setGroupRole(groupPath: string, userId: number, level: number): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body));
  }
}
const forbidden = () => new HttpError(403, { message: '403 Forbidden' });
const notFound = (what: string) => new HttpError(404, { message: `404 ${what} Not Found` });

export async function startFakeGitLabOrg(options: FakeGitLabOptions = {}): Promise<FakeGitLabOrg> {
  const base = await startFakeGitLab(options);
  const admins = new Set<number>();
  const groupIds = new Map<string, number>();
  const runnerGroup = new Map<number, string>();
  const archived = new Set<number>();
  const issues: FakeIssue[] = [];
  const requests: OrgRequest[] = [];
  let nextGroupId = 900;

  const addGroup: FakeGitLabOrg['addGroup'] = (fullPath) => {
    const g = base.state.groups.get(fullPath) ?? base.addGroup(fullPath);
    if (!groupIds.has(fullPath)) groupIds.set(fullPath, (nextGroupId += 1));
    return { id: groupIds.get(fullPath)!, fullPath, roles: g.roles };
  };
  const ancestors = (path: string): string[] => {
    const parts = path.split('/');
    const out: string[] = [];
    for (let i = parts.length; i > 0; i--) out.push(parts.slice(0, i).join('/'));
    return out;
  };
  /** Inherited group role: the highest listed along the ancestors; unlisted everywhere → Owner. */
  const groupRole = (path: string, user: FakeUser): number => {
    let listed = false;
    let best = 0;
    for (const a of ancestors(path)) {
      const g = base.state.groups.get(a);
      const r = g?.roles.get(user.id);
      if (r !== undefined) {
        listed = true;
        best = Math.max(best, r);
      }
    }
    return listed ? best : 50;
  };
  /** Project role: the higher of the project's own membership and the inherited group role. */
  const projectRole = (p: FakeProject, user: FakeUser): number => {
    const own = p.roles.get(user.id);
    const ns = p.pathWithNamespace.split('/').slice(0, -1).join('/');
    const groupListed = ancestors(ns).some((a) => base.state.groups.get(a)?.roles.has(user.id));
    if (own === undefined && !groupListed) return 50;
    return Math.max(own ?? 0, groupListed ? groupRole(ns, user) : 0);
  };
  const groupOf = (idOrPath: string): string => {
    const decoded = decodeURIComponent(idOrPath);
    if (/^\d+$/.test(decoded)) {
      for (const [path, id] of groupIds) if (String(id) === decoded) return path;
      throw notFound('Group');
    }
    if (!groupIds.has(decoded)) throw notFound('Group');
    return decoded;
  };
  const projectOf = (idOrPath: string): FakeProject => {
    const decoded = decodeURIComponent(idOrPath);
    const p = /^\d+$/.test(decoded) ? base.state.projects.get(Number(decoded)) : [...base.state.projects.values()].find((x) => x.pathWithNamespace === decoded);
    if (!p) throw notFound('Project');
    return p;
  };
  const readGroup = (path: string, user: FakeUser): void => {
    if (!admins.has(user.id) && groupRole(path, user) < 10) throw notFound('Group');
  };

  const addProject: FakeGitLabOrg['addProject'] = (init) => {
    const ns = init.path.split('/').slice(0, -1).join('/');
    for (const a of ancestors(ns)) addGroup(a);
    const p = base.addProject({ path: init.path, files: init.files, defaultBranch: init.defaultBranch });
    if (init.archived) archived.add(p.id);
    return p;
  };
  const addGroupRunner: FakeGitLabOrg['addGroupRunner'] = (groupPath, r) => {
    addGroup(groupPath);
    const runner = base.addRunner(null, { ...r, runner_type: 'group_type' });
    runnerGroup.set(runner.id, groupPath);
    return runner;
  };
  const addInstanceRunner: FakeGitLabOrg['addInstanceRunner'] = (r) => base.addRunner(null, { ...r, runner_type: 'instance_type' });
  const addProjectRunner: FakeGitLabOrg['addProjectRunner'] = (projectId, r) => base.addRunner(projectId, { ...r, runner_type: 'project_type' });

  const groupJson = (path: string, baseUrl: string) => ({ id: groupIds.get(path), full_path: path, path: path.split('/').pop(), web_url: `${baseUrl}/groups/${path}` });
  const runnerListJson = (r: FakeRunner) => ({ id: r.id, description: r.description, paused: r.paused, active: !r.paused, is_shared: r.runner_type === 'instance_type', runner_type: r.runner_type, online: true, status: 'online' });
  const runnerProjects = (r: FakeRunner) => [...base.state.projects.values()].filter((p) => p.runnerIds.includes(r.id));
  const runnerDetailsJson = (r: FakeRunner) => ({
    ...runnerListJson(r),
    tag_list: r.tag_list,
    run_untagged: r.run_untagged,
    access_level: r.access_level,
    locked: r.locked,
    maximum_timeout: null,
    contacted_at: '2026-12-01T10:00:00.000Z',
    version: '17.6.0',
    platform: 'linux',
    architecture: 'amd64',
    groups: runnerGroup.has(r.id) ? [{ id: groupIds.get(runnerGroup.get(r.id)!), full_path: runnerGroup.get(r.id) }] : [],
  });
  const canReadRunner = (r: FakeRunner, user: FakeUser): boolean => {
    if (admins.has(user.id) || r.runner_type === 'instance_type') return true;
    if (r.runner_type === 'group_type') return groupRole(runnerGroup.get(r.id)!, user) >= 40;
    return runnerProjects(r).some((p) => projectRole(p, user) >= 40);
  };
  const canUpdateRunner = (r: FakeRunner, user: FakeUser): boolean => {
    if (admins.has(user.id)) return true;
    if (r.runner_type === 'group_type') return groupRole(runnerGroup.get(r.id)!, user) >= 50;
    if (r.runner_type === 'project_type') {
      const owner = runnerProjects(r)[0];
      return !!owner && projectRole(owner, user) >= 40;
    }
    return false;
  };
  const issueJson = (i: FakeIssue, baseUrl: string) => {
    const p = base.state.projects.get(i.projectId)!;
    return { id: i.projectId * 10_000 + i.iid, iid: i.iid, project_id: i.projectId, title: i.title, description: i.description, state: i.state, author: { id: i.authorId }, web_url: `${baseUrl}/${p.pathWithNamespace}/-/issues/${i.iid}` };
  };

  function paginate(res: ServerResponse, query: Record<string, string>, items: unknown[]): unknown[] {
    const perPage = Math.min(100, Number(query.per_page ?? 20) || 20);
    const page = Math.max(1, Number(query.page ?? 1) || 1);
    const pages = Math.max(1, Math.ceil(items.length / perPage));
    res.setHeader('x-page', String(page));
    res.setHeader('x-per-page', String(perPage));
    res.setHeader('x-total', String(items.length));
    res.setHeader('x-total-pages', String(pages));
    res.setHeader('x-next-page', page < pages ? String(page + 1) : '');
    return items.slice((page - 1) * perPage, page * perPage);
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (chunks.length === 0) return {};
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new HttpError(400, { error: 'invalid JSON' });
    }
  }

  type Handler<M> = (c: { m: M; query: Record<string, string>; user: FakeUser; res: ServerResponse; req: IncomingMessage; baseUrl: string }) => unknown;
  const routes: Array<{ method: string; re: RegExp; handler: Handler<string[]> }> = [];
  const route = <P extends string>(method: string, pattern: P, handler: Handler<RouteParams<P>>) =>
    // The regex has one group per `:name` segment, so its groups are exactly RouteParams<P>.
    routes.push({ method, re: new RegExp(`^${pattern.replace(/:[a-z_]+/g, '([^/]+)')}$`), handler: (c) => handler({ ...c, m: c.m as RouteParams<P> }) });

  route('GET', '/user', ({ user }) => ({ id: user.id, username: user.username, ...(admins.has(user.id) ? { is_admin: true } : {}) }));
  route('GET', '/groups/:id', ({ m, user, baseUrl }) => {
    const g = groupOf(m[0]);
    readGroup(g, user);
    return groupJson(g, baseUrl);
  });
  route('GET', '/groups/:id/descendant_groups', ({ m, user, res, query, baseUrl }) => {
    const g = groupOf(m[0]);
    readGroup(g, user);
    return paginate(res, query, [...groupIds.keys()].filter((x) => x.startsWith(`${g}/`)).sort().map((x) => groupJson(x, baseUrl)));
  });
  route('GET', '/groups/:id/projects', ({ m, user, res, query, baseUrl }) => {
    const g = groupOf(m[0]);
    readGroup(g, user);
    const deep = query.include_subgroups === 'true';
    let list = [...base.state.projects.values()].filter((p) => {
      const ns = p.pathWithNamespace.split('/').slice(0, -1).join('/');
      return ns === g || (deep && ns.startsWith(`${g}/`));
    });
    if (query.archived === 'false') list = list.filter((p) => !archived.has(p.id));
    list.sort((a, b) => a.id - b.id);
    return paginate(
      res,
      query,
      list.map((p) => ({
        id: p.id,
        path_with_namespace: p.pathWithNamespace,
        namespace: { full_path: p.pathWithNamespace.split('/').slice(0, -1).join('/'), kind: 'group' },
        default_branch: p.refs.size ? p.defaultBranch : null,
        ci_config_path: p.ciConfigPath ?? '',
        web_url: `${baseUrl}/${p.pathWithNamespace}`,
        archived: archived.has(p.id),
        shared_runners_enabled: (p.ciSettings.shared_runners_enabled as boolean | undefined) ?? true,
        // lib/api/entities/project.rb: CI settings only for admin_project (Maintainer).
        ...(projectRole(p, user) >= 40 ? { group_runners_enabled: (p.ciSettings.group_runners_enabled as boolean | undefined) ?? true } : {}),
      })),
    );
  });
  route('GET', '/groups/:id/runners', ({ m, user, res, query }) => {
    const g = groupOf(m[0]);
    if (!admins.has(user.id) && groupRole(g, user) < 50) throw forbidden();
    const all = [...base.state.runners.values()].filter((r) => r.runner_type === 'instance_type' || (r.runner_type === 'group_type' && ancestors(g).includes(runnerGroup.get(r.id)!)));
    const typed = query.type ? all.filter((r) => r.runner_type === query.type) : all;
    return paginate(res, query, typed.map(runnerListJson));
  });
  route('GET', '/projects/:id/runners', ({ m, user, res, query }) => {
    const p = projectOf(m[0]);
    if (!admins.has(user.id) && projectRole(p, user) < 40) throw forbidden();
    const ns = p.pathWithNamespace.split('/').slice(0, -1).join('/');
    const all = [...base.state.runners.values()].filter(
      (r) => r.runner_type === 'instance_type' || p.runnerIds.includes(r.id) || (r.runner_type === 'group_type' && ancestors(ns).includes(runnerGroup.get(r.id)!)),
    );
    const typed = query.type ? all.filter((r) => r.runner_type === query.type) : all;
    return paginate(res, query, typed.map(runnerListJson));
  });
  route('GET', '/runners/all', ({ user, res, query }) => {
    if (!admins.has(user.id)) throw forbidden();
    const all = [...base.state.runners.values()];
    return paginate(res, query, (query.type ? all.filter((r) => r.runner_type === query.type) : all).map(runnerListJson));
  });
  route('GET', '/runners/:id', ({ m, user }) => {
    const r = base.state.runners.get(Number(m[0]));
    if (!r) throw notFound('Runner');
    if (!canReadRunner(r, user)) throw new HttpError(403, { message: '403 Forbidden - No access granted' });
    return runnerDetailsJson(r);
  });
  route('PUT', '/runners/:id', async ({ m, user, req }) => {
    const r = base.state.runners.get(Number(m[0]));
    if (!r) throw notFound('Runner');
    if (!canUpdateRunner(r, user)) throw new HttpError(403, { message: '403 Forbidden - No access granted' });
    const body = await readJson(req);
    if (body.access_level !== undefined) {
      if (body.access_level !== 'not_protected' && body.access_level !== 'ref_protected') throw new HttpError(400, { error: 'access_level does not have a valid value' });
      r.access_level = body.access_level;
    }
    if (body.run_untagged !== undefined) r.run_untagged = body.run_untagged === true || body.run_untagged === 'true';
    if (body.tag_list !== undefined) r.tag_list = Array.isArray(body.tag_list) ? body.tag_list.map(String) : String(body.tag_list).split(',').map((t) => t.trim()).filter(Boolean);
    if (body.paused !== undefined) r.paused = body.paused === true;
    // app/models/ci/runner.rb validates: a runner that runs no untagged jobs needs tags.
    if (!r.run_untagged && r.tag_list.length === 0) throw new HttpError(400, { message: { tags_list: ['can not be empty when runner is not allowed to pick untagged jobs'] } });
    return runnerDetailsJson(r);
  });
  route('GET', '/projects/:id/issues', ({ m, user, res, query, baseUrl }) => {
    const p = projectOf(m[0]);
    if (projectRole(p, user) < 10) throw notFound('Project');
    let list = issues.filter((i) => i.projectId === p.id);
    if (query.author_id) list = list.filter((i) => String(i.authorId) === query.author_id);
    if (query.state && query.state !== 'all') list = list.filter((i) => i.state === query.state);
    const search = query.search;
    if (search) {
      const inWhat = (query.in ?? 'title,description').split(',');
      list = list.filter((i) => (inWhat.includes('title') && i.title.includes(search)) || (inWhat.includes('description') && i.description.includes(search)));
    }
    return paginate(res, query, list.map((i) => issueJson(i, baseUrl)));
  });
  route('POST', '/projects/:id/issues', async ({ m, user, res, req, baseUrl }) => {
    const p = projectOf(m[0]);
    if (projectRole(p, user) < 10) throw notFound('Project');
    const body = await readJson(req);
    if (typeof body.title !== 'string' || !body.title) throw new HttpError(400, { error: 'title is missing' });
    const description = typeof body.description === 'string' ? body.description : '';
    // app/models/concerns/issuable.rb: description is limited to 1 048 576 characters.
    if (description.length > 1_048_576) throw new HttpError(400, { message: { description: ['is too long (maximum is 1048576 characters)'] } });
    const issue: FakeIssue = { iid: issues.filter((i) => i.projectId === p.id).length + 1, projectId: p.id, title: body.title, description, authorId: user.id, state: 'opened' };
    issues.push(issue);
    res.statusCode = 201;
    return issueJson(issue, baseUrl);
  });
  route('PUT', '/projects/:id/issues/:iid', async ({ m, user, req, baseUrl }) => {
    const p = projectOf(m[0]);
    const issue = issues.find((i) => i.projectId === p.id && String(i.iid) === m[1]);
    if (!issue) throw notFound('Issue');
    if (projectRole(p, user) < 20 && issue.authorId !== user.id) throw forbidden();
    const body = await readJson(req);
    if (typeof body.title === 'string') issue.title = body.title;
    if (typeof body.description === 'string') {
      if (body.description.length > 1_048_576) throw new HttpError(400, { message: { description: ['is too long (maximum is 1048576 characters)'] } });
      issue.description = body.description;
    }
    return issueJson(issue, baseUrl);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const baseUrl = `http://${req.headers.host ?? '127.0.0.1'}`;
    const url = new URL(req.url ?? '/', baseUrl);
    const method = req.method ?? 'GET';
    const path = url.pathname.startsWith('/api/v4') ? url.pathname.slice('/api/v4'.length) : url.pathname;
    const query = Object.fromEntries(url.searchParams.entries());
    const entry: OrgRequest = { method, path, query, status: 0 };
    requests.push(entry);
    const finish = (status: number, body: unknown) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(res.getHeaders()).map(([k, v]) => [k, String(v)])) });
      res.end(JSON.stringify(body ?? {}));
    };
    const r = routes.find((x) => x.method === method && x.re.test(path));
    if (!r) {
      // Forward to the base fake (same state), keeping method, headers and body.
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      const fwd = await fetch(`${base.url}${url.pathname}${url.search}`, { method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      entry.status = fwd.status;
      const out: Record<string, string> = {};
      fwd.headers.forEach((v, k) => {
        if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
      });
      res.writeHead(fwd.status, out);
      res.end(Buffer.from(await fwd.arrayBuffer()));
      return;
    }
    const auth = req.headers['private-token'] ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = base.state.users.find((u) => u.token === auth);
    if (!user) return finish(401, { message: '401 Unauthorized' });
    try {
      res.statusCode = 200;
      const out = await r.handler({ m: r.re.exec(path)!.slice(1), query, user, res, req, baseUrl });
      finish(res.statusCode, out);
    } catch (err) {
      if (err instanceof HttpError) return finish(err.status, err.body);
      finish(500, { message: '500 Internal Server Error', detail: String(err) });
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
    token: base.token,
    base,
    admins,
    requests,
    issues,
    addGroup,
    addProject,
    addGroupRunner,
    addInstanceRunner,
    addProjectRunner,
    setGroupRole(groupPath, userId, level) {
      addGroup(groupPath);
      base.state.groups.get(groupPath)!.roles.set(userId, level);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await base.close();
    },
  };
}
