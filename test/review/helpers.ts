import { fingerprintOf, type Finding, type Fix } from '../../src/findings/finding.js';
import { SourceFiles } from '../../src/findings/sources.js';
import type { DiffRefs, GitLabDiff, GitLabDiscussion, GitLabNote } from '../../src/gitlab/types.js';
import type { Job, Pipeline } from '../../src/model/pipeline.js';
import type { YMap } from '../../src/model/node.js';
import type { Evaluation } from '../../src/rules/engine.js';
import { deployInfo, type DeployInfo } from '../../src/rules/deploy.js';
import type { Policy } from '../../src/policy/types.js';
import type { ContextId, JobTrust } from '../../src/rules/types.js';
import type { ReviewInput } from '../../src/review/types.js';
import { unifiedDiff } from '../support/fake-gitlab.js';

export const BOT = 7;
export const HUMAN = 42;
export const HEAD_SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const BASE_SHA = 'b'.repeat(40);
const REFS: DiffRefs = { baseSha: BASE_SHA, startSha: BASE_SHA, headSha: HEAD_SHA };

export function finding(o: {
  rule?: string;
  file?: string;
  line?: number;
  job?: string;
  key?: string[];
  severity?: 'error' | 'warning';
  message?: string;
  fix?: Fix;
  suppressed?: Finding['suppressed'];
}): Finding {
  const ruleId = o.rule ?? 'deploy-runner-tier';
  const file = o.file ?? '.gitlab-ci.yml';
  const line = o.line ?? 1;
  const severity = o.severity ?? 'error';
  const keyPath = o.key ?? ['tags'];
  return {
    ruleId,
    severity,
    blocking: severity === 'error' && !o.suppressed,
    message: o.message ?? `${ruleId} at ${file}:${line}`,
    location: { file, line, column: 3, endLine: line, endColumn: 10 },
    job: o.job,
    keyPath,
    fingerprint: fingerprintOf({ ruleId, file, job: o.job, keyPath }),
    ...(o.fix ? { fix: o.fix } : {}),
    ...(o.suppressed ? { suppressed: o.suppressed } : {}),
  };
}

export interface JobSpec {
  name: string;
  tags?: string[];
  untrusted?: ContextId[];
  trusted?: ContextId[];
}

/**
 * A stand-in evaluation. With `policy`, its deploy info is what the engine computes for these
 * jobs (tags on a deploy tier make a deploy job); without, no job is a deploy.
 */
export function evaluation(o: { files?: Record<string, string>; findings?: Finding[]; jobs?: JobSpec[]; notes?: string[]; policy?: Policy }): Evaluation {
  const sources = new SourceFiles();
  for (const [name, text] of Object.entries(o.files ?? {})) sources.add(name, text);
  // A job as the model builds it, with no keys of its own beyond its tags.
  const jobs = (o.jobs ?? []).map((j, i): Job => {
    const loc = { file: '.gitlab-ci.yml', line: i + 1, column: 1, endLine: i + 1, endColumn: 1 };
    const node: YMap = { kind: 'map', entries: new Map(), loc };
    return { name: j.name, kind: 'job', keyLoc: loc, file: '.gitlab-ci.yml', node, stage: 'test', tags: j.tags ?? [], variables: new Map(), jobVariables: new Map() };
  });
  const trust = new Map<string, JobTrust>();
  for (const j of o.jobs ?? []) {
    trust.set(j.name, { byContext: {} as JobTrust['byContext'], untrusted: j.untrusted ?? [], trusted: j.trusted ?? ['default-branch'] });
  }
  const pipeline = { rootFile: '.gitlab-ci.yml', files: [], jobs, hiddenJobs: [], stages: [], variables: new Map(), includes: [], diagnostics: [] } as unknown as Pipeline;
  const deploy = new Map<string, DeployInfo>();
  if (o.policy) {
    for (const job of jobs) {
      const info = deployInfo(job, o.policy, { pipeline });
      if (info) deploy.set(job.name, info);
    }
  }
  return { pipeline, findings: o.findings ?? [], sources, notes: o.notes ?? [], trust, deploy, defaultBranch: 'main' };
}

export function diffsFor(base: Record<string, string>, head: Record<string, string>): GitLabDiff[] {
  const out: GitLabDiff[] = [];
  for (const p of [...new Set([...Object.keys(base), ...Object.keys(head)])].sort()) {
    if (base[p] === head[p]) continue;
    out.push({
      oldPath: p,
      newPath: p,
      newFile: base[p] === undefined,
      renamedFile: false,
      deletedFile: head[p] === undefined,
      diff: unifiedDiff(base[p] ?? '', head[p] ?? ''),
    });
  }
  return out;
}

let noteSeq = 1000;
export function note(body: string, o: { author?: number; resolved?: boolean; resolvable?: boolean } = {}): GitLabNote {
  return {
    id: (noteSeq += 1),
    body,
    authorId: o.author ?? BOT,
    system: false,
    resolvable: o.resolvable ?? true,
    resolved: o.resolved ?? false,
  };
}

export function discussion(id: string, notes: GitLabNote[], individualNote = false): GitLabDiscussion {
  return { id, individualNote, notes };
}

export function reviewInput(o: Partial<ReviewInput> & { head: Evaluation; diffs: GitLabDiff[] }): ReviewInput {
  return {
    projectId: 1,
    mrIid: 1,
    headSha: o.diffRefs?.headSha ?? HEAD_SHA,
    diffRefs: REFS,
    baseFindings: [],
    existing: [],
    botUserId: BOT,
    policySources: ['policies/default.yaml'],
    notes: [],
    blockOn: 'new',
    mrWebUrl: 'https://gitlab.example.com/g/app/-/merge_requests/1',
    ...o,
  };
}
