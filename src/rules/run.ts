import { pointLocation } from '../model/location.js';
import { buildPipeline } from '../model/pipeline.js';
import type { ConfigSource } from '../model/source.js';
import type { Policy } from '../policy/types.js';
import type { VariableAssumptions } from '../contexts/contexts.js';
import { evaluatePipeline, scriptLineCount, type Evaluation } from './engine.js';
import { pipelineRules } from './index.js';
import { defaultTrustFactory } from './trust-provider.js';

export interface LintOptions {
  policy: Policy;
  defaultBranch?: string;
  today?: Date;
  /** Unread configuration is a blocking finding (service, `tierguard lint --strict`). */
  strict?: boolean;
  /** Live data about variables that override YAML values (see `VariableAssumptions`). */
  variables?: VariableAssumptions;
  /** Work budget of one evaluation (defaults: EVALUATION_BUDGET). */
  budget?: Partial<EvaluationBudget>;
}

/**
 * How much one evaluation may take on. A configuration over it is not judged job by job: it
 * yields one `ci-config-invalid` finding ("too complex to evaluate within …"), so a crafted
 * include cannot hold a worker for minutes or flood the MR with hundreds of findings.
 */
export interface EvaluationBudget {
  /** Visible jobs after includes and `extends`. */
  maxJobs: number;
  /** Hidden (`.name`) templates after includes. */
  maxTemplates: number;
  /**
   * Script lines of all visible jobs together, `!reference`s and anchors expanded: 80 KB of YAML
   * (a 2,000-line template referenced by 1,000 jobs) is 2,000,000 lines to judge, 20 s of CPU.
   * CMake's 158 jobs have a few thousand.
   */
  maxScriptLines: number;
}

const EVALUATION_BUDGET: EvaluationBudget = { maxJobs: 2000, maxTemplates: 5000, maxScriptLines: 100_000 };

/** Build the pipeline from `rootFile` and judge it with the pipeline rules (`judge()` calls it for the CLI, the service and the audit). */
export async function lintPipeline(source: ConfigSource, rootFile: string, opts: LintOptions): Promise<Evaluation> {
  const pipeline = await buildPipeline(source, rootFile);
  const budget = { ...EVALUATION_BUDGET, ...opts.budget };
  // Counted up to the first job past the budget.
  const scriptLines = () => {
    let n = 0;
    for (const job of pipeline.jobs) if ((n += scriptLineCount(job.node)) > budget.maxScriptLines) break;
    return n;
  };
  const over =
    pipeline.jobs.length > budget.maxJobs
      ? `${budget.maxJobs} jobs (it has ${pipeline.jobs.length})`
      : pipeline.hiddenJobs.length > budget.maxTemplates
        ? `${budget.maxTemplates} templates (it has ${pipeline.hiddenJobs.length})`
        : scriptLines() > budget.maxScriptLines
          ? `${budget.maxScriptLines} script lines (its jobs have more than that)`
          : undefined;
  if (over) {
    // One finding instead of the rules' verdicts on every job: fail closed, free the worker.
    pipeline.diagnostics = [
      ...pipeline.diagnostics.filter((d) => d.kind !== 'invalid'),
      {
        kind: 'invalid',
        message: `the CI configuration is too complex to evaluate within tierguard's budget of ${over}; it is not judged job by job`,
        location: pointLocation(pipeline.rootFile),
        keyPath: ['tierguard-budget'],
      },
    ];
    pipeline.jobs = [];
    pipeline.hiddenJobs = [];
    delete pipeline.config;
  }
  const ev = evaluatePipeline(pipeline, {
    policy: opts.policy,
    rules: pipelineRules,
    trust: defaultTrustFactory,
    defaultBranch: opts.defaultBranch,
    today: opts.today,
    strict: opts.strict,
    variables: opts.variables,
  });
  if (over) ev.findings = ev.findings.filter((f) => f.ruleId === 'ci-config-invalid');
  return ev;
}
