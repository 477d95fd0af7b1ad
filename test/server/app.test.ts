import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type TierguardApp } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { createMetrics } from '../../src/server/metrics.js';
import { MemoryQueue, type ReviewJob, type WorkQueue } from '../../src/server/queue.js';
import { tokenMatches } from '../../src/server/webhook.js';
import type { GitLabApi } from '../../src/gitlab/types.js';
import { SECRET } from './helpers.js';

/** Any GitLab call made while answering a webhook is recorded (there must be none). */
function recordingApi(calls: string[]): GitLabApi {
  return new Proxy({} as GitLabApi, {
    get: (_t, prop) => () => {
      calls.push(String(prop));
      return Promise.reject(new Error('no GitLab call expected'));
    },
  });
}

class RecordingQueue implements WorkQueue {
  jobs: ReviewJob[] = [];
  private inner = new MemoryQueue();
  async enqueue(job: ReviewJob) {
    const r = await this.inner.enqueue(job);
    if (r !== 'duplicate') this.jobs.push(job);
    return r;
  }
  start(): void {}
  async drain(): Promise<void> {}
  async close(): Promise<void> {}
}

let app: TierguardApp;
let calls: string[];
let queue: RecordingQueue;
let logs: string;

async function build(opts: { bodyLimit?: number; bot?: number; acceptWhileDraining?: boolean } = {}) {
  calls = [];
  logs = '';
  queue = new RecordingQueue();
  const metrics = createMetrics();
  app = await buildApp({
    config: { WEBHOOK_SECRET: SECRET, BODY_LIMIT: opts.bodyLimit ?? 1024 * 1024 },
    api: recordingApi(calls),
    queue,
    logger: createLogger({ level: 'debug', secrets: [SECRET], destination: { write: (s: string) => void (logs += s) } }),
    metrics,
    policyLoader: { forGroup: () => { throw new Error('unused'); } },
    botUserId: () => opts.bot,
    acceptWhileDraining: opts.acceptWhileDraining,
  });
  return metrics;
}

afterEach(async () => {
  await app?.close();
});

const mrPayload = (over: Record<string, unknown> = {}) => ({
  object_kind: 'merge_request',
  user: { id: 5, username: 'ada' },
  project: { id: 3, path_with_namespace: 'g/p' },
  object_attributes: { iid: 9, action: 'open', target_project_id: 3, last_commit: { id: 'a'.repeat(40) }, extra: { anything: true }, ...over },
  unknown_field: [1, 2, 3],
});

