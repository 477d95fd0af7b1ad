/**
 * The resumable state of one audit run: a JSON Lines file, a header (run id, group, GitLab URL)
 * then one line per finished project. Appending a line per project keeps the cost linear and an
 * interrupted run loses at most the projects in flight; a run that completes appends `done`, so
 * the next run with the same file starts afresh instead of reusing stale results.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AuditProject } from './types.js';

interface Header {
  kind: 'header';
  version: 1;
  runId: string;
  group: string;
  gitlabUrl: string;
  startedAt: string;
}

export interface RunState {
  runId: string;
  startedAt: string;
  /** Projects finished by an earlier, interrupted run of this state (by project id). */
  done: Map<number, AuditProject>;
  record(project: AuditProject): void;
  complete(): void;
}

export function openState(path: string | undefined, group: string, gitlabUrl: string, now: () => Date = () => new Date()): RunState {
  if (!path) {
    return { runId: randomUUID(), startedAt: now().toISOString(), done: new Map(), record() {}, complete() {} };
  }
  let header: Header | undefined;
  const done = new Map<number, AuditProject>();
  if (existsSync(path)) {
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    const parsed: unknown[] = [];
    for (const l of lines) {
      try {
        parsed.push(JSON.parse(l));
      } catch {
        // A line cut short by the interruption: everything before it still counts.
        break;
      }
    }
    // Parsed from disk: checked field by field before it is taken as a Header.
    const h = parsed[0] as Partial<Record<keyof Header, unknown>> | undefined;
    const finished = parsed.some((x) => (x as { kind?: string }).kind === 'done');
    if (h?.kind === 'header' && h.version === 1 && h.group === group && h.gitlabUrl === gitlabUrl && !finished) {
      header = h as Header; // a header this code wrote: kind, version, group and URL checked
      for (const x of parsed.slice(1)) {
        const rec = x as { kind?: string; project?: AuditProject };
        if (rec.kind === 'project' && rec.project) done.set(rec.project.id, rec.project);
      }
    }
  }
  if (!header) {
    header = { kind: 'header', version: 1, runId: randomUUID(), group, gitlabUrl, startedAt: now().toISOString() };
    writeFileSync(path, JSON.stringify(header) + '\n', { mode: 0o600 });
  }
  return {
    runId: header.runId,
    startedAt: header.startedAt,
    done,
    record(project) {
      appendFileSync(path, JSON.stringify({ kind: 'project', project }) + '\n');
    },
    complete() {
      appendFileSync(path, JSON.stringify({ kind: 'done', at: now().toISOString() }) + '\n');
    },
  };
}
