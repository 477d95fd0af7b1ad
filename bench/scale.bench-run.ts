/**
 * Scale-out benchmark (scripts/bench-scale.mjs runs it; not part of `npm test`): end-to-end
 * MRs evaluated per second against the loopback fake GitLab, with one and with two tierguard
 * instances sharing Redis, each instance its own process running the built service (dist/).
 * Throughput = MRs / (first webhook delivery → last MR carrying its final commit status).
 * Figures only, no timing assertions; the run fails only if an MR ends without a final status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitLab, type FakeGitLab, type FakeMergeRequest } from '../test/support/fake-gitlab.js';
import { CLEAN_CI, SECRET, UNSAFE_CI, mrHook, policyDir } from '../test/server/helpers.js';
import { REDIS_URL, ensureRedis } from '../test/server/redis-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const MRS = Number(process.env.BENCH_MRS ?? 60);
const WARMUP = 6;
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? '4';
/** Pause between GitLab writes (production default 1 000 ms): 0 measures CPU, > 0 the I/O-bound case. */
const PACES = (process.env.BENCH_PACE_MS ?? '0,250').split(',').map(Number);

let gl: FakeGitLab;
let policies: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureRedis();
  gl = await startFakeGitLab();
  policies = policyDir();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await gl?.close();
});

async function startInstance(prefix: string | undefined, paceMs: number): Promise<{ url: string; stop(): Promise<void> }> {
  const env: Record<string, string> = {
    GITLAB_URL: gl.url,
    GITLAB_TOKEN: gl.token,
    WEBHOOK_SECRET: SECRET,
    POLICY_DIR: policies,
    LOG_LEVEL: 'warn',
    CONCURRENCY,
    ...(prefix ? { REDIS_URL } : {}),
  };
  const child = spawn(process.execPath, [join(here, 'instance.mjs'), JSON.stringify({ env, prefix, paceMs })], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const url = await new Promise<string>((ok, fail) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      if (l.startsWith('READY ')) ok(l.slice(6).trim());
    });
    child.once('exit', (code) => fail(new Error(`instance exited with ${code} before it was ready`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

function makeMrs(n: number, tag: string): FakeMergeRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const p = gl.addProject({ path: `bench-${tag}/app${i}` });
    const head = i % 2 ? CLEAN_CI.replace('make test', `make test-${i}`) : UNSAFE_CI.replace('./deploy.sh', `./deploy.sh ${i}`);
    return gl.addMergeRequest(p.id, { base: { '.gitlab-ci.yml': CLEAN_CI }, head: { '.gitlab-ci.yml': head }, headPipeline: true });
  });
}

const finished = (mr: FakeMergeRequest): boolean =>
  gl.state.statuses.some((s) => s.projectId === mr.projectId && s.sha === mr.headSha && s.name === 'tierguard' && (s.state === 'success' || s.state === 'failed'));

async function deliverAll(urls: string[], mrs: FakeMergeRequest[]): Promise<void> {
  await Promise.all(
    mrs.map(async (mr, i) => {
      const res = await fetch(`${urls[i % urls.length]}/webhooks/gitlab`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-token': SECRET },
        body: JSON.stringify(mrHook(gl, mr, { action: 'open' })),
      });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
    }),
  );
}

async function waitAll(mrs: FakeMergeRequest[], limitMs = 300_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!mrs.every(finished)) {
    if (Date.now() > end) throw new Error(`${mrs.filter((m) => !finished(m)).length} MRs without a final status`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** MRs evaluated per second with `instances` replicas (0 Redis → in-memory, one instance). */
async function measure(label: string, instances: number, redis: boolean, paceMs: number): Promise<{ label: string; instances: number; mrs: number; seconds: number; perSecond: number }> {
  const prefix = redis ? `tgbench-${randomBytes(4).toString('hex')}` : undefined;
  const started = await Promise.all(Array.from({ length: instances }, () => startInstance(prefix, paceMs)));
  const urls = started.map((s) => s.url);
  try {
    const warm = makeMrs(WARMUP, `${label}-${paceMs}-warm`);
    await deliverAll(urls, warm);
    await waitAll(warm);
    const mrs = makeMrs(MRS, `${label}-${paceMs}`);
    const t0 = process.hrtime.bigint();
    await deliverAll(urls, mrs);
    await waitAll(mrs);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { label, instances, mrs: MRS, seconds, perSecond: MRS / seconds };
  } finally {
    await Promise.all(started.map((s) => s.stop()));
    if (prefix) {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
  }
}

describe('scale-out throughput', () => {
  it('MRs evaluated per second: in memory, one and two instances on Redis', async () => {
    const scenarios: { paceMs: number; rows: Awaited<ReturnType<typeof measure>>[]; ratioTwoToOne: number }[] = [];
    const lines = [`scale bench: ${MRS} MRs per run, CONCURRENCY=${CONCURRENCY} per instance, ${cpus().length} CPUs, loopback fake GitLab in the driver process`];
    for (const paceMs of PACES) {
      const rows = [await measure('memory-1', 1, false, paceMs), await measure('redis-1', 1, true, paceMs), await measure('redis-2', 2, true, paceMs)];
      const ratio = rows[2].perSecond / rows[1].perSecond;
      scenarios.push({ paceMs, rows, ratioTwoToOne: ratio });
      lines.push(
        `  paceMs=${paceMs} (pause between GitLab writes)`,
        ...rows.map((r) => `    ${r.label.padEnd(9)} ${r.instances} instance(s): ${r.perSecond.toFixed(1).padStart(7)} MRs/s  (${r.seconds.toFixed(2)} s)`),
        `    two instances / one instance (Redis): ${ratio.toFixed(2)}x`,
      );
      expect(rows.every((r) => r.perSecond > 0)).toBe(true);
    }
    console.log(lines.join('\n'));
    if (process.env.BENCH_SCALE_OUT) writeFileSync(resolve(process.env.BENCH_SCALE_OUT), JSON.stringify({ concurrency: Number(CONCURRENCY), scenarios, text: lines.join('\n') }, null, 2));
  });
});