const post = (payload: string | object, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/webhooks/gitlab',
    headers: { 'content-type': 'application/json', 'x-gitlab-token': SECRET, 'x-gitlab-event': 'Merge Request Hook', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

describe('webhook route', () => {
  it('queues an opened MR and answers 202 without calling GitLab', async () => {
    await build();
    const res = await post(mrPayload(), { 'x-gitlab-webhook-uuid': 'delivery-1' });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'queued' });
    expect(queue.jobs).toEqual([expect.objectContaining({ projectId: 3, mrIid: 9, sha: 'a'.repeat(40), reason: 'merge_request:open', deliveryId: 'delivery-1', actorId: 5 })]);
    expect(calls).toEqual([]);
    expect(logs).toContain('"deliveryId":"delivery-1"');
  });

  it.each([
    ['missing', undefined],
    ['wrong', 'not-the-secret'],
    ['a prefix of the secret', SECRET.slice(0, -1)],
    ['empty', ''],
  ])('answers 401 for a %s X-Gitlab-Token and queues nothing', async (_name, token) => {
    await build();
    const headers: Record<string, string> = token === undefined ? {} : { 'x-gitlab-token': token };
    const res = await app.inject({ method: 'POST', url: '/webhooks/gitlab', headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Merge Request Hook', ...headers }, payload: JSON.stringify(mrPayload()) });
    expect(res.statusCode).toBe(401);
    expect(queue.jobs).toHaveLength(0);
    expect(logs).not.toContain(SECRET);
  });

  it('compares tokens by value, whatever their length', () => {
    expect(tokenMatches(SECRET, SECRET)).toBe(true);
    expect(tokenMatches(`${SECRET}x`, SECRET)).toBe(false);
    expect(tokenMatches(undefined, SECRET)).toBe(false);
    expect(tokenMatches([SECRET], SECRET)).toBe(false);
    expect(tokenMatches('', SECRET)).toBe(false);
    expect(tokenMatches(SECRET.slice(0, -1), SECRET)).toBe(false);
    // Another configured secret (tests, a restart with a new one) is not compared with the old digest.
    expect(tokenMatches('jeton-secret-é-🔑', 'jeton-secret-é-🔑')).toBe(true);
    expect(tokenMatches('jeton-secret-e-🔑', 'jeton-secret-é-🔑')).toBe(false);
    expect(tokenMatches(SECRET, 'jeton-secret-é-🔑')).toBe(false);
    expect(tokenMatches(SECRET, SECRET)).toBe(true);
  });

  it('answers 400 for malformed JSON, 413 for an oversized body', async () => {
    await build({ bodyLimit: 2048 });
    const bad = await post('{"object_kind": "merge_request",');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/JSON/);
    const big = await post({ ...mrPayload(), pad: 'x'.repeat(4096) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toBe('body larger than 2048 bytes');
    expect(queue.jobs).toHaveLength(0);
  });

  it('answers 400 naming the field for a payload of the wrong shape', async () => {
    await build();
    const res = await post({ ...mrPayload(), object_attributes: { iid: 'nine', action: 'open' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^invalid payload: object_attributes\.iid: /);
    const noProject = await post({ object_kind: 'merge_request', object_attributes: { iid: 1, action: 'open' } });
    expect(noProject.json().error).toMatch(/^invalid payload: project: /);
    const arr = await post([1, 2]);
    expect(arr.statusCode).toBe(400);
    const note = await post({ object_kind: 'note', project: { id: 1 }, object_attributes: { note: '/tierguard recheck', noteable_type: 'MergeRequest' } }, { 'x-gitlab-event': 'Note Hook' });
    expect(note.statusCode).toBe(400);
    expect(note.json().error).toMatch(/merge_request/);
    expect(queue.jobs).toHaveLength(0);
  });

  it.each([
    ['Push Hook', { object_kind: 'push' }],
    ['Pipeline Hook', { object_kind: 'pipeline' }],
    ['Merge Request Hook', mrPayload({ action: 'approved' })],
    ['Merge Request Hook', mrPayload({ action: 'close' })],
    ['Merge Request Hook', mrPayload({ action: 'update' })],
    ['Note Hook', { object_kind: 'note', project: { id: 1 }, object_attributes: { note: '/tierguard recheck', noteable_type: 'Issue' } }],
    ['Note Hook', { object_kind: 'note', project: { id: 1 }, object_attributes: { note: 'nice work', noteable_type: 'MergeRequest' }, merge_request: { iid: 1 } }],
    ['Note Hook', { object_kind: 'note', project: { id: 1 }, object_attributes: { note: '/tierguard recheck', noteable_type: 'MergeRequest', system: true }, merge_request: { iid: 1 } }],
  ])('ignores %s %# with a 2xx', async (event, body) => {
    await build();
    const res = await post(body, { 'x-gitlab-event': event });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ignored');
    expect(queue.jobs).toHaveLength(0);
  });

  it('queues updates with new commits or a new target branch, and recheck notes', async () => {
    await build();
    expect((await post(mrPayload({ action: 'update', oldrev: 'b'.repeat(40) }))).statusCode).toBe(202);
    expect((await post({ ...mrPayload({ action: 'update' }), changes: { target_branch: { previous: 'dev', current: 'main' } } })).statusCode).toBe(202);
    expect((await post(mrPayload({ action: 'reopen' }))).statusCode).toBe(202);
    const note = await post(
      { object_kind: 'note', user: { id: 5 }, project: { id: 3 }, object_attributes: { note: 'hmm\n/tierguard recheck please', noteable_type: 'MergeRequest', action: 'create' }, merge_request: { iid: 9, target_project_id: 3 } },
      { 'x-gitlab-event': 'Note Hook' },
    );
    expect(note.statusCode).toBe(202);
    expect(queue.jobs.map((j) => j.reason)).toEqual(['merge_request:push', 'merge_request:target_branch', 'merge_request:reopen', 'note:recheck']);
  });

  it("ignores events caused by tierguard's own user", async () => {
    await build({ bot: 5 });
    const res = await post(mrPayload());
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ignored', reason: 'event caused by tierguard itself' });
    expect(queue.jobs).toHaveLength(0);
  });

  it('answers a repeated Idempotency-Key as a duplicate', async () => {
    const metrics = await build();
    expect((await post(mrPayload(), { 'idempotency-key': 'k1' })).statusCode).toBe(202);
    const again = await post(mrPayload(), { 'idempotency-key': 'k1' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: 'duplicate' });
    expect(queue.jobs).toHaveLength(1);
    expect(await metrics.registry.metrics()).toMatch(/tierguard_webhook_events_total\{event="Merge Request Hook",result="duplicate"\} 1/);
  });
});

describe('health, readiness, metrics', () => {
  it('answers /healthz and /readyz, and 503 on /readyz and webhooks while draining', async () => {
    await build();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    app.markDraining();
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    const res = await post(mrPayload());
    expect(res.statusCode).toBe(503);
    expect(queue.jobs).toHaveLength(0);
  });

  it('with a durable (Redis) queue, webhooks are still taken while draining; /readyz says draining', async () => {
    await build({ acceptWhileDraining: true });
    app.markDraining();
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'draining' });
    expect((await post(mrPayload())).statusCode).toBe(202);
    expect(queue.jobs).toHaveLength(1);
  });

  it('serves Prometheus metrics', async () => {
    await build();
    await post(mrPayload());
    const res = await app.inject('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/# TYPE tierguard_webhook_events_total counter/);
    expect(res.body).toMatch(/tierguard_webhook_events_total\{event="Merge Request Hook",result="queued"\} 1/);
  });
});
