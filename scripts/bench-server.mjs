#!/usr/bin/env node
// Service benchmark (run after `npm run build`): `node scripts/bench-server.mjs [--quick]`.
// Every figure is a ratio against a baseline measured in the same run, on this machine:
//   1. webhook intake (autocannon) vs a bare fastify route taking the same body;
//   2. webhook → final commit status for a typical MR against a loopback fake GitLab, vs the
//      bare engine (lintPipeline in-process) on the same files;
//   3. GitLab API calls per review, by route, for a first review, a recheck of the same sha
//      and an MR with no CI change.
// Only 127.0.0.1; every loop is bounded in count and time; the servers stop by themselves.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');
const dist = (p) => path.join(root, 'dist', p);
if (!existsSync(dist('server/server.js'))) {
  console.error('bench-server: dist/ not found: run `npm run build` first');
  process.exit(2);
}
const { startLiteGitLab } = await import(path.join(root, 'bench/fake-gitlab-lite.mjs'));

const SECRET = 'bench-webhook-secret-0123456789';
const QUICK = process.argv.includes('--quick');
const INTAKE_SECONDS = QUICK ? 2 : 3;
const INTAKE_ROUNDS = QUICK ? 2 : 4;
const E2E_RUNS = QUICK ? 5 : 15;
const ENGINE_RUNS = QUICK ? 10 : 30;
/** Hard stop for the whole bench (a hung server must not keep the machine busy). */
const DEADLINE = setTimeout(() => {
  console.error('bench-server: overall time limit (300 s) reached, stopping');
  process.exit(3);
}, 300_000);
DEADLINE.unref();

const sink = { write() {} };

function policyDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tierguard-bench-policy-'));
  writeFileSync(path.join(dir, 'default.yaml'), 'version: 1\n');
  return dir;
}

// ---------------------------------------------------------------------------------------------
// A typical MR: a ~50-line .gitlab-ci.yml with local includes; the MR adds a deploy job.

const ROOT_CI = `stages: [build, test, deploy]

include:
  - local: ci/build.yml
  - local: ci/test.yml
  - local: ci/deploy.yml

workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
    - if: $CI_COMMIT_TAG

default:
  tags: [ci-general]
  image: node:20-bookworm
  interruptible: true

variables:
  npm_config_cache: "$CI_PROJECT_DIR/.npm"
  NODE_OPTIONS: --max-old-space-size=2048

.node-cache: &node-cache
  cache:
    key:
      files: [package-lock.json]
    paths: [.npm/]
    policy: pull

lint:
  stage: test
  <<: *node-cache
  script:
    - npm ci --prefer-offline
    - npm run lint

audit:
  stage: test
  allow_failure: true
  script:
    - npm audit --audit-level=high

pages:
  stage: deploy
  script:
    - npm run docs
    - mv site public
  artifacts:
    paths: [public]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
`;
const BUILD_YML = `build:
  stage: build
  script:
    - npm ci --prefer-offline
    - npm run build
  artifacts:
    paths: [dist/]
    expire_in: 1 day
`;
const TEST_YML = `unit:
  stage: test
  needs: [build]
  script:
    - npm ci --prefer-offline
    - npm test
  coverage: '/Lines\\s*:\\s*(\\d+\\.?\\d*)%/'
`;
const DEPLOY_BASE = `review-app:
  stage: deploy
  needs: [build]
  environment:
    name: review/$CI_COMMIT_REF_SLUG
  script:
    - ./scripts/review-app.sh
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      when: manual
`;
const DEPLOY_HEAD = `${DEPLOY_BASE}
production:
  stage: deploy
  needs: [build, unit]
  tags: [ci-deploy-prod]
  environment:
    name: production
  resource_group: production
  script:
    - ./scripts/deploy.sh "$CI_COMMIT_SHA"
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: manual
`;
const BASE_FILES = { '.gitlab-ci.yml': ROOT_CI, 'ci/build.yml': BUILD_YML, 'ci/test.yml': TEST_YML, 'ci/deploy.yml': DEPLOY_BASE, 'package.json': '{}\n', 'README.md': 'app\n' };
const HEAD_FILES = { ...BASE_FILES, '.gitlab-ci.yml': ROOT_CI.replace('NODE_OPTIONS: --max-old-space-size=2048', 'NODE_OPTIONS: --max-old-space-size=4096'), 'ci/deploy.yml': DEPLOY_HEAD };
const DOCS_FILES = { ...BASE_FILES, 'README.md': 'app, documented\n' };

