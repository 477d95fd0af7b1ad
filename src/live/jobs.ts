/**
 * What the live rules need to know about the YAML side: deploy jobs, jobs reachable from merge
 * requests, where to point a finding, and which CI/CD variables a job references.
 */
import type { SourceLocation } from '../model/location.js';
import { pointLocation } from '../model/location.js';
import { get, type YNode } from '../model/node.js';
import type { Job, Pipeline } from '../model/pipeline.js';
import { referencedNames } from '../model/var-refs.js';
import type { DeployInfo } from '../rules/deploy.js';
import type { Evaluation } from '../rules/engine.js';
import type { JobTrust } from '../rules/types.js';

/** Merge request contexts: MR pipelines never run on a protected ref (GITLAB-FACTS). */
const MR_CONTEXTS = ['mr', 'mr-fork'] as const;

export function mrReachable(trust: JobTrust | undefined): boolean {
  if (!trust) return true; // not evaluated: assume it may run
  return MR_CONTEXTS.some((c) => trust.byContext[c].runs !== 'no');
}

/** A job of the pipeline or of one of its child pipelines, with its trust and its pipeline. */
export interface LiveJob {
  job: Job;
  trust: JobTrust | undefined;
  pipeline: Pipeline;
  /** What the job deploys, as the pipeline rules judged it (undefined: it does not deploy). */
  deploy: DeployInfo | undefined;
}

/**
 * Every job the live checks judge: the pipeline's own and those of the child pipelines it
 * starts (`trigger:include`), which run with the parent's runners, variables and settings.
 */
export function allJobs(evaluation: Evaluation): LiveJob[] {
  const out: LiveJob[] = [];
  const walk = (e: Evaluation, depth: number): void => {
    for (const job of e.pipeline.jobs) out.push({ job, trust: e.trust.get(job.name), pipeline: e.pipeline, deploy: e.deploy.get(job.name) });
    if (depth < 3) for (const c of e.children ?? []) walk(c.evaluation, depth + 1);
  };
  walk(evaluation, 0);
  return out;
}

export interface DeployJob {
  job: Job;
  info: DeployInfo;
  trust?: JobTrust;
}

/**
 * Deploy jobs that run on a runner (bridges trigger another pipeline and run nowhere), child
 * pipelines included, with the deploy info the evaluation holds (not recomputed).
 */
export function deployJobs(evaluation: Evaluation): DeployJob[] {
  const out: DeployJob[] = [];
  for (const { job, trust, deploy: info } of allJobs(evaluation)) {
    if (job.kind === 'bridge') continue;
    if (info) out.push({ job, info, ...(trust ? { trust } : {}) });
  }
  return out;
}

/** The `tags:` node of the job (after `default:`/`extends`), else its key. */
export function tagsLocation(job: Job): SourceLocation {
  return get(job.node, 'tags')?.loc ?? job.keyLoc;
}

/** The environment name (or `environment:`) of the job, else its key. */
export function environmentLocation(info: DeployInfo | undefined, job: Job): SourceLocation {
  return info?.nameNode?.loc ?? info?.environmentNode?.loc ?? job.keyLoc;
}

/** Root CI file, line 1: where a finding about project state with no job points. */
export function rootLocation(evaluation: Evaluation): SourceLocation {
  return pointLocation(evaluation.pipeline.rootFile || '.gitlab-ci.yml', 1, 1);
}

/** Every string written in the job's resolved keywords (scripts, variables, rules …). */
function strings(node: YNode | undefined, out: string[], depth = 0): void {
  if (!node || depth > 64) return;
  if (node.kind === 'scalar') {
    if (typeof node.value === 'string') out.push(node.value);
  } else if (node.kind === 'seq') {
    for (const it of node.items) strings(it, out, depth + 1);
  } else if (node.kind === 'map') {
    for (const e of node.entries.values()) strings(e.value, out, depth + 1);
  }
}

/**
 * Whether the job references the variable `$KEY`, `${KEY}`, `$env:KEY` (PowerShell) or `%KEY%`
 * (cmd) anywhere in its resolved keywords or in the global variables it inherits (`$$KEY` is
 * the text `$KEY`). A tool may also read a variable from the environment without any
 * reference; such implicit use cannot be seen in YAML.
 */
export function referencesVariable(job: Job, key: string): boolean {
  let names = jobNames.get(job);
  if (!names) {
    const texts: string[] = [];
    strings(job.node, texts);
    for (const v of job.variables.values()) texts.push(v.value);
    names = new Set(texts.flatMap((t) => referencedNames(t)));
    jobNames.set(job, names);
  }
  return names.has(key);
}

/** The names each job references, collected once per evaluation (many variables × many jobs). */
const jobNames = new WeakMap<Job, Set<string>>();

/** `rootLocation` with the setting's name in the message is how settings findings point. */
export const SETTINGS_KEY = 'project-settings';
