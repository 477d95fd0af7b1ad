#!/usr/bin/env node
// Catch-up (reconcile) cost: GitLab calls and time per pass for P projects with M open MRs each,
// through the real adapter (dist/, run `npm run build` first) against a loopback stub of the
// three routes it reads (offset pagination like GitLab: per_page ≤ 100, Link rel="next").
// Half the MRs already have a final `tierguard` status, half have none (queued for review).
// Env: BENCH_RECONCILE ("10x5,10x50,100x20,20x250": PxM scenarios).
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(root, 'dist/server/reconcile.js'))) {
  console.error('bench-reconcile: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { createGitLabApi } = await import(path.join(root, 'dist/gitlab/client.js'));
const { createReconciler } = await import(path.join(root, 'dist/server/reconcile.js'));
const { MemoryQueue } = await import(path.join(root, 'dist/server/queue.js'));
const { default: pino } = await import('pino');

const scenarios = (process.env.BENCH_RECONCILE ?? '10x5,10x50,100x20,20x250').split(',').map((s) => s.split('x').map(Number));

function stub(P, M) {
  const calls = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const p = url.pathname.replace(/^\/api\/v4/, '');
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 20));
    const page = Number(url.searchParams.get('page') ?? 1);
    const send = (all) => {
      const total = Math.max(1, Math.ceil(all.length / perPage));
      if (page < total) {
        const next = new URL(url);
        next.host = req.headers.host;
        next.searchParams.set('page', String(page + 1));
        res.setHeader('link', `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`);
      }
      res.setHeader('x-next-page', page < total ? String(page + 1) : '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(all.slice((page - 1) * perPage, page * perPage)));
    };
    let m;
    let route = 'other';
    if (p === '/projects') {
      route = 'GET /projects';
      send(Array.from({ length: P }, (_, i) => ({ id: i + 1 })));
    } else if ((m = /^\/projects\/(\d+)\/merge_requests$/.exec(p))) {
      route = 'GET /projects/:id/merge_requests';
      const id = Number(m[1]);
      send(Array.from({ length: M }, (_, i) => ({ iid: i + 1, project_id: id, sha: `${id}x${i + 1}x`.padEnd(40, '0'), state: 'opened', updated_at: new Date().toISOString() })));
    } else if ((m = /^\/projects\/(\d+)\/repository\/commits\/([^/]+)\/statuses$/.exec(p))) {
      route = 'GET /projects/:id/repository/commits/:sha/statuses';
      const iid = Number(m[2].split('x')[1]);
      send(iid % 2 === 0 ? [{ id: 1, name: 'tierguard', status: 'success', description: 'no findings', author: { id: 77 } }] : []);
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
    calls.set(route, (calls.get(route) ?? 0) + 1);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, calls, url: `http://127.0.0.1:${server.address().port}` })));
}

console.log('Catch-up pass cost (GitLab calls through the adapter, loopback stub):');
console.log('| projects | open MRs each | pass | calls | GET /projects | MR lists | status reads | queued | ms |');
console.log('|---:|---:|---|---:|---:|---:|---:|---:|---:|');
for (const [P, M] of scenarios) {
  const s = await stub(P, M);
  const api = createGitLabApi({ url: s.url, token: 'bench-token' });
  const queue = new MemoryQueue();
  const r = createReconciler({ api, queue, logger: pino({ level: 'silent' }), intervalMs: 600_000 });
  for (const which of ['first', 'next']) {
    s.calls.clear();
    const t = performance.now();
    const res = await r.pass();
    const ms = performance.now() - t;
    const total = [...s.calls.values()].reduce((a, b) => a + b, 0);
    console.log(
      `| ${P} | ${M} | ${which} | ${total} | ${s.calls.get('GET /projects') ?? 0} | ${s.calls.get('GET /projects/:id/merge_requests') ?? 0} | ` +
        `${s.calls.get('GET /projects/:id/repository/commits/:sha/statuses') ?? 0} | ${res.enqueued} | ${ms.toFixed(0)} |`,
    );
  }
  await queue.close();
  s.server.close();
}
console.log('First pass: ⌈P/100⌉ + P·⌈M/100⌉ + P·M reads; next passes skip heads already seen with a final status.');
console.log('(The MRs without a status stay queued here: no worker runs, so the next pass reads their statuses again.)');
