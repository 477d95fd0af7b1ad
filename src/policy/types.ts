import type { Severity } from '../findings/finding.js';

/** A rule's effective setting after all policy layers: severity `off` disables it. */
export interface RuleSetting {
  severity: Severity | 'off';
  options: Record<string, unknown>;
}

export interface PolicyException {
  rule: string;
  /** Applies to this job (exact name) … */
  job?: string;
  /** … and/or to findings in this file (glob). */
  file?: string;
  reason: string;
  /** ISO date (YYYY-MM-DD); past it, the exception stops applying and is itself reported. */
  expires: string;
  /** Where the exception was written (policy file and line), for the expired-exception report. */
  source?: { file: string; line: number; column: number };
}

/**
 * The resolved policy after layering default ← group ← subgroup (← project file when allowed).
 * Glob patterns use `*` (any run of characters) and `?` like GitLab's protected ref wildcards.
 */
export interface Policy {
  tiers: {
    /** Runner tags of the general (untrusted) tier. */
    general: string[];
    /** Runner tags of the build tier (privileged builds, trusted refs only). */
    build: string[];
    /** Runner tags of the deploy tier per environment tier. */
    deploy: { production: string[]; staging: string[] };
  };
  /** Environment name patterns per tier (matched against `environment:name` / `deployment_tier`). */
  environments: { production: string[]; staging: string[] };
  /** Protected refs besides the default branch. */
  protected: { branches: string[]; tags: string[] };
  /** Variable name patterns that look like credentials. */
  secretVariables: string[];
  /** Hosts `include:remote` may be fetched from (service) and trusted from. */
  remoteIncludeHosts: string[];
  /** Per-rule settings (only rules that a policy layer mentions; others use their defaults). */
  rules: Record<string, RuleSetting>;
  runners: {
    /** Runner name/description patterns per tier; first match wins, else general. */
    tiers: { deploy: string[]; build: string[] };
    /** Build-tier runner name patterns allowed `privileged = true`. */
    privilegedAllowed: string[];
    /** Host paths that must never be mounted into job containers. */
    deniedHostPaths: string[];
  };
  review: {
    /** `new`: only findings new in the MR block; `all`: every blocking finding blocks. */
    blockOn: 'new' | 'all';
    /** Whether a project's `.gitlab/tierguard.yml` (read from the target branch) may apply. */
    allowProjectOverrides: boolean;
    /** At most this many inline discussions per MR (blocking first); the rest are listed in the summary. */
    maxInlineDiscussions: number;
  };
  exceptions: PolicyException[];
  /** The policy files applied, in layering order (shown in the summary note). */
  sources: string[];
}
