import { sortFindings, type Finding } from '../findings/finding.js';
import { SourceFiles } from '../findings/sources.js';
import { locate } from '../model/location.js';
import { get, scalarText, type YMap, type YNode } from '../model/node.js';
import type { Job, Pipeline } from '../model/pipeline.js';
import { parseInlineIgnores, type InlineIgnore } from '../policy/apply.js';
import { dedupe, Reporter } from '../policy/reporter.js';
import type { Policy } from '../policy/types.js';
import type { VariableAssumptions } from '../contexts/contexts.js';
import { childPipelineTrust as childTrustFactory } from '../contexts/trust.js';
import { deployInfo, tagTier, type DeployInfo } from './deploy.js';
import { factsOf } from './line-facts.js';
import type { JobTrust, PipelineRule, RuleContext, RuleHooks, ScriptLine } from './types.js';

/** Computes each job's trust contexts (implemented by `src/contexts`). */
export type TrustFactory = (pipeline: Pipeline, policy: Policy, defaultBranch: string, variables?: VariableAssumptions) => (job: Job) => JobTrust;

export interface EvaluateOptions {
  policy: Policy;
  rules: readonly PipelineRule<unknown>[];
  trust: TrustFactory;
  /** Offline default: `main`. */
  defaultBranch?: string;
  today?: Date;
  /** Unread configuration is a blocking `ci-config-unverified` finding, not a note (service, `--strict`). */
  strict?: boolean;
  /** What live data says overrides YAML variables (default: pipeline variables allowed, no CI/CD variable known). */
  variables?: VariableAssumptions;
}

export interface Evaluation {
  pipeline: Pipeline;
  findings: Finding[];
  sources: SourceFiles;
  /** Informational notes (unresolved includes …), never findings. */
  notes: string[];
  /** Each job's trust (job name → JobTrust), worked out when first asked. */
  trust: ByJob<JobTrust>;
  /**
   * The deploy jobs of this pipeline (job name → the DeployInfo the rules judged them by);
   * a job not here does not deploy. Child pipelines' are in their own evaluations.
   */
  deploy: ByJob<DeployInfo>;
  defaultBranch: string;
  /**
   * Child pipelines (`trigger: include`), each judged under the contexts where its trigger job
   * runs. Their findings, notes and sources are also merged into this evaluation's.
   */
  children?: ChildEvaluation[];
}

interface ChildEvaluation {
  /** The trigger job in the parent pipeline. */
  trigger: string;
  evaluation: Evaluation;
}

/** Run every enabled rule over the pipeline in one traversal and apply the policy. */
export function evaluatePipeline(pipeline: Pipeline, opts: EvaluateOptions): Evaluation {
  const { policy } = opts;
  const defaultBranch = opts.defaultBranch ?? 'main';
  const sources = new SourceFiles();
  for (const f of pipeline.files) sources.add(f.name, f.text);

  const trustOf = opts.trust(pipeline, policy, defaultBranch, opts.variables);
  const trustCache = new Map<string, JobTrust>();
  const trust = (job: Job): JobTrust => {
    let t = trustCache.get(job.name);
    if (!t) {
      t = trustOf(job);
      trustCache.set(job.name, t);
    }
    return t;
  };
  const scriptLines = (job: Job): readonly ScriptLine[] => scriptLinesOf(job.node);
  const locateInScript = (line: ScriptLine, index: number, length: number) => locate((n) => sources.rawLine(line.loc.file, n), line.loc, line.text, index, length);
  const deployCache = new Map<string, DeployInfo | undefined>();
  const deploy = (job: Job): DeployInfo | undefined => {
    if (!deployCache.has(job.name)) deployCache.set(job.name, deployInfo(job, policy, { locate: locateInScript, lines: scriptLines(job), pipeline }));
    return deployCache.get(job.name);
  };

  const tierOf = (tags: readonly string[]) => tagTier(tags, policy);
  const reporter = new Reporter(policy, { today: opts.today ?? new Date(), sources });
  const active: { rule: PipelineRule<unknown>; hooks: RuleHooks }[] = [];
  for (const rule of opts.rules) {
    const { configured, report } = reporter.rule(rule.meta);
    if (!configured) continue;
    const ctx: RuleContext<unknown> = {
      pipeline,
      policy,
      options: configured.options,
      sources,
      defaultBranch,
      strict: opts.strict ?? false,
      trust,
      deploy,
      tagTier: tierOf,
      scriptLines,
      locateInScript,
      report,
    };
    active.push({ rule, hooks: rule.create(ctx) });
  }

  traverse(pipeline, active.map((a) => a.hooks), scriptLines);

  // Secrets first, so the inline-ignore scan and every output see masked text.
  const ignores: InlineIgnore[] = [];
  for (const f of pipeline.files) if (f.text.includes('tierguard-ignore')) ignores.push(...parseInlineIgnores(f.name, f.text));
  const final = reporter.finish({ inlineIgnores: ignores, expiredExceptions: true });

  const notes = notesOf(pipeline, opts.strict ?? false);
  const trustMap = new PerJob(pipeline.jobs, trust);
  const deployMap = new PerJob(pipeline.jobs, deploy);
  const children: ChildEvaluation[] = [];
  const findings = pipeline.children?.length ? evaluateChildren(pipeline, opts, defaultBranch, trust, final, { sources, notes, children }) : final;
  return { pipeline, findings: sortFindings(findings), sources, notes, trust: trustMap, deploy: deployMap, defaultBranch, children };
}

