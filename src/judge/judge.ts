/**
 * `judge()`: the one judgment the CLI (`tierguard lint`), the service (the MR review) and the
 * audit share. Given the configuration (a CI root file through a ConfigSource, runner config
 * files as text), the policy and the facts of the context (default branch, strictness, today,
 * variable assumptions, live GitLab access), it runs every rule family through the one Reporter
 * route and returns one Judgment. Callers differ only in how they collect the inputs and what
 * they do with the verdict.
 */
import type { VariableAssumptions } from '../contexts/contexts.js';
import type { Finding } from '../findings/finding.js';
import { SourceFiles } from '../findings/sources.js';
import { isTransient } from '../gitlab/errors.js';
import type { GitLabApi } from '../gitlab/types.js';
import type { LiveVariables } from '../live/assumptions.js';
import type { LiveCache } from '../live/cache.js';
import type { SkippedCheck } from '../live/check.js';
import type { ProtectedRefs } from '../live/protected-refs.js';
import type { ConfigSource } from '../model/source.js';
import type { PolicyIssue } from '../policy/errors.js';
import { projectOverrideFindings } from '../policy/project-findings.js';
import type { Policy } from '../policy/types.js';
import { jobsWithTrust, type Evaluation, type JudgedJob } from '../rules/engine.js';
import { lintPipeline, type EvaluationBudget } from '../rules/run.js';
import { checkRunnerConfig } from '../runner/check.js';

export interface RunnerFile {
  path: string;
  text: string;
}

export interface JudgeInput {
  policy: Policy;
  /** The CI configuration: its root file, read through `source` with its includes. */
  ci?: { source: ConfigSource; rootFile: string };
  /**
   * Runner configuration files (`config.toml`, gitlab-runner Helm values) as text, or how to
   * read them: called after the CI files were read (the service's file cache then serves the CI
   * files among them as the configuration source read them).
   */
  runnerFiles?: readonly RunnerFile[] | (() => Promise<readonly RunnerFile[]>);
  /** Offline default: `main`. */
  defaultBranch?: string;
  /** Unread configuration is a blocking `ci-config-unverified` finding (service, `--strict`). */
  strict?: boolean;
  /** For exception expiry (default: now). */
  today?: Date;
  /**
   * What live data says about variables that override YAML values: the assumptions, or as read
   * by `readLiveVariables` (its unread parts are skipped checks of the judgment).
   */
  variables?: VariableAssumptions | LiveVariables;
  budget?: Partial<EvaluationBudget>;
  /** Settings a project file tried and the team policy refused (`policy-project-override-rejected`), rated by `teamPolicy`. */
  projectOverride?: { rejections: readonly PolicyIssue[]; teamPolicy: Policy };
  /** Live checks against the project as GitLab has it (needs `ci`; see `judgeLive`). */
  live?: LiveAccess;
}

export interface LiveAccess {
  api: GitLabApi;
  projectId: number | string;
  /** The project's protected refs when the caller has read them already. */
  protectedRefs?: ProtectedRefs;
  cache?: LiveCache;
}

export interface Judgment {
  /**
   * Every finding, suppressed ones included (marked, never blocking), in one stable order:
   * the pipeline's (sorted), each runner file's (sorted), the policy's, the live checks' (sorted).
   */
  findings: Finding[];
  /** Informational notes of the pipeline and the runner files (never findings). */
  notes: string[];
  /** Every file read, secrets registered for masking. */
  sources: SourceFiles;
  /** The pipeline evaluation when a CI file was judged: per-job trust, child evaluations, the model. */
  evaluation?: Evaluation;
  /**
   * Every job judged, child pipeline jobs included (after their trigger job): its trust and the
   * DeployInfo the rules judged it by, for consumers that must not recompute either. Listed
   * when first read.
   */
  readonly jobs: JudgedJob[];
  /** Runner files judged (read and parsed). */
  runnerFiles: string[];
  /** Runner files that could not be read, with why. */
  unreadable: { path: string; error: Error }[];
  /** Live checks that could not run (never a pass). */
  skipped: SkippedCheck[];
  /** The live checks' own notes (untagged jobs, skip lines as they word them). */
  liveNotes: string[];
  /** Why the live checks as a whole could not run, when they could not. */
  liveError?: string;
}

