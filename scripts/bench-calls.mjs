#!/usr/bin/env node
// GitLab API calls per review (issue 19, target "GitLab calls per review"): run after
// `npm run build`; `npm run bench` runs it. The real service (startServer: the composition root
// with its caches) reviews MRs delivered as webhooks, against the loopback fake GitLab in
// bench/fake-gitlab-lite.mjs, which logs every request by route. Counts, not timings: the same
// on every machine. Scenarios, in this order, in one fresh process:
//   1. first review of an N-file pipeline, cold (this replica never saw the project);
//   2. `/tierguard recheck` of the same sha;
//   3. a push to that MR (new head sha, same base sha);
//   4. first review of another MR after the target branch moved (new base sha), project seen
//      within the cache TTL;
//   5. another MR on the same target tip (its base sha already read);
//   6. an MR with no CI change;
//   7, 8. scenarios 1 and 4 again (a new project, then a new MR on it) with every answer 25 ms
//      away: besides the count, how many round trips the review waited (a timing, so a ratio:
//      waited / calls);
//   9. when Redis answers (REDIS_URL, default redis://127.0.0.1:6379): two more replicas sharing
//      Redis (REDIS_URL set: the project cache is shared; each with its own in-memory queue, so
//      each reviews what it was sent): replica A reviews an MR of a new project (not counted),
//      then replica B, which never saw the project, reviews another MR on a new base sha.
// Target: a first review makes at most N + N (head + base files) + 6 calls; a recheck reads no file.
// Lines starting `target:` are collected into the targets summary of scripts/bench.mjs.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => path.join(root, 'dist', p);
if (!existsSync(dist('server/server.js'))) {
  console.error('bench-calls: dist/ not found: run `npm run build` first');
  process.exit(2);
}
const { startLiteGitLab } = await import(path.join(root, 'bench/fake-gitlab-lite.mjs'));
const { loadConfig } = await import(dist('server/config.js'));
const { startServer } = await import(dist('server/server.js'));
const { MemoryQueue } = await import(dist('server/queue.js'));
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

const SECRET = 'bench-webhook-secret-0123456789';
const DEADLINE = setTimeout(() => {
  console.error('bench-calls: time limit (120 s) reached, stopping');
  process.exit(3);
}, 120_000);
DEADLINE.unref();

// An N-file pipeline (root + 3 local includes) and a README; the MRs change one include.
const ROOT_CI = `stages: [build, test, deploy]
include:
  - local: ci/build.yml
  - local: ci/test.yml
  - local: ci/deploy.yml
workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
default:
  tags: [ci-general]
  image: node:20-bookworm
`;
const BUILD = `build:\n  stage: build\n  script:\n    - npm ci\n    - npm run build\n`;
const TEST = (cmd) => `unit:\n  stage: test\n  needs: [build]\n  script:\n    - npm ci\n    - ${cmd}\n`;
const DEPLOY = `pages:\n  stage: deploy\n  script:\n    - npm run docs\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n`;
const BASE = { '.gitlab-ci.yml': ROOT_CI, 'ci/build.yml': BUILD, 'ci/test.yml': TEST('npm test'), 'ci/deploy.yml': DEPLOY, 'README.md': 'app\n' };
const N = Object.keys(BASE).filter((f) => f.endsWith('.yml')).length;
const head = (cmd) => ({ ...BASE, 'ci/test.yml': TEST(cmd) });

const policyDir = mkdtempSync(path.join(tmpdir(), 'tierguard-bench-calls-'));
writeFileSync(path.join(policyDir, 'default.yaml'), 'version: 1\n');

const lite = await startLiteGitLab();
const project = lite.addProject('acme/app');
const serviceConfig = (env = {}) =>
  loadConfig({
    GITLAB_URL: lite.url,
    GITLAB_TOKEN: lite.token,
    WEBHOOK_SECRET: SECRET,
    POLICY_DIR: policyDir,
    LOG_LEVEL: 'warn',
    CONCURRENCY: '1',
    RECONCILE_INTERVAL_SECONDS: '0',
    LIVE_CHECKS: 'off',
    ...env,
  });
const server = await startServer({ config: serviceConfig(), port: 0, host: '127.0.0.1', logDestination: { write() {} }, reviewer: { paceMs: 0 } });