/*
 * The phases below are functions of their own, not parts of evaluatePipeline: V8 optimises a
 * function as a whole and throws the optimised code away when a path it had not seen runs (a
 * pipeline with diagnostics, with child pipelines …). Kept apart, such a path deoptimises only
 * its own phase, and the job loop, which every evaluation runs, stays optimised. Measured with
 * --trace-deopt over the bench rounds: evaluatePipeline in one piece was deoptimised 8 times,
 * each time in the notes or child-pipeline code.
 */

/** The one traversal: pipeline and include hooks, then every job's hooks and its script lines'. */
function traverse(pipeline: Pipeline, hooks: readonly RuleHooks[], scriptLines: (job: Job) => readonly ScriptLine[]): void {
  // Each hook kind's rules listed once: the job and script-line loops run for every job and
  // every script line, and most rules have only one or two of the hooks.
  const jobHooks = hooks.filter((h) => h.job);
  const lineHooks = hooks.filter((h) => h.scriptLine);
  for (const h of hooks) h.pipeline?.(pipeline);
  for (const inc of pipeline.includes) for (const h of hooks) h.include?.(inc);
  // Index loops: these run for every job and every script line. TurboFan would remove the
  // iterator object a for-of makes, but the CLI runs without it (bin/tierguard.js).
  for (const job of pipeline.jobs) {
    for (let i = 0; i < jobHooks.length; i++) jobHooks[i]!.job!(job); // filtered on `job`
    if (lineHooks.length === 0) continue;
    const lines = scriptLines(job);
    for (let l = 0; l < lines.length; l++) for (let i = 0; i < lineHooks.length; i++) lineHooks[i]!.scriptLine!(lines[l]!, job); // filtered on `scriptLine`
  }
}

/**
 * The pipeline's diagnostics as notes. In strict mode unread includes are findings
 * (ci-config-unverified), not also notes; the other unresolved diagnostics (extends parents
 * that may live there) stay notes.
 */
function notesOf(pipeline: Pipeline, strict: boolean): string[] {
  const notes: string[] = [];
  for (const d of pipeline.diagnostics) {
    if (d.kind === 'invalid' || (strict && d.kind === 'unresolved' && d.keyPath[0] === 'include')) continue;
    notes.push(`${d.location.file}:${d.location.line}: ${d.message}`);
  }
  return notes;
}

/**
 * Child pipelines: the same rules and policy, under the contexts where the trigger job runs.
 * Each child's evaluation is added to `into.children`, its sources and notes to the parent's;
 * returns `findings` (the parent's) with the children's.
 */
