/**
 * The fastify app: webhook route, health, readiness and metrics. `buildApp` returns the app
 * without listening (tests use `app.inject()`); server.ts listens.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GitLabApi } from '../gitlab/types.js';
import type { ServiceConfig } from './config.js';
import type { Metrics } from './metrics.js';
import type { PolicyLoader } from './policies.js';
import type { WorkQueue } from './queue.js';
import { classify, projectSignal, tokenMatches, type ProjectSignal } from './webhook.js';

export interface AppDeps {
  config: Pick<ServiceConfig, 'WEBHOOK_SECRET' | 'BODY_LIMIT'> & Partial<ServiceConfig>;
  api: GitLabApi;
  queue: WorkQueue;
  logger: Logger;
  metrics: Metrics;
  policyLoader: PolicyLoader;
  /** tierguard's GitLab user id once known: its own events are ignored without a GitLab call. */
  botUserId?: () => number | undefined;
  /** Readiness beyond "not shutting down" (e.g. the GitLab user was fetched). */
  isReady?: () => boolean;
  /** Why the service cannot work at all (e.g. GitLab rejected the token): /readyz answers 503 with it. */
  notReadyReason?: () => string | undefined;
  /** While draining, still take webhooks (the queue is durable: another replica reviews them). */
  acceptWhileDraining?: boolean;
  /**
   * A delivery said a project changed, or showed its current settings (cached reads drop it).
   * Awaited before the delivery is queued; must not reject.
   */
  onProjectSignal?: (signal: ProjectSignal) => void | Promise<void>;
}

export interface TierguardApp extends FastifyInstance {
  /** Stop answering ready (graceful shutdown starts). */
  markDraining(): void;
}

/** The body of a delivery over BODY_LIMIT (read and discarded): answered 413. */
const TOO_LARGE = Symbol('body too large');

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : undefined;
};

