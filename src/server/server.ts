/**
 * Composition root: config → logger, metrics, GitLab adapter, policy, queue, reviewer, app;
 * then listen. `startServer` is what `tierguard serve`, the e2e tests and benchmarks call.
 */
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import { withProjectCache } from '../gitlab/cached-api.js';
import { createGitLabApi, type GitLabApiOptions } from '../gitlab/client.js';
import { ProjectCache } from '../gitlab/project-cache.js';
import type { GitLabApi } from '../gitlab/types.js';
import { buildApp, type TierguardApp } from './app.js';
import type { ServiceConfig } from './config.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPolicyLoader, type PolicyLoader } from './policies.js';
import { MemoryQueue, type FinalFailureInfo, type MemoryQueueOptions, type ReviewJob, type WorkQueue } from './queue.js';
import { RedisProjectStore, throttled, type RedisProjectStoreOptions } from './project-cache-redis.js';
import { RedisQueue, type RedisQueueOptions } from './queue-redis.js';
import { createReconciler, type Reconciler, type ReconcilerOptions } from './reconcile.js';
import { failureKind } from './retry-policy.js';
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
  /** Catch-up tuning (tests: a virtual clock, no timer). */
  reconcile?: Partial<Omit<ReconcilerOptions, 'api' | 'queue' | 'logger' | 'metrics'>>;
  /** A different WorkQueue implementation instead of the one the config selects. */
  workQueue?: WorkQueue;
  /** Redis queue tuning when config.REDIS_URL is set (tests: key prefix, short locks). */
  redisQueue?: Partial<Omit<RedisQueueOptions, 'url' | 'concurrency' | 'registry' | 'onFinalFailure' | 'onDepth' | 'onError' | 'onWarning'>>;
  /** The shared project cache when config.REDIS_URL is set (tests: key prefix, an unreachable URL); prefix defaults to redisQueue.prefix. */
  sharedCache?: Partial<Omit<RedisProjectStoreOptions, 'onWarning'>>;
  reviewer?: Partial<Pick<ReviewerOptions, 'paceMs' | 'today' | 'remote' | 'maxRunnerCandidates' | 'live'>>;
  /** Wait at most this long for work in progress on close (default SHUTDOWN_TIMEOUT_SECONDS, 25 s). */
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
  /** The catch-up of open MRs without a final status (undefined when RECONCILE_INTERVAL_SECONDS=0). */
  reconciler?: Reconciler;
  /**
   * Graceful drain, then close. `/readyz` answers 503 "draining" at once while the listener
   * stays open; webhooks are still accepted into a durable (Redis) queue, else answered 503
   * (GitLab delivers them again); reviews in flight finish (bounded by the drain timeout);
   * then the listener closes. Idempotent.
   */
  close(): Promise<void>;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = createLogger({ level: config.LOG_LEVEL, secrets: [config.GITLAB_TOKEN, config.WEBHOOK_SECRET], destination: opts.logDestination });
  const metrics = createMetrics({ defaultMetrics: true });
  // Invalid policy files stop the start with a PolicyError naming file, line and field.
  const policyLoader = createPolicyLoader(config.POLICY_DIR);
  // A wrong or revoked GITLAB_TOKEN: every call answers 401. /readyz says so at once (503 with
  // the reason) and one error line is logged; the first successful call clears it.
  let tokenRejected: string | undefined;
  const onCall = (route: string, status: number, ms: number): void => {
    metrics.onGitLabCall(route, status, ms);
    if (status === 401) {
      if (tokenRejected === undefined) logger.error({ route }, 'GitLab rejected GITLAB_TOKEN (401 Unauthorized): nothing can be reviewed until the token is replaced');
      tokenRejected = `GitLab rejected GITLAB_TOKEN (401 Unauthorized on ${route})`;
    } else if (status >= 200 && status < 300) tokenRejected = undefined;
  };
  const gitlab = createGitLabApi({
    ...opts.gitlab,
    url: config.GITLAB_URL,
    token: config.GITLAB_TOKEN,
    logger: logger.child({ component: 'gitlab' }),
    onCall,
  });
  // One per-project TTL cache (LIVE_CACHE_TTL_SECONDS) for the project, its protected refs, the
  // project policy file and the live checks' reads; GET /user once per process; webhooks that
  // say a project changed drop its entries (src/gitlab/cached-api.ts says which GitLab sends).
  // With REDIS_URL the entries live in Redis, shared by every replica (an invalidation reaches
  // them all); Redis trouble only costs GitLab calls (./project-cache-redis.ts).
  const cacheWarning = throttled((msg, detail) => logger.warn(detail, msg));
  const sharedCache =
    config.REDIS_URL && config.LIVE_CACHE_TTL_SECONDS > 0
      ? new RedisProjectStore({
          prefix: opts.redisQueue?.prefix,
          // Answers are about this GitLab and this token: shared only by replicas with both.
          scope: `${config.GITLAB_URL}\0${config.GITLAB_TOKEN}`,
          ...opts.sharedCache,
          url: opts.sharedCache?.url ?? config.REDIS_URL,
          onWarning: cacheWarning,
        })
      : undefined;
  // Connected before the first review when Redis answers (bounded: a start never waits on it).
  await sharedCache?.ready(2000);
  const projectCache = new ProjectCache({ ttlMs: config.LIVE_CACHE_TTL_SECONDS * 1000, ...(sharedCache ? { shared: sharedCache, onWarning: cacheWarning } : {}) });
  const api = withProjectCache(gitlab, projectCache);
  const live = liveOptionsFromConfig(config);
  const reviewer = createReviewer({
    api,
    logger,
    metrics,
    policies: policyLoader,
    statusCheckProjects: config.STATUS_CHECK_PROJECTS,
    live,
    projectCache,
    ...opts.reviewer,
  });
  const queueHooks = {
    concurrency: config.CONCURRENCY,
    onDepth: (d: number) => metrics.queueDepth.set(d),
    onError: (job: ReviewJob, err: unknown, willRetry: boolean) => {
      if (willRetry) metrics.reviewsRetried.inc({ kind: failureKind(err) });
      logger.warn({ deliveryId: job.deliveryId, project: job.projectId, mr: job.mrIid, attempt: job.attempt, willRetry, err: errText(err) }, 'review attempt failed');
    },
    onFinalFailure: (job: ReviewJob, err: unknown, info: FinalFailureInfo) => {
      metrics.reviewsAbandoned.inc({ kind: info.kind });
      logger.error({ deliveryId: job.deliveryId, project: job.projectId, mr: job.mrIid, attempt: job.attempt, why: info.why, err: errText(err) }, 'review abandoned');
      return reviewer.reportFailure(job, err, info);
    },
  };
  const drainTimeoutMs = opts.drainTimeoutMs ?? config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
  const retryWindowMs = config.RETRY_WINDOW_SECONDS * 1000;
  // One replica: in memory. REDIS_URL: BullMQ on Redis, shared by every replica.
  const queue: WorkQueue =
    opts.workQueue ??
    (config.REDIS_URL
      ? new RedisQueue({
          retryWindowMs,
          closeTimeoutMs: drainTimeoutMs,
          ...opts.queue,
          ...opts.redisQueue,
          ...queueHooks,
          url: config.REDIS_URL,
          registry: metrics.registry,
          onWarning: (msg, detail) => logger.warn(detail ?? {}, msg),
        })
      : new MemoryQueue({ retryWindowMs, ...opts.queue, ...queueHooks }));
  queue.start(async (job) => {
    await reviewer.review(job);
  });

  // Learn tierguard's own user early (its own events are then ignored at the door); a failure
  // here is not fatal: the reviewer asks again.
  let userKnown = false;
  let lastUserCheck = 0;
  // The first look fills the process-wide cache; a later one (token rejected) asks GitLab again.
  const checkUser = (again = false): void => {
    lastUserCheck = Date.now();
    (again ? gitlab : api).currentUser().then(
      () => {
        userKnown = true;
      },
      (err: unknown) => {
        if (tokenRejected === undefined) logger.warn({ err: errText(err) }, 'could not read the GitLab user yet');
      },
    );
  };
  checkUser();

  const app = await buildApp({
    config,
    api,
    queue,
    logger,
    metrics,
    policyLoader,
    botUserId: () => reviewer.botUserId(),
    isReady: () => userKnown || reviewer.botUserId() !== undefined,
    notReadyReason: () => {
      if (tokenRejected === undefined) return undefined;
      // Look again now and then, so a replaced token (a restarted secret mount) turns ready.
      if (Date.now() - lastUserCheck > 30_000) checkUser(true);
      return tokenRejected;
    },
    acceptWhileDraining: queue.durable === true,
    // Awaited before the delivery is queued, so the review (on any replica) sees the drop.
    onProjectSignal: (signal) => (signal.kind === 'changed' ? api.invalidateProject(signal.projectId) : api.projectSeen(signal.projectId, signal)),
  });
  const address = await app.listen({ port: opts.port ?? config.PORT, host: opts.host ?? config.HOST });
  const { port } = app.server.address() as AddressInfo;
  const host = opts.host ?? config.HOST;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
  const audits = config.AUDIT_SCHEDULE ? await startScheduledAudit(config, policyLoader, logger) : undefined;
  logger.info({ address, gitlab: config.GITLAB_URL, concurrency: config.CONCURRENCY, policyDir: config.POLICY_DIR, queue: opts.workQueue ? 'custom' : config.REDIS_URL ? 'redis' : 'memory' }, 'tierguard listening');

  // Catch-up: on start and every RECONCILE_INTERVAL_SECONDS, open MRs without a final status.
  const reconcileEvery = opts.reconcile?.intervalMs ?? config.RECONCILE_INTERVAL_SECONDS * 1000;
  const reconciler =
    reconcileEvery > 0
      ? createReconciler({
          api,
          queue,
          logger: logger.child({ component: 'reconcile' }),
          metrics,
          lookbackDays: config.RECONCILE_LOOKBACK_DAYS,
          ...opts.reconcile,
          intervalMs: reconcileEvery,
        })
      : undefined;
  reconciler?.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      audits?.stop();
      // Not ready at once (Kubernetes takes the pod out of the Service), but the listener stays
      // open: /readyz answers 503 "draining", and webhooks either go to Redis or get a 503.
      app.markDraining();
      reconciler?.stop();
      logger.info({ timeoutMs: drainTimeoutMs }, 'shutting down: draining work in progress');
      let timer: NodeJS.Timeout | undefined;
      // A durable (Redis) queue keeps waiting jobs for the other replicas: close() only waits
      // for this replica's running jobs (bounded by its closeTimeoutMs). The in-memory queue
      // would drop them: drain first.
      const timedOut = await Promise.race([
        (queue.durable === true
          ? ((queue as { stopWorker?: () => Promise<void> }).stopWorker?.() ?? queue.close())
          : ((queue as { drainActive?: () => Promise<void> }).drainActive?.() ?? queue.drain())
        ).then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), drainTimeoutMs);
        }),
      ]);
      if (timer) clearTimeout(timer);
      if (timedOut) logger.warn({ timeoutMs: drainTimeoutMs }, 'drain timed out; work not finished is left to the catch-up');
      await reconciler?.idle();
      await app.close();
      await queue.close();
      await sharedCache?.close();
      logger.info('stopped');
    })();
    return closing;
  };

  return { url, app, api, queue, reviewer, metrics, logger, policyLoader, reconciler, close };
}