function evaluateChildren(
  pipeline: Pipeline,
  opts: EvaluateOptions,
  defaultBranch: string,
  trust: (job: Job) => JobTrust,
  findings: Finding[],
  into: { sources: SourceFiles; notes: string[]; children: ChildEvaluation[] },
): Finding[] {
  const all = [...findings];
  for (const child of pipeline.children ?? []) {
    const triggerJob = pipeline.jobs.find((j) => j.name === child.trigger);
    if (!triggerJob) continue;
    // Every field written out, in one order: a spread of `opts` makes an object of a shape of
    // its own the first times it runs, and each new shape deoptimised evaluatePipeline (measured
    // with --trace-deopt: "wrong map" at its first read of `opts`). The type makes every option
    // be listed here, so none added later is lost for children.
    const childOpts: { [K in keyof Required<EvaluateOptions>]: EvaluateOptions[K] } = {
      policy: opts.policy,
      rules: opts.rules,
      trust: childTrustFactory({ name: child.trigger, trust: trust(triggerJob) }),
      defaultBranch,
      today: opts.today,
      strict: opts.strict,
      variables: opts.variables,
    };
    const evaluation = evaluatePipeline(child.pipeline, childOpts);
    into.children.push({ trigger: child.trigger, evaluation });
    into.sources.absorb(evaluation.sources);
    for (const n of evaluation.notes) if (!into.notes.includes(n)) into.notes.push(n);
    all.push(...evaluation.findings);
  }
  return into.children.length ? dedupe(all, false) : findings;
}

/** A value per job name, read by name or in the pipeline's job order (a Map is one). */
interface ByJob<V> extends Iterable<[string, V]> {
  get(name: string): V | undefined;
  has(name: string): boolean;
}

/**
 * A value per job of a pipeline, by job name, worked out when first asked and kept: the
 * evaluation's trust and deploy info. Every consumer reads them by name (`get`, `has`) or in
 * the pipeline's job order; a CLI `lint` reads only what its rules asked, which is fewer jobs'
 * trust than the pipeline has (the judgement of each job is the same whenever it is made).
 */
class PerJob<V> implements ByJob<V> {
  #byName: Map<string, Job> | undefined;
  constructor(
    private readonly jobs: readonly Job[],
    private readonly of: (job: Job) => V | undefined,
  ) {}

  get(name: string): V | undefined {
    this.#byName ??= new Map(this.jobs.map((j) => [j.name, j]));
    const job = this.#byName.get(name);
    return job ? this.of(job) : undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (const job of this.jobs) {
      const v = this.of(job);
      if (v !== undefined) yield [job.name, v];
    }
  }
}

/** A job as judged: its trust, what it deploys (when it does), and the trigger job of its child pipeline. */
export interface JudgedJob {
  job: Job;
  trust: JobTrust;
  deploy?: DeployInfo;
  /** The trigger job in the parent pipeline, for a child pipeline's job. */
  trigger?: string;
}

/**
 * Every job of an evaluation with its trust and deploy info, child pipeline jobs included (after
 * their trigger job, with `trigger` naming it): for consumers that look at all jobs (summaries,
 * the audit, live checks).
 */
export function jobsWithTrust(ev: Evaluation): JudgedJob[] {
  const out: JudgedJob[] = [];
  const walk = (e: Evaluation, trigger?: string) => {
    for (const job of e.pipeline.jobs) {
      const trust = e.trust.get(job.name);
      const deploy = e.deploy.get(job.name);
      // Every job of an evaluation has its trust (evaluatePipeline sets it for each).
      if (trust) {
        const judged: JudgedJob = { job, trust };
        if (deploy) judged.deploy = deploy;
        if (trigger) judged.trigger = trigger;
        out.push(judged);
      }
      for (const c of e.children ?? []) if (c.trigger === job.name) walk(c.evaluation, c.trigger);
    }
  };
  walk(ev);
  return out;
}

const SCRIPT_KEYS = ['before_script', 'script', 'after_script'] as const;