export async function buildApp(deps: AppDeps): Promise<TierguardApp> {
  const { metrics, queue } = deps;
  let draining = false;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.config.BODY_LIMIT,
    // Every log line of a delivery carries its id (GitLab's per-delivery UUID, else the
    // Idempotency-Key, else a fresh one).
    // One line per delivery is enough ("webhook accepted"/"rejected"/"ignored", with its
    // delivery id): fastify's two generic request lines tripled the logging cost of intake.
    logController: new LogController({ requestIdLogLabel: 'deliveryId', disableRequestLogging: true }),
    genReqId: (req) => {
      const h = (n: string) => {
        const v = req.headers[n];
        return typeof v === 'string' && /^[\w.:-]{1,200}$/.test(v) ? v : undefined;
      };
      return h('x-gitlab-webhook-uuid') ?? h('idempotency-key') ?? h('x-gitlab-event-uuid') ?? randomUUID();
    },
    return503OnClosing: true,
  }) as unknown as TierguardApp;
  app.decorate('markDraining', () => {
    draining = true;
  });

  // Errors from the body parser (malformed JSON 400, too large 413, wrong content type 415)
  // keep their status; anything else is a 500 without internals.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err: err.message }, 'request failed');
    else req.log.info({ code: err.code, status }, 'request rejected');
    const event = header(req, 'x-gitlab-event') ?? 'unknown';
    if (req.url.startsWith('/webhooks/')) metrics.webhookEvents.inc({ event, result: status === 413 ? 'too_large' : 'invalid' });
    const message =
      status === 413
        ? `body larger than ${deps.config.BODY_LIMIT} bytes`
        : status === 500
          ? 'internal error'
          : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
            ? `malformed JSON: ${err.message}`
            : err.message;
    void reply.code(status).send({ error: message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (draining) return reply.code(503).send({ status: 'draining' });
    const reason = deps.notReadyReason?.();
    if (reason) return reply.code(503).send({ status: 'unavailable', reason });
    const ready = deps.isReady?.() ?? true;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'starting' });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  const bodyLimit = deps.config.BODY_LIMIT;
  await app.register(async (hooks) => {
    // fastify's JSON parser answers a too-large body with 413 *and* `Connection: close` before
    // the client has finished sending, so the sender sees EPIPE / a reset instead of the 413.
    // Read and discard the rest of an oversized body (up to a hard cap), then answer 413 on an
    // open connection; only a body past the cap is cut off.
    hooks.removeContentTypeParser('application/json');
    hooks.addContentTypeParser('application/json', (req, payload, done) => {
      const hardCap = Math.max(8 * bodyLimit, 8 * 1024 * 1024);
      if (Number(req.headers['content-length'] ?? 0) > hardCap) return done(Object.assign(new Error('body too large'), { statusCode: 413 }), undefined);
      const chunks: Buffer[] = [];
      let size = 0;
      let finished = false;
      const finish = (err: Error | null, body?: unknown): void => {
        if (finished) return;
        finished = true;
        done(err, body);
      };
      payload.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > hardCap) {
          finish(Object.assign(new Error('body too large'), { statusCode: 413 }));
          return;
        }
        if (size <= bodyLimit) chunks.push(chunk);
        else chunks.length = 0;
      });
      payload.on('error', (err: Error) => finish(Object.assign(err, { statusCode: 400 })));
      payload.on('end', () => {
        if (size > bodyLimit) return finish(null, TOO_LARGE);
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          finish(null, JSON.parse(text));
        } catch (err) {
          finish(Object.assign(err as Error, { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }));
        }
      });
    });

    // Authenticate before the body is read: a wrong or missing token costs no parsing.
    hooks.addHook('onRequest', async (req, reply) => {
      if (!tokenMatches(req.headers['x-gitlab-token'], deps.config.WEBHOOK_SECRET)) {
        metrics.webhookEvents.inc({ event: header(req, 'x-gitlab-event') ?? 'unknown', result: 'unauthorized' });
        req.log.warn('webhook rejected: wrong or missing X-Gitlab-Token');
        return reply.code(401).send({ error: 'invalid or missing X-Gitlab-Token' });
      }
    });

    hooks.post('/webhooks/gitlab', async (req, reply) => {
      const event = header(req, 'x-gitlab-event');
      const eventLabel = event ?? 'unknown';
      if (req.body === TOO_LARGE) {
        metrics.webhookEvents.inc({ event: eventLabel, result: 'too_large' });
        req.log.info({ status: 413 }, 'request rejected');
        return reply.code(413).send({ error: `body larger than ${bodyLimit} bytes` });
      }
      if (draining && !deps.acceptWhileDraining) {
        metrics.webhookEvents.inc({ event: eventLabel, result: 'draining' });
        return reply.code(503).header('retry-after', '5').send({ error: 'shutting down' });
      }
      if (deps.onProjectSignal) {
        const signal = projectSignal(event, req.body);
        if (signal) await deps.onProjectSignal(signal);
      }
      const c = classify(event, req.body, {
        deliveryId: req.id,
        idempotencyKey: header(req, 'idempotency-key'),
        receivedAt: Date.now(),
      });
      if (c.kind === 'invalid') {
        metrics.webhookEvents.inc({ event: eventLabel, result: 'invalid' });
        req.log.info({ reason: c.message }, 'webhook payload rejected');
        return reply.code(400).send({ error: c.message });
      }
      if (c.kind === 'ignore') {
        metrics.webhookEvents.inc({ event: eventLabel, result: 'ignored' });
        req.log.debug({ reason: c.reason }, 'webhook ignored');
        return reply.code(200).send({ status: 'ignored', reason: c.reason });
      }
      const bot = deps.botUserId?.();
      if (bot !== undefined && c.actorId === bot) {
        metrics.webhookEvents.inc({ event: eventLabel, result: 'ignored' });
        return reply.code(200).send({ status: 'ignored', reason: 'event caused by tierguard itself' });
      }
      const result = (await queue.enqueue(c.job)) ?? 'queued';
      metrics.webhookEvents.inc({ event: eventLabel, result });
      req.log.info({ project: c.job.projectId, mr: c.job.mrIid, sha: c.job.sha, reason: c.job.reason, result }, 'webhook accepted');
      return reply.code(result === 'duplicate' ? 200 : 202).send({ status: result });
    });
  });

  return app;
}
