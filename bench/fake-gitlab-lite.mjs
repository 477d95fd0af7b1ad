// A small loopback fake of the GitLab REST API for benchmarks: plain JS, no test framework.
// Only the routes a typical MR review needs (user, project, MR, MR changes, raw files, tree,
// protected branches/tags, discussions list/create/reply/resolve, notes create/edit, commit
// statuses). No position validation, no status state machine: this is for timing and call
// counting, the TypeScript fake under test/support is the one that checks GitLab's rules.
//
//   const gl = await startLiteGitLab();
//   const p = gl.addProject('acme/app');
//   const mr = gl.addMergeRequest(p.id, { base: {...}, head: {...} });
//   gl.onRequest = (entry) => { ... };       // every request, after it is answered
//   gl.requests                               // [{ method, path, route, status }]
//   await gl.close();
//
// Listens on 127.0.0.1 only.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const sha1 = (t) => createHash('sha1').update(t).digest('hex');

/** A unified diff good enough for the reviewer's changed-line map (one hunk, whole file). */
function wholeFileDiff(before, after) {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  // Common prefix/suffix as context, the middle as removed + added lines.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const lines = [
    ...a.slice(0, pre).map((l) => ` ${l}`),
    ...a.slice(pre, a.length - suf).map((l) => `-${l}`),
    ...b.slice(pre, b.length - suf).map((l) => `+${l}`),
    ...a.slice(a.length - suf).map((l) => ` ${l}`),
  ];
  return `@@ -${a.length ? 1 : 0},${a.length} +${b.length ? 1 : 0},${b.length} @@\n${lines.join('\n')}\n`;
}

class HttpError extends Error {
  constructor(status, body) {
    super(JSON.stringify(body));
    this.status = status;
    this.body = body;
  }
}
const notFound = (what) => new HttpError(404, { message: `404 ${what} Not Found` });

/** Bounded body read (1 MiB): a bench never sends more. */
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 1 << 20) throw new HttpError(413, { message: 'too large' });
    chunks.push(c);
  }
  const buf = Buffer.concat(chunks);
  if (buf.length === 0) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return JSON.parse(buf.toString('utf8'));
  if (type.includes('multipart/form-data') || type.includes('application/x-www-form-urlencoded')) {
    const form = await new Request('http://127.0.0.1/', { method: 'POST', headers: { 'content-type': type }, body: buf }).formData();
    const out = {};
    for (const [k, v] of form.entries()) out[k] = typeof v === 'string' ? v : '';
    return out;
  }
  return {};
}

