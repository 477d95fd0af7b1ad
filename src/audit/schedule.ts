/**
 * The service's scheduled audit: `AUDIT_SCHEDULE` (cron, UTC), `AUDIT_GROUPS` (comma-separated
 * group paths), `AUDIT_ISSUE_PROJECT` (where the report issue is kept up to date). With several
 * replicas on Redis, each scheduled slot runs on one replica only (a `SET NX` lock per slot).
 */
import { createGitLabOrgApi, type GitLabOrgApi } from '../gitlab/org.js';
import type { Policy } from '../policy/types.js';
import { nextRun } from './cron.js';
import { upsertAuditIssue } from './issue.js';
import { renderAuditMarkdown } from './render-markdown.js';
import { runAudit, type AuditOptions } from './run.js';
import type { AuditReport } from './types.js';

interface ScheduleLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface AuditScheduleOptions {
  schedule: string;
  groups: string[];
  issueProject?: string;
  gitlabUrl: string;
  token: string;
  policyFor: (namespace: string) => Policy;
  logger: ScheduleLogger;
  toolVersion: string;
  /** Judge the projects on every replica's audit worker (REDIS_URL). */
  fanout?: AuditOptions['fanout'];
  /** Claim a slot for this replica (Redis `SET key NX PX`); default: always (one replica). */
  claim?: (slot: string) => Promise<boolean>;
  now?: () => Date;
  /** Tests: the audit and the issue client. */
  audit?: (opts: AuditOptions) => Promise<AuditReport>;
  org?: GitLabOrgApi;
}

export interface AuditSchedule {
  /** When the next run is due. */
  next(): Date;
  /** Run the audit of every group now (what a due slot does). */
  runSlot(slot: string): Promise<AuditReport[]>;
  stop(): void;
}

const MAX_TIMER = 2 ** 31 - 1;

export function startAuditSchedule(opts: AuditScheduleOptions): AuditSchedule {
  const now = opts.now ?? (() => new Date());
  const audit = opts.audit ?? runAudit;
  let due = nextRun(opts.schedule, now());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();

  async function runSlot(slot: string): Promise<AuditReport[]> {
    if (opts.claim && !(await opts.claim(slot))) {
      opts.logger.info({ slot }, 'scheduled audit taken by another replica');
      return [];
    }
    const reports: AuditReport[] = [];
    for (const group of opts.groups) {
      try {
        const report = await audit({ gitlabUrl: opts.gitlabUrl, token: opts.token, group, policy: opts.policyFor(group), policyFor: opts.policyFor, toolVersion: opts.toolVersion, fanout: opts.fanout });
        reports.push(report);
        const s = report.summary;
        opts.logger.info({ group, slot, projects: s.projects.total, runners: s.runners.total, errors: s.problems.errors, warnings: s.problems.warnings, gitlabCalls: report.stats.gitlabCalls }, 'scheduled audit done');
        if (opts.issueProject) {
          const org = opts.org ?? createGitLabOrgApi({ url: opts.gitlabUrl, token: opts.token });
          const r = await upsertAuditIssue(org, opts.issueProject, report, renderAuditMarkdown(report));
          opts.logger.info({ group, issue: `${opts.issueProject}#${r.iid}`, action: r.action }, 'audit issue');
        }
      } catch (err) {
        opts.logger.warn({ group, slot, err: err instanceof Error ? err.message : String(err) }, 'scheduled audit failed');
      }
    }
    return reports;
  }

  const arm = (): void => {
    if (stopped) return;
    const wait = Math.max(0, due.getTime() - now().getTime());
    timer = setTimeout(
      () => {
        if (now().getTime() < due.getTime()) return arm();
        const slot = due.toISOString();
        due = nextRun(opts.schedule, new Date(due.getTime() + 1000));
        running = running.then(() => runSlot(slot));
        arm();
      },
      Math.min(wait, MAX_TIMER),
    );
    timer.unref();
  };
  arm();
  opts.logger.info({ schedule: opts.schedule, groups: opts.groups, next: due.toISOString() }, 'audit scheduled');

  return {
    next: () => due,
    runSlot,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