/**
 * How many lines `scriptLinesOf(node)` gives, counted without building them: for the evaluation
 * budget, where `!reference` and anchors can make a few KB of YAML into millions of lines.
 * Shared list nodes are counted once (memoised per node).
 */
export function scriptLineCount(node: YMap): number {
  const count = (x: YNode | undefined): number => {
    if (!x) return 0;
    if (x.kind === 'scalar') return x.value !== null ? 1 : 0;
    if (x.kind !== 'seq') return 0;
    let n = lineCounts.get(x);
    if (n === undefined) {
      n = 0;
      for (const it of x.items) n += count(it);
      lineCounts.set(x, n);
    }
    return n;
  };
  let total = count(get(node, 'hooks', 'pre_get_sources_script'));
  for (const k of SCRIPT_KEYS) total += count(get(node, k));
  return total;
}
const lineCounts = new WeakMap<YNode, number>();

/**
 * Script lines of a keyword map (a job, a hidden job or `default:`): `before_script`, `script`,
 * `after_script`, `hooks:pre_get_sources_script`; nested lists (unflattened `!reference`s in
 * hidden jobs) are read through, each line keeping its list index.
 *
 * Memoised per node (nodes are immutable once built): a job's lists are mostly the nodes it
 * inherits or shares with the hidden job it extends, and the rules read them again where they
 * are written (`scriptSites`). The lines are shared: read them, never change them.
 */
export function scriptLinesOf(node: YMap): readonly ScriptLine[] {
  let hit = linesOfMap.get(node);
  if (!hit) {
    const nonEmpty = scriptLineLists(node);
    hit = nonEmpty.length === 0 ? NO_LINES : nonEmpty.length === 1 ? nonEmpty[0]! : ([] as ScriptLine[]).concat(...nonEmpty);
    linesOfMap.set(node, hit);
  }
  return hit;
}

/**
 * The non-empty lists of lines `scriptLinesOf(node)` joins, in its order, neither joined nor kept
 * by node: for walks that meet a node once (the written places of `scriptSites`, most of them
 * hidden jobs no evaluation reads through `scriptLinesOf`). Each list is kept by its items.
 */
export function scriptLineLists(node: YMap): (readonly ScriptLine[])[] {
  const parts: (readonly ScriptLine[])[] = [];
  for (const k of SCRIPT_KEYS) {
    const n = node.entries.get(k)?.value;
    if (n) {
      const lines = linesOfList(k, n);
      if (lines.length > 0) parts.push(lines);
    }
  }
  const hooks = get(node, 'hooks', 'pre_get_sources_script');
  if (hooks) {
    const lines = linesOfList('pre_get_sources_script', hooks);
    if (lines.length > 0) parts.push(lines);
  }
  return parts;
}
const NO_LINES: readonly ScriptLine[] = Object.freeze([]);
const linesOfMap = new WeakMap<YMap, readonly ScriptLine[]>();
/**
 * By list node, then keyword: the same list may be written under two keywords (`*anchor`). A
 * sequence is kept by its items, which every copy of it keeps (`extends` copies a node to record
 * how it was inherited): the lines depend on the items alone.
 */
const linesOfNode = new WeakMap<object, Partial<Record<ScriptLine['key'], readonly ScriptLine[]>>>();

function linesOfList(key: ScriptLine['key'], n: YNode): readonly ScriptLine[] {
  const at = n.kind === 'seq' ? n.items : n;
  let byKey = linesOfNode.get(at);
  if (!byKey) linesOfNode.set(at, (byKey = {}));
  let hit = byKey[key];
  if (!hit) {
    const out: ScriptLine[] = [];
    const add = (x: YNode, index: number) => {
      if (x.kind === 'seq') for (const it of x.items) add(it, index);
      else if (x.kind === 'scalar' && x.value !== null) {
        // One facts object per text, shared with every other line (and pipeline) that has it.
        const facts = factsOf(scalarText(x));
        out.push({ key, index, text: facts.text, loc: x.loc, facts });
      }
    };
    if (n.kind === 'seq') n.items.forEach((it, index) => add(it, index));
    else add(n, 0);
    byKey[key] = hit = out;
  }
  return hit;
}