const projectHook = (p) => ({ id: p.id, name: p.path.split('/').pop(), path_with_namespace: p.path, default_branch: 'main', ci_config_path: '' });
const mrHook = (mr, action, oldrev, p = project) => ({
  object_kind: 'merge_request',
  event_type: 'merge_request',
  user: { id: 77, username: 'dev' },
  project: projectHook(p),
  object_attributes: { iid: mr.iid, action, state: 'opened', target_project_id: p.id, target_branch: 'main', last_commit: { id: mr.headSha }, ...(oldrev ? { oldrev } : {}) },
});
const noteHook = (mr) => ({
  object_kind: 'note',
  user: { id: 77, username: 'dev' },
  project: projectHook(project),
  object_attributes: { note: '/tierguard recheck', noteable_type: 'MergeRequest', action: 'create' },
  merge_request: { iid: mr.iid, target_project_id: project.id, last_commit: { id: mr.headSha }, state: 'opened' },
});
async function deliver(event, payload, to = server) {
  const res = await fetch(`${to.url}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': SECRET },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
}

// Let the start-up GET /user land first (it is part of starting, not of a review).
const started = async (srv) => {
  await srv.api.currentUser();
  await new Promise((r) => setTimeout(r, 50));
};
await started(server);

/** Does Redis answer a PING at REDIS_URL (the shared-cache scenario runs only then)? */
async function redisAnswers() {
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

const scenarios = [];
const LATENCY_MS = 25;
const latency = [];
async function scenario(label, run, srv = server) {
  await srv.queue.drain();
  const from = lite.requests.length;
  await run();
  await srv.queue.drain();
  const calls = lite.requests.slice(from);
  const byRoute = new Map();
  for (const r of calls) byRoute.set(r.route, (byRoute.get(r.route) ?? 0) + 1);
  const statuses = lite.statuses.filter((s) => s.name === 'tierguard');
  scenarios.push({ label, byRoute, total: calls.length, files: calls.filter((r) => r.route.endsWith('/raw')).length, last: statuses.at(-1) });
}

try {
  const mr1 = lite.addMergeRequest(project.id, { base: BASE, head: head('npm test -- --coverage') });
  await scenario('first review, cold (project not seen yet)', () => deliver('Merge Request Hook', mrHook(mr1, 'open')));
  await scenario('recheck of the same sha', () => deliver('Note Hook', noteHook(mr1)));
  const oldrev = mr1.headSha;
  lite.pushToMergeRequest(mr1, head('npm test -- --coverage --ci'));
  await scenario('push to the MR (same base sha)', () => deliver('Merge Request Hook', mrHook(mr1, 'update', oldrev)));
  const mr2 = lite.addMergeRequest(project.id, { base: { ...BASE, 'README.md': 'app, moved on\n' }, head: { ...head('npm test -- --bail'), 'README.md': 'app, moved on\n' } });
  await scenario('first review, new base sha, project seen within the TTL', () => deliver('Merge Request Hook', mrHook(mr2, 'open')));
  const mr3 = lite.addMergeRequest(project.id, { baseSha: mr2.baseSha, head: { ...head('npm test -- --silent'), 'README.md': 'app, moved on\n' } });
  await scenario('first review, base sha already read', () => deliver('Merge Request Hook', mrHook(mr3, 'open')));
  const mr4 = lite.addMergeRequest(project.id, { baseSha: mr2.baseSha, head: { ...BASE, 'README.md': 'app, documented\n' } });
  await scenario('MR with no CI change', () => deliver('Merge Request Hook', mrHook(mr4, 'open')));

  // Latency: the same first review (a new MR, project cached) with every answer 25 ms away.
  // How long the MR waits, in round trips, against the calls it makes: reads that overlap
  // (head and base side by side, a file's includes at once) cost one round trip together.
  lite.latencyMs = LATENCY_MS;
  const far = lite.addProject('acme/far');
  const timed = async (label, mr, p) => {
    const t0 = process.hrtime.bigint();
    await scenario(label, () => deliver('Merge Request Hook', mrHook(mr, 'open', undefined, p)));
    latency.push({ label, ms: Number(process.hrtime.bigint() - t0) / 1e6, calls: scenarios.at(-1).total });
  };
  await timed(`first review, cold, GitLab ${LATENCY_MS} ms away`, lite.addMergeRequest(far.id, { base: BASE, head: head('npm test -- --far') }), far);
  await timed(`first review, project seen, GitLab ${LATENCY_MS} ms away`, lite.addMergeRequest(far.id, { base: { ...BASE, 'README.md': 'app, far away\n' }, head: { ...head('npm test -- --farther'), 'README.md': 'app, far away\n' } }), far);
  lite.latencyMs = 0;

  if (await redisAnswers()) {
    // Two replicas sharing Redis, keys under a prefix of their own (removed afterwards).
    const prefix = `bench-calls-${randomBytes(4).toString('hex')}`;
    const replica = () =>
      startServer({ config: serviceConfig({ REDIS_URL }), port: 0, host: '127.0.0.1', logDestination: { write() {} }, reviewer: { paceMs: 0 }, workQueue: new MemoryQueue({ concurrency: 1 }), redisQueue: { prefix } });
    const a = await replica();
    const b = await replica();
    try {
      await started(a);
      await started(b);
      const shared = lite.addProject('acme/shared');
      const first = lite.addMergeRequest(shared.id, { base: BASE, head: head('npm test -- --coverage') });
      await deliver('Merge Request Hook', mrHook(first, 'open', undefined, shared), a);
      await a.queue.drain();
      const other = lite.addMergeRequest(shared.id, { base: { ...BASE, 'README.md': 'app, moved on\n' }, head: { ...head('npm test -- --bail'), 'README.md': 'app, moved on\n' } });
      await scenario('first review on a second replica sharing Redis (new base sha; replica A reviewed the project)', () => deliver('Merge Request Hook', mrHook(other, 'open', undefined, shared), b), b);
    } finally {
      await a.close();
      await b.close();
      const { Redis } = await import('ioredis');
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
  } else console.log(`(Redis not answering at ${REDIS_URL}: the shared-cache scenario is not measured)`);
} finally {
  await server.close();
  await lite.close();
  rmSync(policyDir, { recursive: true, force: true });
}
clearTimeout(DEADLINE);

const limit = 2 * N + 6;
console.log(`GitLab API calls per review: the service (startServer, its caches) against a loopback fake GitLab, an N=${N}-file pipeline`);
const routes = [...new Set(scenarios.flatMap((s) => [...s.byRoute.keys()]))].sort();
console.log('route'.padEnd(60) + scenarios.map((_, i) => `  #${i + 1}`).join(''));
for (const r of routes) console.log(r.padEnd(60) + scenarios.map((s) => String(s.byRoute.get(r) ?? 0).padStart(5)).join(''));
console.log('total'.padEnd(60) + scenarios.map((s) => String(s.total).padStart(5)).join(''));
scenarios.forEach((s, i) => console.log(`  #${i + 1}: ${s.label} — ${s.total} calls, ${s.files} file reads (final status: ${s.last?.status ?? '-'})`));
console.log(`  target for a first review: N + N + 6 = ${limit} calls`);

const [cold, recheck, , moved, sameBase, noCi] = scenarios;
const line = (name, value, shown, met) => console.log(`target: ${name} | ${shown} | ${met ? 'met' : 'NOT MET'}`);
line(`first review, project seen within the TTL, new base sha (≤N+N+6=${limit})`, moved.total / limit, `${moved.total} calls, ${(moved.total / limit).toFixed(2)}x`, moved.total <= limit);
line(`first review, cold replica (≤N+N+6=${limit})`, cold.total / limit, `${cold.total} calls, ${(cold.total / limit).toFixed(2)}x`, cold.total <= limit);
line(`first review, base sha already read (≤N+N+6=${limit})`, sameBase.total / limit, `${sameBase.total} calls, ${(sameBase.total / limit).toFixed(2)}x`, sameBase.total <= limit);
line('recheck of an unchanged sha reads no file', recheck.files, `${recheck.files} files, ${recheck.total} calls`, recheck.files === 0);
line('MR with no CI change (reported)', noCi.total, `${noCi.total} calls`, true);
for (const l of latency) {
  const trips = l.ms / LATENCY_MS;
  console.log(`  ${l.label}: waited ${l.ms.toFixed(0)} ms, ${trips.toFixed(1)} round trips for ${l.calls} calls (${(trips / l.calls).toFixed(2)}x of one after the other)`);
}
const sharedReplica = scenarios.find((s) => s.label.startsWith('first review on a second replica'));
if (sharedReplica) line(`first review on a second replica sharing Redis (≤N+N+6=${limit})`, sharedReplica.total / limit, `${sharedReplica.total} calls, ${(sharedReplica.total / limit).toFixed(2)}x`, sharedReplica.total <= limit);
