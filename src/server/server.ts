/**
 * Composition root: config → logger, metrics, GitLab adapter, policy, queue, reviewer, app;
 * then listen. `startServer` is what `tierguard serve`, the e2e tests and benchmarks call.
 */
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import { createGitLabApi, type GitLabApiOptions } from '../gitlab/client.js';
import type { GitLabApi } from '../gitlab/types.js';
import { buildApp, type TierguardApp } from './app.js';
import type { ServiceConfig } from './config.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPolicyLoader, type PolicyLoader } from './policies.js';
import { MemoryQueue, type MemoryQueueOptions, type ReviewJob, type WorkQueue } from './queue.js';
import { RedisQueue, type RedisQueueOptions } from './queue-redis.js';
import { startScheduledAudit } from './audit-schedule.js';
import { createReviewer, errText, liveOptionsFromConfig, type Reviewer, type ReviewerOptions } from './review-mr.js';

export interface StartServerOptions {
  config: ServiceConfig;
  /** Overrides config.PORT / HOST (tests: port 0 on 127.0.0.1). */
  port?: number;
  host?: string;
  logDestination?: DestinationStream;
  /** Adapter tuning (tests keep retries tiny). */
  gitlab?: Partial<Omit<GitLabApiOptions, 'url' | 'token' | 'logger' | 'onCall'>>;
  queue?: Omit<MemoryQueueOptions, 'concurrency' | 'onFinalFailure' | 'onDepth' | 'onError'>;
  /** A different WorkQueue implementation instead of the one the config selects. */
  workQueue?: WorkQueue;
  /** Redis queue tuning when config.REDIS_URL is set (tests: key prefix, short locks). */
  redisQueue?: Partial<Omit<RedisQueueOptions, 'url' | 'concurrency' | 'registry' | 'onFinalFailure' | 'onDepth' | 'onError' | 'onWarning'>>;
  reviewer?: Partial<Pick<ReviewerOptions, 'paceMs' | 'today' | 'remote' | 'maxRunnerCandidates' | 'live'>>;
  /** Wait at most this long for work in progress on close (default 25 000 ms). */
  drainTimeoutMs?: number;
}

export interface RunningServer {
  url: string;
  app: TierguardApp;
  api: GitLabApi;
  queue: WorkQueue;
  reviewer: Reviewer;
  metrics: Metrics;
  logger: Logger;
  policyLoader: PolicyLoader;
  /** Stop taking webhooks, drain work in progress, close. Idempotent. */
  close(): Promise<void>;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = createLogger({ level: config.LOG_LEVEL, secrets: [config.GITLAB_TOKEN, config.WEBHOOK_SECRET], destination: opts.logDestination });
  const metrics = createMetrics({ defaultMetrics: true });
  // Invalid policy files stop the start with a PolicyError naming file, line and field.
  const policyLoader = createPolicyLoader(config.POLICY_DIR);
  const api = createGitLabApi({
    ...opts.gitlab,
    url: config.GITLAB_URL,
    token: config.GITLAB_TOKEN,
    logger: logger.child({ component: 'gitlab' }),
    onCall: metrics.onGitLabCall,
  });
  const reviewer = createReviewer({
    api,
    logger,
    metrics,
    policies: policyLoader,
    statusCheckProjects: config.STATUS_CHECK_PROJECTS,
    live: liveOptionsFromConfig(config),
    ...opts.reviewer,
  });
  const queueHooks = {
    concurrency: config.CONCURRENCY,
    onDepth: (d: number) => metrics.queueDepth.set(d),
    onError: (job: ReviewJob, err: unknown, willRetry: boolean) =>
      logger.warn({ deliveryId: job.deliveryId, project: job.projectId, mr: job.mrIid, attempt: job.attempt, willRetry, err: errText(err) }, 'review attempt failed'),
    onFinalFailure: (job: ReviewJob, err: unknown) => reviewer.reportFailure(job, err),
  };
  // One replica: in memory. REDIS_URL: BullMQ on Redis, shared by every replica.
  const queue: WorkQueue =
    opts.workQueue ??
    (config.REDIS_URL
      ? new RedisQueue({
          ...opts.queue,
          ...opts.redisQueue,
          ...queueHooks,
          url: config.REDIS_URL,
          registry: metrics.registry,
          onWarning: (msg, detail) => logger.warn(detail ?? {}, msg),
        })
      : new MemoryQueue({ ...opts.queue, ...queueHooks }));
  queue.start(async (job) => {
    await reviewer.review(job);
  });

  // Learn tierguard's own user early (its own events are then ignored at the door); a failure
  // here is not fatal: the reviewer asks again.
  let userKnown = false;
  api.currentUser().then(
    () => {
      userKnown = true;
    },
    (err: unknown) => logger.warn({ err: errText(err) }, 'could not read the GitLab user yet'),
  );

  const app = await buildApp({
    config,
    api,
    queue,
    logger,
    metrics,
    policyLoader,
    botUserId: () => reviewer.botUserId(),
    isReady: () => userKnown || reviewer.botUserId() !== undefined,
  });
  const address = await app.listen({ port: opts.port ?? config.PORT, host: opts.host ?? config.HOST });
  const { port } = app.server.address() as AddressInfo;
  const host = opts.host ?? config.HOST;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
  const audits = config.AUDIT_SCHEDULE ? await startScheduledAudit(config, policyLoader, logger) : undefined;
  logger.info({ address, gitlab: config.GITLAB_URL, concurrency: config.CONCURRENCY, policyDir: config.POLICY_DIR, queue: opts.workQueue ? 'custom' : config.REDIS_URL ? 'redis' : 'memory' }, 'tierguard listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      audits?.stop();
      app.markDraining();
      logger.info('shutting down: draining work in progress');
      await app.close();
      const timeout = opts.drainTimeoutMs ?? 25_000;
      let timer: NodeJS.Timeout | undefined;
      // A durable (Redis) queue keeps waiting jobs for the other replicas: close() only waits
      // for this replica's running jobs. The in-memory queue would drop them: drain first.
      const durable = (queue as { durable?: boolean }).durable === true;
      const timedOut = await Promise.race([
        (durable ? Promise.resolve() : queue.drain()).then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), timeout);
        }),
      ]);
      if (timer) clearTimeout(timer);
      if (timedOut) logger.warn({ timeoutMs: timeout }, 'drain timed out; pending work dropped');
      await queue.close();
      logger.info('stopped');
    })();
    return closing;
  };

  return { url, app, api, queue, reviewer, metrics, logger, policyLoader, close };
}
