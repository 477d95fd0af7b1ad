/**
 * Fan-out of an audit over Redis (BullMQ, like the review queue): the coordinator puts one job
 * per project on the `audits` queue, every replica running an audit worker judges projects
 * (`auditProject`, with its own GitLab client and policy), BullMQ keeps each result as the job's
 * return value, and the coordinator assembles one report. Job ids are `<runId>-<projectId>`, so a
 * resumed run (same state file, same run id) does not enqueue a project twice, and a replica
 * that dies mid-project leaves the job to another one (BullMQ stalled-job recovery).
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { quietAfterClose } from '../util/bullmq-close.js';
import type { OrgProject } from '../gitlab/org.js';
import { auditProject, type ProjectAuditDeps } from './project.js';
import type { AuditProject } from './types.js';

export interface FanoutOptions {
  redisUrl: string;
  /** Key prefix shared by the replicas (default `tierguard`). */
  prefix?: string;
  /** Queue name (default `audits`). */
  queueName?: string;
}

interface JobData {
  runId: string;
  project: OrgProject;
}

const conn = (url: string) => new Redis(url, { maxRetriesPerRequest: null, connectionName: 'tierguard-audit' });

/** A replica's worker: judges the projects other replicas (or the CLI) put on the queue. */
export function startAuditWorker(opts: FanoutOptions & { concurrency?: number; deps: ProjectAuditDeps; onError?: (err: unknown) => void }): { close(): Promise<void> } {
  const connection = conn(opts.redisUrl);
  const worker = new Worker<JobData, AuditProject>(opts.queueName ?? 'audits', async (job) => auditProject(job.data.project, opts.deps), {
    connection,
    prefix: opts.prefix ?? 'tierguard',
    concurrency: opts.concurrency ?? 4,
  });
  worker.on('error', (err) => opts.onError?.(err));
  quietAfterClose(worker);
  return {
    async close() {
      await worker.close();
      await connection.quit().catch(() => undefined);
    },
  };
}

/** The coordinator: enqueue the projects, collect every result (in any order). */
export async function fanOutProjects(projects: OrgProject[], runId: string, opts: FanoutOptions & { onDone: (p: AuditProject) => void; attempts?: number }): Promise<void> {
  if (projects.length === 0) return;
  const prefix = opts.prefix ?? 'tierguard';
  const name = opts.queueName ?? 'audits';
  const producer = conn(opts.redisUrl);
  // QueueEvents blocks on its own connection; a connection passed in is BullMQ's "shared" one,
  // which close() leaves open, so it is quit here with the producer.
  const eventsConn = conn(opts.redisUrl);
  const events = new QueueEvents(name, { connection: eventsConn, prefix });
  const queue = new Queue<JobData, AuditProject>(name, { connection: producer, prefix });
  quietAfterClose(events);
  quietAfterClose(queue);
  const ids = new Map(projects.map((p) => [`${runId}-${p.id}`, p]));
  const pending = new Set(ids.keys());
  try {
    await events.waitUntilReady();
    const settled = new Promise<void>((resolve, reject) => {
      const finish = (jobId: string, result: AuditProject) => {
        if (!pending.delete(jobId)) return;
        opts.onDone(result);
        if (pending.size === 0) resolve();
      };
      events.on('completed', ({ jobId, returnvalue }) => {
        if (!pending.has(jobId)) return;
        finish(jobId, (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as AuditProject);
      });
      events.on('failed', ({ jobId, failedReason }) => {
        if (!pending.has(jobId)) return;
        // A job that cannot be read back fails the run too (not an unhandled rejection).
        queue.getJob(jobId).then((job) => {
          // Only the last attempt counts; earlier ones are retried by BullMQ.
          if (job && job.attemptsMade < (job.opts.attempts ?? 1)) return;
          reject(new Error(`project ${ids.get(jobId)?.pathWithNamespace ?? jobId} failed in the audit queue: ${failedReason}`));
        }, reject);
      });
    });
    await queue.addBulk(
      projects.map((p) => ({
        name: 'project',
        data: { runId, project: p },
        opts: { jobId: `${runId}-${p.id}`, attempts: opts.attempts ?? 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 } },
      })),
    );
    // Jobs that finished before we listened (a resumed run) are read back directly.
    for (const jobId of [...pending]) {
      const job = await queue.getJob(jobId);
      if (job && (await job.isCompleted()) && pending.delete(jobId)) opts.onDone(job.returnvalue);
    }
    if (pending.size > 0) await settled;
  } finally {
    await queue.close();
    await events.close();
    for (const c of [producer, eventsConn]) await c.quit().catch(() => undefined);
  }
}