function mrHook(gitlabUrl, projectId, mr, action = 'open') {
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: { id: 42, name: 'Ada Lovelace', username: 'ada', avatar_url: null, email: '[REDACTED]' },
    project: { id: projectId, name: 'app', web_url: `${gitlabUrl}/acme/app`, path_with_namespace: 'acme/app', default_branch: 'main', ci_config_path: '' },
    repository: { name: 'app', url: '', description: '', homepage: '' },
    object_attributes: {
      id: projectId * 1000 + mr.iid,
      iid: mr.iid,
      target_branch: 'main',
      source_branch: mr.sourceBranch,
      source_project_id: projectId,
      target_project_id: projectId,
      author_id: 42,
      title: 'Add the production deploy',
      description: 'Adds a manual production deploy job on the default branch, and more memory for node.',
      state: 'opened',
      merge_status: 'unchecked',
      url: `${gitlabUrl}/acme/app/-/merge_requests/${mr.iid}`,
      last_commit: { id: mr.headSha, message: 'Add the production deploy', title: 'Add the production deploy', timestamp: '2024-01-01T10:04:00+00:00', url: '', author: { name: 'Ada', email: '[REDACTED]' } },
      work_in_progress: false,
      draft: false,
      action,
    },
    labels: [],
    changes: { updated_at: { previous: '2024-01-01 10:00:00 UTC', current: '2024-01-01 10:05:00 UTC' } },
  };
}
function noteHook(projectId, mr) {
  return {
    object_kind: 'note',
    event_type: 'note',
    user: { id: 42, name: 'Ada', username: 'ada' },
    project_id: projectId,
    project: { id: projectId, name: 'app', path_with_namespace: 'acme/app', default_branch: 'main', web_url: '' },
    object_attributes: { id: 1244, note: '/tierguard recheck', noteable_type: 'MergeRequest', author_id: 42, system: false, action: 'create' },
    merge_request: { id: projectId * 1000 + mr.iid, iid: mr.iid, target_project_id: projectId, state: 'opened', last_commit: { id: mr.headSha, message: 'change' } },
  };
}

// ---------------------------------------------------------------------------------------------
// Child process: one server under load (so autocannon and the server do not share a thread).