export async function startLiteGitLab(options = {}) {
  const token = options.token ?? `glpat-${randomBytes(10).toString('hex')}`;
  const bot = { id: 1, username: 'tierguard-bot' };
  let seq = 1000;
  const nextId = () => ++seq;
  const projects = new Map();
  const mrs = [];
  const pipelines = [];
  const statuses = [];
  const requests = [];

  const api = {
    url: '',
    token,
    botUserId: bot.id,
    requests,
    statuses,
    /** Called after each request is answered: (entry) => void. */
    onRequest: undefined,
    addProject(path, init = {}) {
      const id = projects.size + 1;
      const p = { id, path, defaultBranch: init.defaultBranch ?? 'main', ciConfigPath: init.ciConfigPath ?? '', commits: new Map(), refs: new Map(), protectedBranches: ['main'], protectedTags: [] };
      projects.set(id, p);
      return p;
    },
    addCommit(projectId, files, branch) {
      const p = projects.get(projectId);
      const sha = sha1(`${projectId}\n${branch ?? ''}\n${nextId()}\n${JSON.stringify(Object.entries(files).sort())}`);
      p.commits.set(sha, { ...files });
      if (branch) p.refs.set(branch, sha);
      return sha;
    },
    /**
     * An MR from two file trees (the head pipeline is created so statuses attach to it);
     * `baseSha`: start from that commit of the project (an MR on the same target tip) instead.
     */
    addMergeRequest(projectId, { base, head, sourceBranch, baseSha: onSha }) {
      const p = projects.get(projectId);
      const iid = mrs.filter((m) => m.projectId === projectId).length + 1;
      if (onSha) base = p.commits.get(onSha);
      const baseSha = onSha ?? api.addCommit(projectId, base, p.defaultBranch);
      const headSha = api.addCommit(projectId, head, sourceBranch ?? `feature-${iid}`);
      const diffs = diffsOf(base, head);
      const pipelineId = nextId();
      pipelines.push({ id: pipelineId, projectId, sha: headSha });
      const mr = { iid, projectId, sourceBranch: sourceBranch ?? `feature-${iid}`, targetBranch: p.defaultBranch, baseSha, headSha, headPipelineId: pipelineId, state: 'opened', diffs, discussions: [] };
      mrs.push(mr);
      return mr;
    },
    /** A push to the MR's source branch: a new head commit (same base), a new head pipeline. */
    pushToMergeRequest(mr, head) {
      mr.headSha = api.addCommit(mr.projectId, head, mr.sourceBranch);
      mr.diffs = diffsOf(projects.get(mr.projectId).commits.get(mr.baseSha), head);
      mr.headPipelineId = nextId();
      pipelines.push({ id: mr.headPipelineId, projectId: mr.projectId, sha: mr.headSha });
      return mr;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function diffsOf(base, head) {
    const diffs = [];
    for (const path of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
      if (base[path] === head[path]) continue;
      diffs.push({
        old_path: path,
        new_path: path,
        new_file: base[path] === undefined,
        renamed_file: false,
        deleted_file: head[path] === undefined,
        diff: wholeFileDiff(base[path] ?? '', head[path] ?? ''),
      });
    }
    return diffs;
  }

  const project = (raw) => {
    const key = decodeURIComponent(raw);
    const p = /^\d+$/.test(key) ? projects.get(Number(key)) : [...projects.values()].find((x) => x.path === key);
    if (!p) throw notFound('Project');
    return p;
  };
  const mergeRequest = (p, iid) => {
    const mr = mrs.find((m) => m.projectId === p.id && String(m.iid) === iid);
    if (!mr) throw notFound('Merge Request');
    return mr;
  };
  const user = (id) => ({ id, username: id === bot.id ? bot.username : `user${id}`, name: `user${id}`, state: 'active' });
  const noteJson = (n, mr) => ({
    id: n.id,
    type: n.position ? 'DiffNote' : n.resolvable ? 'DiscussionNote' : null,
    body: n.body,
    author: user(n.authorId),
    created_at: n.createdAt,
    system: false,
    noteable_id: mr.iid,
    noteable_type: 'MergeRequest',
    noteable_iid: mr.iid,
    resolvable: n.resolvable,
    ...(n.resolvable ? { resolved: n.resolved } : {}),
    ...(n.position ? { position: n.position } : {}),
  });
  const discussionJson = (d, mr) => ({ id: d.id, individual_note: d.individualNote, notes: d.notes.map((n) => noteJson(n, mr)) });
  const newNote = (body, resolvable, position) => ({ id: nextId(), body, authorId: bot.id, resolvable, resolved: false, position, createdAt: new Date().toISOString() });
  const positionOf = (body) => {
    if (body.position && typeof body.position === 'object') return body.position;
    const pos = {};
    for (const [k, v] of Object.entries(body)) {
      const m = /^position\[(\w+)\]$/.exec(k);
      if (m) pos[m[1]] = /_line$/.test(m[1]) ? Number(v) : v;
    }
    return Object.keys(pos).length ? pos : null;
  };
  const text = (body) => {
    if (typeof body.body !== 'string' || body.body === '') throw new HttpError(400, { error: 'body is missing' });
    return body.body;
  };
  const page = (res, items) => {
    res.setHeader('x-page', '1');
    res.setHeader('x-per-page', '100');
    res.setHeader('x-total', String(items.length));
    res.setHeader('x-total-pages', '1');
    res.setHeader('x-next-page', '');
    return items;
  };

  const routes = [];
  const route = (method, pattern, handler) => routes.push({ method, pattern, re: new RegExp(`^${pattern.replace(/:[a-z_]+/g, '([^/]+)')}$`), handler });

  route('GET', '/user', () => ({ ...user(bot.id), username: bot.username }));
  route('GET', '/projects/:id', ({ m, base }) => {
    const p = project(m[0]);
    const parts = p.path.split('/');
    return {
      id: p.id,
      name: parts.at(-1),
      path: parts.at(-1),
      path_with_namespace: p.path,
      namespace: { id: p.id + 500, full_path: parts.slice(0, -1).join('/'), kind: 'group' },
      default_branch: p.defaultBranch,
      ci_config_path: p.ciConfigPath,
      web_url: `${base}/${p.path}`,
      shared_runners_enabled: true,
    };
  });
  const mrJson = (p, mr, base) => ({
    id: p.id * 1000 + mr.iid,
    iid: mr.iid,
    project_id: p.id,
    source_project_id: p.id,
    target_project_id: p.id,
    source_branch: mr.sourceBranch,
    target_branch: mr.targetBranch,
    state: mr.state,
    // Non-system notes, counted live as GitLab does (app/models/concerns/issuable.rb).
    user_notes_count: mr.discussions.reduce((n, d) => n + d.notes.filter((x) => !x.system).length, 0),
    sha: mr.headSha,
    diff_refs: { base_sha: mr.baseSha, head_sha: mr.headSha, start_sha: mr.baseSha },
    changes_count: String(mr.diffs.length),
    head_pipeline: { id: mr.headPipelineId, sha: mr.headSha, status: 'running' },
    web_url: `${base}/${p.path}/-/merge_requests/${mr.iid}`,
  });
  const diffJson = (d) => ({ ...d, a_mode: '100644', b_mode: '100644', collapsed: false, too_large: false });
  route('GET', '/projects/:id/merge_requests/:iid', ({ m, base }) => {
    const p = project(m[0]);
    return mrJson(p, mergeRequest(p, m[1]), base);
  });
  // lib/api/entities/merge_request_changes.rb: the MR with its diff's files, one answer.
  route('GET', '/projects/:id/merge_requests/:iid/changes', ({ m, base }) => {
    const p = project(m[0]);
    const mr = mergeRequest(p, m[1]);
    return { ...mrJson(p, mr, base), changes: mr.diffs.map(diffJson), overflow: false };
  });
  route('GET', '/projects/:id/repository/files/:path/raw', ({ m, query }) => {
    const p = project(m[0]);
    const ref = query.ref ?? p.defaultBranch;
    const sha = p.refs.get(ref) ?? ref;
    const content = p.commits.get(sha)?.[decodeURIComponent(m[1])];
    if (content === undefined) throw notFound('File');
    return { __raw: content };
  });
  route('GET', '/projects/:id/repository/tree', ({ m, query, res }) => {
    const p = project(m[0]);
    const ref = query.ref ?? p.defaultBranch;
    const tree = p.commits.get(p.refs.get(ref) ?? ref);
    if (!tree) throw notFound('Tree');
    return page(res, Object.keys(tree).sort().map((f) => ({ id: sha1(tree[f]), name: f.split('/').pop(), type: 'blob', path: f, mode: '100644' })));
  });
  route('GET', '/projects/:id/protected_branches', ({ m, res }) => page(res, project(m[0]).protectedBranches.map((name, i) => ({ id: i + 1, name, allow_force_push: false }))));
  route('GET', '/projects/:id/protected_tags', ({ m, res }) => page(res, project(m[0]).protectedTags.map((name) => ({ name }))));
  route('GET', '/projects/:id/merge_requests/:iid/discussions', ({ m, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    return page(res, mr.discussions.map((d) => discussionJson(d, mr)));
  });
  route('POST', '/projects/:id/merge_requests/:iid/discussions', ({ m, body, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const d = { id: randomBytes(20).toString('hex'), individualNote: false, notes: [newNote(text(body), true, positionOf(body))] };
    mr.discussions.push(d);
    res.statusCode = 201;
    return discussionJson(d, mr);
  });
  route('POST', '/projects/:id/merge_requests/:iid/discussions/:did/notes', ({ m, body, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const d = mr.discussions.find((x) => x.id === m[2]);
    if (!d) throw notFound('Discussion');
    const n = newNote(text(body), d.notes[0].resolvable, null);
    d.notes.push(n);
    res.statusCode = 201;
    return noteJson(n, mr);
  });
  route('PUT', '/projects/:id/merge_requests/:iid/discussions/:did', ({ m, body }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const d = mr.discussions.find((x) => x.id === m[2]);
    if (!d) throw notFound('Discussion');
    for (const n of d.notes) n.resolved = String(body.resolved) === 'true';
    return discussionJson(d, mr);
  });
  route('POST', '/projects/:id/merge_requests/:iid/notes', ({ m, body, res }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const n = newNote(text(body), false, null);
    mr.discussions.push({ id: randomBytes(20).toString('hex'), individualNote: true, notes: [n] });
    res.statusCode = 201;
    return noteJson(n, mr);
  });
  route('PUT', '/projects/:id/merge_requests/:iid/notes/:nid', ({ m, body }) => {
    const mr = mergeRequest(project(m[0]), m[1]);
    const n = mr.discussions.flatMap((d) => d.notes).find((x) => String(x.id) === m[2]);
    if (!n) throw notFound('Note');
    n.body = text(body);
    return noteJson(n, mr);
  });
  route('POST', '/projects/:id/statuses/:sha', ({ m, body, res }) => {
    const p = project(m[0]);
    const sha = decodeURIComponent(m[1]);
    if (!p.commits.has(sha)) throw notFound('Commit');
    const s = {
      id: nextId(),
      sha,
      ref: body.ref ?? '',
      status: body.state,
      name: body.name ?? 'default',
      target_url: body.target_url ?? null,
      description: body.description ?? null,
      pipeline_id: Number(body.pipeline_id ?? 0) || null,
      author: user(bot.id),
      projectId: p.id,
    };
    statuses.push(s);
    res.statusCode = 201;
    return s;
  });

  const send = (res, status, body) => {
    if (body && typeof body === 'object' && '__raw' in body) {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body.__raw);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  };

  const handle = async (req, res) => {
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const path = url.pathname.startsWith('/api/v4') ? url.pathname.slice(7) : url.pathname;
    const entry = { method, path, route: `${method} ?`, status: 0 };
    requests.push(entry);
    const finish = (status, body) => {
      entry.status = status;
      send(res, status, body);
      api.onRequest?.(entry);
    };
    try {
      const body = await readBody(req);
      // A GitLab farther away: every answer waits `api.latencyMs` (0 by default).
      if (api.latencyMs) await new Promise((r) => setTimeout(r, api.latencyMs));
      const auth = req.headers['private-token'] ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (auth !== token) return finish(401, { message: '401 Unauthorized' });
      const r = routes.find((x) => x.method === method && x.re.test(path));
      if (!r) return finish(404, { error: '404 Not Found' });
      entry.route = `${method} ${r.pattern}`;
      res.statusCode = 200;
      const out = r.handler({ m: r.re.exec(path).slice(1), body, query: Object.fromEntries(url.searchParams), res, base });
      return finish(res.statusCode, out);
    } catch (err) {
      if (err instanceof HttpError) return finish(err.status, err.body);
      return finish(500, { message: String(err) });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${server.address().port}`;
  return api;
}
