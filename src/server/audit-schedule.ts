/**
 * Wires the scheduled group audit (src/audit/schedule.ts) into the service: the policy per
 * namespace from the service's loader, the token and URL from the config, and with REDIS_URL one
 * replica per slot (Redis `SET NX PX` on `tierguard:audit:<slot>`), every replica running an
 * audit worker, so the projects of a scheduled audit fan out across all of them.
 */
import type { Logger } from 'pino';
import { startAuditSchedule, type AuditSchedule } from '../audit/schedule.js';
import { toolVersion } from '../util/package-info.js';
import { createGitLabApi } from '../gitlab/client.js';
import { createGitLabOrgApi } from '../gitlab/org.js';
import { withReadCache } from '../gitlab/read-cache.js';
import type { ServiceConfig } from './config.js';
import type { PolicyLoader } from './policies.js';

export async function startScheduledAudit(config: ServiceConfig, policies: PolicyLoader, logger: Logger): Promise<AuditSchedule & { stop(): void }> {
  let redis: { set(...args: unknown[]): Promise<unknown>; quit(): Promise<unknown> } | undefined;
  let worker: { close(): Promise<void> } | undefined;
  if (config.REDIS_URL) {
    const { Redis } = await import('ioredis');
    redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    // Every replica judges projects of whichever replica's audit is running.
    const { startAuditWorker } = await import('../audit/fanout.js');
    worker = startAuditWorker({
      redisUrl: config.REDIS_URL,
      concurrency: config.CONCURRENCY,
      deps: {
        api: withReadCache(createGitLabApi({ url: config.GITLAB_URL, token: config.GITLAB_TOKEN, logger: logger.child({ component: 'audit-gitlab' }) })),
        org: createGitLabOrgApi({ url: config.GITLAB_URL, token: config.GITLAB_TOKEN, logger: logger.child({ component: 'audit-gitlab' }) }),
        policyFor: (ns) => policies.forGroup(ns),
      },
      onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit worker error'),
    });
  }
  const schedule = startAuditSchedule({
    schedule: config.AUDIT_SCHEDULE!,
    groups: config.AUDIT_GROUPS,
    issueProject: config.AUDIT_ISSUE_PROJECT,
    gitlabUrl: config.GITLAB_URL,
    token: config.GITLAB_TOKEN,
    policyFor: (ns) => policies.forGroup(ns),
    logger: logger.child({ component: 'audit' }),
    toolVersion: toolVersion(),
    fanout: config.REDIS_URL ? { redisUrl: config.REDIS_URL } : undefined,
    claim: redis ? async (slot) => (await redis.set(`tierguard:audit:${slot}`, String(process.pid), 'PX', 6 * 3600 * 1000, 'NX')) === 'OK' : undefined,
  });
  return {
    ...schedule,
    stop() {
      schedule.stop();
      void worker?.close().catch(() => undefined);
      void redis?.quit().catch(() => undefined);
    },
  };
}