/** A judgment of a CI configuration: it has the pipeline evaluation. */
export type CiJudgment = Judgment & { evaluation: Evaluation };

export async function judge(input: JudgeInput & Required<Pick<JudgeInput, 'ci'>>): Promise<CiJudgment>;
export async function judge(input: JudgeInput): Promise<Judgment>;
export async function judge(input: JudgeInput): Promise<Judgment> {
  const today = input.today ?? new Date();
  const { policy } = input;
  // The jobs with their trust, listed when first read (the audit reads them; a CLI `lint` does
  // not, and its rules ask the trust of only the jobs they report on).
  let judged: JudgedJob[] | undefined;
  const j: Judgment = {
    findings: [],
    notes: [],
    sources: new SourceFiles(),
    get jobs() {
      return (judged ??= j.evaluation ? jobsWithTrust(j.evaluation) : []);
    },
    runnerFiles: [],
    unreadable: [],
    skipped: [],
    liveNotes: [],
  };

  const given = input.variables;
  const liveVariables = given && 'assumptions' in given ? given : undefined;
  const variables = given && 'assumptions' in given ? given.assumptions : given;
  if (liveVariables) {
    // Worded as runLiveChecks words its skipped reads.
    j.skipped.push(...liveVariables.skipped);
    j.liveNotes.push(...liveVariables.skipped.map((s) => `Live check \`${s.check}\` skipped: ${s.reason} (needs ${s.needs}).`));
  }

  if (input.ci) {
    const ev = await lintPipeline(input.ci.source, input.ci.rootFile, {
      policy,
      defaultBranch: input.defaultBranch,
      today,
      strict: input.strict,
      variables,
      budget: input.budget,
    });
    j.evaluation = ev;
    j.sources.absorb(ev.sources);
    j.findings.push(...ev.findings);
    j.notes.push(...ev.notes);
  }

  const runnerFiles = typeof input.runnerFiles === 'function' ? await input.runnerFiles() : (input.runnerFiles ?? []);
  for (const file of runnerFiles) {
    try {
      const r = checkRunnerConfig(file.path, file.text, policy, { today });
      j.runnerFiles.push(file.path);
      j.sources.absorb(r.sources);
      j.findings.push(...r.findings);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      j.unreadable.push({ path: file.path, error });
      j.notes.push(`${file.path}: runner configuration could not be read: ${firstLine(error.message)}`);
    }
  }

  if (input.projectOverride) j.findings.push(...projectOverrideFindings(input.projectOverride.rejections, input.projectOverride.teamPolicy));

  if (input.live) await judgeLive(j, { policy, today, live: input.live });
  return j;
}

/**
 * The live checks of a judgment (its head pipeline against what GitLab has now), added to it:
 * `judge()` runs them when given live access; the service runs them once it knows the MR changes
 * what tierguard judges (no GitLab reads for an MR that does not).
 */
export async function judgeLive(j: Judgment, opts: { policy: Policy; today: Date; live: LiveAccess }): Promise<void> {
  if (!j.evaluation) return;
  const { runLiveChecks } = await import('../live/check.js');
  const { api, projectId, protectedRefs, cache } = opts.live;
  try {
    const r = await runLiveChecks(api, { projectId, evaluation: j.evaluation, policy: opts.policy, ...(protectedRefs ? { protectedRefs } : {}) }, { ...(cache ? { cache } : {}), today: opts.today });
    j.findings.push(...r.findings);
    j.skipped.push(...r.skipped);
    j.liveNotes.push(...r.notes);
  } catch (err) {
    // A transient GitLab failure is retried by the caller; anything else (a bad rule option in
    // the policy, …) skips every live check with the reason rather than failing the judgment.
    if (isTransient(err)) throw err;
    j.liveError = firstLine(err instanceof Error ? err.message : String(err));
    j.skipped.push({ check: 'live checks', needs: 'a valid policy and GitLab access', reason: j.liveError });
  }
}

/** A short, single-line error text. */
function firstLine(msg: string): string {
  return (msg.split('\n')[0] ?? '').slice(0, 200);
}
