/**
 * Catch-up: no MR left unjudged. A webhook can be lost (the service was down or restarting,
 * GitLab gave up redelivering, a review was given up during a long outage); on start and then
 * every `intervalMs`, this pass finds open MRs whose head sha has no final `tierguard` status
 * and queues a review for each:
 *
 *   projects  the ones webhooks were accepted for (queue.knownProjects: in Redis when
 *             REDIS_URL is set, else in memory) and the ones where tierguard's user is at
 *             least Developer (GET /projects?membership=true&min_access_level=30);
 *   MRs       opened, updated within `lookbackDays` (GET /projects/:id/merge_requests);
 *   final     the newest `tierguard` status of the head sha is success/failed/canceled/skipped
 *             (GET …/commits/:sha/statuses?name=tierguard&all=true) — except a `failed` that
 *             says tierguard gave up waiting for GitLab: that MR is tried again.
 *
 * Cost per pass: ⌈P/100⌉ + P·⌈M/100⌉ + (status reads) GitLab reads for P projects with M open
 * MRs: the first pass reads the statuses of all P·M heads, later passes only of heads not seen
 * with a final status before (new pushes, MRs still waiting). Measured in scripts/bench-reconcile.mjs. The jobs are enqueued `soft`: an MR whose review is
 * already waiting or running is left alone, and the per-MR lock keeps replicas from reviewing
 * one MR twice.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { GitLabApi } from '../gitlab/types.js';
import type { Metrics } from './metrics.js';
import type { WorkQueue } from './queue.js';
import { errText, STATUS_NAME } from './review-mr.js';

export interface ReconcilerOptions {
  api: GitLabApi;
  queue: WorkQueue;
  logger: Logger;
  metrics?: Metrics;
  /** Between passes (the first runs at start). */
  intervalMs: number;
  /** MRs updated within this many days (default 14). */
  lookbackDays?: number;
  /** Delay of the first pass after start (default 0). */
  firstDelayMs?: number;
  now?: () => number;
}

interface ReconcileResult {
  projects: number;
  openMergeRequests: number;
  enqueued: number;
  errors: number;
}

export interface Reconciler {
  /** One pass now (passes never overlap: a call during a pass waits for it). */
  pass(): Promise<ReconcileResult>;
  start(): void;
  stop(): void;
  /** Resolves when no pass is running. */
  idle(): Promise<void>;
}

const FINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

/** Is this newest status a verdict (the MR needs no catch-up)? */
function isFinalStatus(s: { status: string; description: string | null } | undefined): boolean {
  if (!s || !FINAL.has(s.status)) return false;
  // A review given up during a GitLab outage is retried once GitLab answers again.
  return !(s.status === 'failed' && /gave up after .*GitLab kept failing/.test(s.description ?? ''));
}

export function createReconciler(o: ReconcilerOptions): Reconciler {
  const now = o.now ?? Date.now;
  const lookbackMs = (o.lookbackDays ?? 14) * 86_400_000;
  let running: Promise<ReconcileResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** Read at each step of a pass: stop() may be called while the pass awaits GitLab. */
  const isStopped = () => stopped;
  /** project:iid → head sha seen with a final status (later passes skip its status read). */
  const judged = new Map<string, string>();

  async function run(): Promise<ReconcileResult> {
    const out: ReconcileResult = { projects: 0, openMergeRequests: 0, enqueued: 0, errors: 0 };
    const ids = new Set<number>(await (o.queue.knownProjects?.() ?? Promise.resolve([])));
    try {
      for (const id of await o.api.listMemberProjects()) ids.add(id);
    } catch (err) {
      out.errors += 1;
      o.logger.warn({ err: errText(err) }, 'catch-up: could not list the projects tierguard is a member of');
    }
    out.projects = ids.size;
    const since = new Date(now() - lookbackMs);
    for (const projectId of [...ids].sort((a, b) => a - b)) {
      if (isStopped()) break;
      try {
        const mrs = await o.api.listOpenMergeRequests(projectId, since);
        for (const mr of mrs) {
          if (isStopped()) break;
          if (mr.state !== 'opened' || !mr.sha) continue;
          out.openMergeRequests += 1;
          const key = `${projectId}:${mr.iid}`;
          if (judged.get(key) === mr.sha) continue;
          const statuses = await o.api.listCommitStatuses(projectId, mr.sha, STATUS_NAME);
          if (isFinalStatus(statuses.at(-1))) {
            judged.set(key, mr.sha);
            if (judged.size > 100_000) judged.delete(judged.keys().next().value as string);
            continue;
          }
          const r = await o.queue.enqueue(
            { projectId, mrIid: mr.iid, sha: mr.sha, reason: 'reconcile', deliveryId: `reconcile-${randomUUID()}`, receivedAt: now() },
            { soft: true },
          );
          if (r === 'queued' || r === undefined) {
            out.enqueued += 1;
            o.metrics?.reconcileCaughtUp.inc();
            o.logger.info({ project: projectId, mr: mr.iid, sha: mr.sha, status: statuses.at(-1)?.status ?? null }, 'catch-up: merge request without a final status queued');
          }
        }
      } catch (err) {
        out.errors += 1;
        o.logger.warn({ project: projectId, err: errText(err) }, 'catch-up: could not look at the project');
      }
    }
    return out;
  }

  const pass = (): Promise<ReconcileResult> => {
    running ??= run()
      .then(
        (r) => {
          o.metrics?.reconcilePasses.inc({ result: r.errors ? 'error' : 'ok' });
          o.logger.info(r, 'catch-up pass finished');
          return r;
        },
        (err: unknown) => {
          o.metrics?.reconcilePasses.inc({ result: 'error' });
          o.logger.warn({ err: errText(err) }, 'catch-up pass failed');
          return { projects: 0, openMergeRequests: 0, enqueued: 0, errors: 1 };
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void pass().finally(() => schedule(o.intervalMs));
    }, ms);
    timer.unref();
  };

  return {
    pass,
    start: () => {
      if (o.firstDelayMs) return schedule(o.firstDelayMs);
      // The first pass starts at once (a caller can await idle() for it).
      void pass().finally(() => schedule(o.intervalMs));
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    idle: async () => {
      await running?.catch(() => undefined);
    },
  };
}
