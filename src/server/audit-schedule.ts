/**
 * Wires the scheduled group audit (src/audit/schedule.ts) into the service: the policy per
 * namespace from the service's loader, the token and URL from the config, and with REDIS_URL one
 * replica per slot (Redis `SET NX PX` on `tierguard:audit:<slot>`).
 */
import type { Logger } from 'pino';
import { startAuditSchedule, type AuditSchedule } from '../audit/schedule.js';
import { toolVersion } from '../cli/package-info.js';
import type { ServiceConfig } from './config.js';
import type { PolicyLoader } from './policies.js';

export async function startScheduledAudit(config: ServiceConfig, policies: PolicyLoader, logger: Logger): Promise<AuditSchedule & { stop(): void }> {
  let redis: { set(...args: unknown[]): Promise<unknown>; quit(): Promise<unknown> } | undefined;
  if (config.REDIS_URL) {
    const { Redis } = await import('ioredis');
    redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 }) as unknown as typeof redis;
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
    claim: redis ? async (slot) => (await redis!.set(`tierguard:audit:${slot}`, String(process.pid), 'PX', 6 * 3600 * 1000, 'NX')) === 'OK' : undefined,
  });
  return {
    ...schedule,
    stop() {
      schedule.stop();
      void redis?.quit().catch(() => undefined);
    },
  };
}