if (process.argv[2] === '--serve') {
  const kind = process.argv[3];
  const lifetime = setTimeout(() => process.exit(4), 240_000); // never outlive the parent's run
  lifetime.unref();
  let close;
  let liteRequests = () => 0;
  if (kind === 'bare') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ bodyLimit: 1024 * 1024 });
    app.post('/webhooks/gitlab', async (_req, reply) => reply.code(202).send({ status: 'queued' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.send({ port: app.server.address().port });
    close = () => app.close();
  } else {
    const lite = await startLiteGitLab();
    const { loadConfig } = await import(dist('server/config.js'));
    const { startServer } = await import(dist('server/server.js'));
    const level = kind === 'tierguard-warn' ? 'warn' : kind === 'tierguard-silent' ? 'silent' : 'info';
    // A queue that accepts and drops: intake is measured without any review (no GitLab call).
    const dropQueue = { enqueue: async () => 'queued', start() {}, drain: async () => {}, close: async () => {} };
    const server = await startServer({
      config: loadConfig({ GITLAB_URL: lite.url, GITLAB_TOKEN: lite.token, WEBHOOK_SECRET: SECRET, POLICY_DIR: policyDir(), LOG_LEVEL: level }),
      port: 0,
      host: '127.0.0.1',
      logDestination: sink,
      workQueue: dropQueue,
    });
    process.send({ port: Number(new URL(server.url).port) });
    liteRequests = () => lite.requests.length;
    close = async () => {
      await server.close();
      await lite.close();
    };
  }
  process.on('message', async (msg) => {
    if (msg === 'stop') {
      const gitlabCalls = liteRequests();
      await close();
      process.send({ stopped: true, gitlabCalls });
      process.exit(0);
    }
  });
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------

async function serve(kind) {
  const child = fork(self, ['--serve', kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${kind} server did not start in 30 s`)), 30_000);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve(m.port);
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve({});
        }, 10_000);
        child.on('message', (m) => {
          if (m.stopped) {
            clearTimeout(t);
            resolve(m);
          }
        });
        child.send('stop');
      }),
  };
}

async function load(port, body, seconds) {
  const { default: autocannon } = await import('autocannon');
  const opts = {
    url: `http://127.0.0.1:${port}/webhooks/gitlab`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET },
    body,
    connections: 10,
    pipelining: 1,
  };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  const r = await autocannon({ ...opts, duration: seconds });
  return { rps: r.requests.average, p99: r.latency.p99, p50: r.latency.p50, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, total: r.requests.total };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function f1(n) {
  return n.toFixed(1);
}
function f2(n) {
  return n.toFixed(2);
}

async function main() {
  console.log(`tierguard service bench — node ${process.version}, ${QUICK ? 'quick' : 'full'} run`);

  // 1. Webhook intake ------------------------------------------------------------------------
  const body = JSON.stringify(mrHook('http://127.0.0.1:1', 1, { iid: 7, sourceBranch: 'feature-7', headSha: 'a'.repeat(40) }));
  console.log(`\n1. Webhook intake: autocannon, 10 connections, ${INTAKE_ROUNDS} paired rounds × ${INTAKE_SECONDS} s per server, body ${body.length} bytes; queue accepts and drops`);
  // The machine may be shared: paired rounds. All servers stay up (idle ones cost nothing);
  // each round measures every server back to back in a rotated order, ratios are taken
  // within a round and the median over rounds is reported.
  const kinds = ['bare', 'tierguard', 'tierguard-warn', 'tierguard-silent'];
  const servers = {};
  for (const kind of kinds) servers[kind] = await serve(kind);
  const runs = {};
  try {
    for (let round = 0; round < INTAKE_ROUNDS; round++) {
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
      for (const kind of order) (runs[kind] ??= []).push(await load(servers[kind].port, body, INTAKE_SECONDS));
    }
  } finally {
    for (const kind of kinds) servers[kind].gitlabCalls = (await servers[kind].stop()).gitlabCalls;
  }
  const results = {};
  for (const kind of kinds) {
    const rs = runs[kind];
    results[kind] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      timeouts: rs.reduce((a, r) => a + r.timeouts, 0),
      gitlabCalls: servers[kind].gitlabCalls,
      rpsRatio: median(rs.map((r, i) => r.rps / runs.bare[i].rps)),
      p99Ratio: median(rs.map((r, i) => r.p99 / Math.max(runs.bare[i].p99, 1))),
      spread: rs.map((r, i) => f2(r.rps / runs.bare[i].rps)).join(' '),
    };
  }
  console.log('server'.padEnd(34) + 'req/s'.padStart(10) + 'p50 ms'.padStart(8) + 'p99 ms'.padStart(8) + '  non-2xx  errors  GitLab calls');
  for (const [kind, label] of [
    ['bare', 'bare fastify route (baseline)'],
    ['tierguard', 'tierguard (LOG_LEVEL=info)'],
    ['tierguard-warn', 'tierguard (LOG_LEVEL=warn)'],
    ['tierguard-silent', 'tierguard (LOG_LEVEL=silent)'],
  ]) {
    const r = results[kind];
    console.log(
      label.padEnd(34) + f1(r.rps).padStart(10) + String(r.p50).padStart(8) + String(r.p99).padStart(8) + String(r.non2xx).padStart(9) + String(r.errors + r.timeouts).padStart(8) + String(r.gitlabCalls ?? '-').padStart(14),
    );
  }
  for (const kind of ['tierguard', 'tierguard-warn', 'tierguard-silent']) {
    const r = results[kind];
    const ratio = r.rpsRatio;
    console.log(`  ${kind}: throughput ${f2(ratio)} of bare (median of per-round ratios ${r.spread}; target ≥ 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'}), p99 ${f2(r.p99Ratio)}× bare's`);
  }
  console.log('  (GitLab calls: all made by the tierguard process during the run — only GET /user at start: the webhook path answers before any GitLab call)');
  console.log('  info vs warn: the cost of the one info line per delivery ("webhook accepted"; fastify\'s own request lines are off);');
  console.log('  warn vs silent: the cost of the per-request child logger; silent vs bare: token check, zod classification, metrics, request id.');

  // 2. Webhook → final status ---------------------------------------------------------------
  const { loadConfig } = await import(dist('server/config.js'));
  const { startServer } = await import(dist('server/server.js'));
  const { lintPipeline } = await import(dist('rules/run.js'));
  const { MemorySource } = await import(dist('model/source.js'));
  const { builtinPolicy } = await import(dist('policy/defaults.js'));

  const lite = await startLiteGitLab();
  const project = lite.addProject('acme/app');
  const server = await startServer({
    config: loadConfig({ GITLAB_URL: lite.url, GITLAB_TOKEN: lite.token, WEBHOOK_SECRET: SECRET, POLICY_DIR: policyDir(), LOG_LEVEL: 'warn', CONCURRENCY: '1' }),
    port: 0,
    host: '127.0.0.1',
    logDestination: sink,
    reviewer: { paceMs: 0 },
  });
  const deliver = async (event, payload) => {
    const res = await fetch(`${server.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': SECRET },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
  };
  /** Resolves when a final (success/failed) tierguard status for `sha` is posted; 30 s at most. */
  const finalStatus = (sha) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        lite.onRequest = undefined;
        reject(new Error(`no final status for ${sha.slice(0, 8)} within 30 s`));
      }, 30_000);
      lite.onRequest = () => {
        const last = lite.statuses.filter((s) => s.sha === sha && s.name === 'tierguard').at(-1);
        if (last && (last.status === 'success' || last.status === 'failed')) {
          clearTimeout(t);
          lite.onRequest = undefined;
          resolve(last);
        }
      };
    });

  try {
    const times = [];
    let outcome;
    for (let i = 0; i < 2 + E2E_RUNS; i++) {
      const mr = lite.addMergeRequest(project.id, { base: BASE_FILES, head: HEAD_FILES }); // new shas: a cold FileCache each time
      const done = finalStatus(mr.headSha);
      const t0 = process.hrtime.bigint();
      await deliver('Merge Request Hook', mrHook(lite.url, project.id, mr));
      outcome = await done;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= 2) times.push(ms); // the first two warm up
      await server.queue.drain();
    }
    const policy = builtinPolicy();
    const engine = [];
    for (let i = 0; i < 3 + ENGINE_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      await lintPipeline(new MemorySource(HEAD_FILES), '.gitlab-ci.yml', { policy, defaultBranch: 'main', today: new Date() });
      if (i >= 3) engine.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const e2e = median(times);
    const eng = median(engine);
    console.log(`\n2. Webhook → final commit status, typical MR (${ROOT_CI.split('\n').length}-line .gitlab-ci.yml + 3 local includes; the MR adds a deploy job), loopback fake, paceMs 0, median of ${E2E_RUNS}`);
    console.log(`  final status: ${outcome.status} "${outcome.description}"`);
    console.log(`  webhook → final status   ${f2(e2e).padStart(8)} ms   (min ${f2(Math.min(...times))}, max ${f2(Math.max(...times))})`);
    console.log(`  bare engine (lintPipeline, head files, in-process, median of ${ENGINE_RUNS}) ${f2(eng)} ms`);
    console.log(`  ratio: ${f1(e2e / eng)}× one engine run; ${f1(e2e / (2 * eng))}× the two the review needs (head + base)`);
    console.log('  (the service pauses paceMs, default 1000 ms, between GitLab writes: add it per write in production)');

    // 3. API calls per review ---------------------------------------------------------------
    const byRoute = (from) => {
      const out = new Map();
      for (const r of lite.requests.slice(from)) out.set(r.route, (out.get(r.route) ?? 0) + 1);
      return out;
    };
    const scenario = async (label, run) => {
      await server.queue.drain();
      const mark = lite.requests.length;
      await run();
      await server.queue.drain();
      return { label, calls: byRoute(mark) };
    };
    const first = lite.addMergeRequest(project.id, { base: BASE_FILES, head: HEAD_FILES });
    const scenarios = [
      await scenario('first review (CI change)', async () => {
        const done = finalStatus(first.headSha);
        await deliver('Merge Request Hook', mrHook(lite.url, project.id, first));
        await done;
      }),
      await scenario('recheck, same sha (/tierguard recheck)', () => deliver('Note Hook', noteHook(project.id, first))),
      await scenario('MR with no CI change (README only)', async () => {
        const docs = lite.addMergeRequest(project.id, { base: BASE_FILES, head: DOCS_FILES });
        const done = finalStatus(docs.headSha);
        await deliver('Merge Request Hook', mrHook(lite.url, project.id, docs));
        await done;
      }),
    ];
    const allRoutes = [...new Set(scenarios.flatMap((s) => [...s.calls.keys()]))].sort();
    console.log('\n3. GitLab API calls per review (by route)');
    console.log('route'.padEnd(62) + scenarios.map((_, i) => `  #${i + 1}`).join(''));
    for (const r of allRoutes) console.log(r.padEnd(62) + scenarios.map((s) => String(s.calls.get(r) ?? 0).padStart(5)).join(''));
    console.log('total'.padEnd(62) + scenarios.map((s) => String([...s.calls.values()].reduce((a, n) => a + n, 0)).padStart(5)).join(''));
    scenarios.forEach((s, i) => console.log(`  #${i + 1}: ${s.label}`));
    console.log(`
  (the project and its protected refs are cached per project for LIVE_CACHE_TTL_SECONDS: the
  project was seen by the runs of part 2; scripts/bench-calls.mjs counts a cold replica too)
  Could be cached or skipped:
  - A recheck of the same sha re-reads the MR, its changes and discussions (needed: the MR may have
    moved, the recheck note makes the MR's user_notes_count non-zero) but no file: the
    FileCache already serves every raw read at an immutable sha.
  - The 'running' status is a write per judged review (an MR without a configuration change
    gets only its 'success'); it keeps the MR from merging while tierguard judges, so it stays.
  - Skipped already: the discussions listing while GitLab's user_notes_count is 0 (a new MR).`);
  } finally {
    await server.close();
    await lite.close();
  }
  clearTimeout(DEADLINE);
}
