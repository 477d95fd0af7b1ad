/**
 * The audit report model: what `tierguard audit` gathers (runners, projects, their jobs) and what
 * it concludes (problems with evidence, the rollout plan). Everything here is plain JSON: it is
 * the `--format json` output (schema `tierguard-audit/1`, documented in docs/audit.md), the
 * resumable state file's records, and the `--baseline` input.
 */
import type { ContextId } from '../rules/types.js';

export const AUDIT_SCHEMA = 'tierguard-audit/1';

type RunnerKind = 'instance' | 'group' | 'project';
/** A runner's tier: what it should serve (deploy per environment tier, privileged builds, or everything else). */
export type AuditTier = 'deploy-production' | 'deploy-staging' | 'build' | 'general';

export interface RunnerConfigFacts {
  /** The --runner-config file and the `[[runners]]` name it was matched by. */
  file: string;
  name: string;
  matchedBy: 'id' | 'token' | 'name';
  executor: string | null;
  privileged: boolean;
  /** Runner rule findings for this entry (src/runner/rules). */
  findings: Array<{ ruleId: string; severity: 'error' | 'warning'; message: string; line: number; column: number }>;
}

export interface AuditRunner {
  id: number;
  description: string | null;
  kind: RunnerKind;
  tags: string[];
  runUntagged: boolean;
  /** `not_protected` | `ref_protected` */
  accessLevel: string;
  paused: boolean;
  locked: boolean;
  maximumTimeout: number | null;
  contactedAt: string | null;
  version: string | null;
  platform: string | null;
  /** false: GET /runners/:id was refused; tags and flags are unknown and the runner is not matched. */
  detailsReadable: boolean;
  /** Where it was listed: `group:<path>`, `project:<path>`, `instance`. */
  seenIn: string[];
  config: RunnerConfigFacts | null;
}

export interface AuditJob {
  name: string;
  file: string;
  line: number;
  column: number;
  tags: string[];
  /** Trust contexts in which the job may run (yes or unknown). */
  contexts: ContextId[];
  deploy: { tier: 'production' | 'staging'; environment: string | null } | null;
  /** Credential-like variables (policy `secretVariables`) the job references. */
  secrets: string[];
  /** Needs a privileged runner (a Docker-in-Docker service). */
  privileged: boolean;
}

interface AuditFinding {
  ruleId: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  column: number;
  job: string | null;
  fingerprint: string;
}

export interface AuditProject {
  id: number;
  path: string;
  namespace: string;
  webUrl: string;
  defaultBranch: string | null;
  ciFile: string;
  status: 'audited' | 'no-ci' | 'error';
  error?: string;
  sharedRunnersEnabled: boolean | null;
  groupRunnersEnabled: boolean | null;
  /** Project runners (null: the list was refused). */
  runnerIds: number[] | null;
  /** Protected environment names (null: not read — no deploy job — or refused, see `skipped`). */
  protectedEnvironments: string[] | null;
  protectedBranches: string[] | null;
  protectedTags: string[] | null;
  jobs: AuditJob[];
  findings: AuditFinding[];
  notes: string[];
  skipped: Array<{ what: string; reason: string }>;
}

export interface Evidence {
  project?: string;
  job?: string;
  context?: ContextId;
  file?: string;
  line?: number;
  detail: string;
}

export type ProblemKind =
  | 'mixed-trust'
  | 'general-reaches-production'
  | 'privileged-reachable-from-mr'
  | 'shared-host-state'
  | 'deploy-environment-unprotected'
  | 'protected-ref-missing'
  | 'deploy-reachable-from-untrusted';

export interface AuditProblem {
  /** Stable across runs (kind + runner/project + job): the key `--baseline` compares. */
  id: string;
  kind: ProblemKind;
  severity: 'error' | 'warning';
  runner?: number;
  project?: string;
  job?: string;
  message: string;
  evidence: Evidence[];
}

export interface RunnerAssessment {
  runner: number;
  /** What the name, tags and type suggest (policy patterns: a hint). */
  declaredTier: AuditTier | 'unknown';
  /** What it should serve, from what it runs and holds. */
  proposedTier: AuditTier;
  projects: number;
  jobs: number;
  /** Job placements by trust: untrusted contexts, merge request contexts, deploy, secret-bearing, privileged. */
  reach: { untrusted: number; mr: number; deployProduction: number; deployStaging: number; secret: number; privileged: number };
}

export interface SettingChange {
  setting: 'access_level' | 'run_untagged' | 'tag_list' | 'privileged' | 'executor';
  from: unknown;
  to: unknown;
  /** `api`: PUT /runners/:id; `config`: the runner's config.toml / Helm values. */
  where: 'api' | 'config';
}

export interface RunnerPlan {
  runner: number;
  description: string | null;
  tier: AuditTier;
  changes: SettingChange[];
  problems: string[];
}

export type ProjectAction =
  | { kind: 'retag'; job: string; from: string[]; to: string[]; why: string; problems: string[] }
  | { kind: 'rerule'; job: string; why: string; suggestion: string; problems: string[] }
  | { kind: 'protect-environment'; environment: string; job: string; why: string; problems: string[] }
  | { kind: 'protect-branch' | 'protect-tag'; ref: string; job: string; why: string; problems: string[] };

interface ProjectPlan {
  project: string;
  actions: ProjectAction[];
}

export interface PrivilegedException {
  runner: number;
  description: string | null;
  jobs: Array<{ project: string; job: string; contexts: ContextId[] }>;
  why: string;
}

export interface AuditPlan {
  runners: RunnerPlan[];
  projects: ProjectPlan[];
  exceptions: PrivilegedException[];
}

export interface AuditProgress {
  baseline: { runId: string; generatedAt: string };
  resolved: Array<{ id: string; kind: ProblemKind; message: string }>;
  added: Array<{ id: string; kind: ProblemKind; message: string }>;
  remaining: number;
}

export interface AuditReport {
  schema: typeof AUDIT_SCHEMA;
  tool: { name: 'tierguard'; version: string };
  runId: string;
  group: string;
  gitlabUrl: string;
  generatedAt: string;
  summary: {
    projects: { total: number; audited: number; noCi: number; errors: number };
    runners: { total: number; instance: number; group: number; project: number; unreadable: number };
    jobs: number;
    problems: { errors: number; warnings: number; byKind: Partial<Record<ProblemKind, number>> };
  };
  /** Each runner with its assessment and the jobs it can pick (per trust context). */
  runners: Array<AuditRunner & { assessment: RunnerAssessment; placements: Array<{ project: string; job: string; contexts: ContextId[] }> }>;
  projects: AuditProject[];
  problems: AuditProblem[];
  plan: AuditPlan;
  progress: AuditProgress | null;
  /** Reads the token was not allowed to make, and what the report therefore does not know. */
  skipped: Array<{ what: string; reason: string }>;
  stats: { gitlabCalls: number; callsPerProject: number; durationMs: number; resumedProjects: number; rateLimitedMs: number };
}
