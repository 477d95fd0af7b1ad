/**
 * Live rules judge the YAML against what GitLab really has (runners, protected environments,
 * CI/CD variables, project settings). Each rule is one module under ./rules/<id>.ts with its
 * RuleMeta (kind 'live') and an async `run` that loads only the data it needs through the
 * context: data the token cannot read makes the check *skipped*, never passed.
 */
import type { ReportSink } from '../findings/finding.js';
import type {
  GitLabProjectCiSettings,
  GitLabProtectedEnvironment,
  GitLabRunner,
  GitLabVariable,
} from '../gitlab/types.js';
import type { Policy } from '../policy/types.js';
import type { ProtectedRefs } from './protected-refs.js';
import type { Evaluation } from '../rules/engine.js';
import type { RuleMeta } from '../findings/rule-meta.js';

/** Variables of one ancestor group of the project (nearest group first in the list). */
export interface GroupVariables {
  group: string;
  variables: GitLabVariable[];
}

/** Everything a live check may fetch, one key per GitLab read (cached per project). */
export interface LiveData {
  runners: GitLabRunner[];
  protectedEnvironments: GitLabProtectedEnvironment[];
  projectVariables: GitLabVariable[];
  /**
   * Ancestor groups' variables that could be read, plus the groups that could not: those are
   * reported as a partial skip by the rules that use them.
   */
  groupVariables: { groups: GroupVariables[]; unreadable: { group: string; reason: string }[] };
  settings: GitLabProjectCiSettings;
  /** Protected branches and (Maintainer) protected tag rules; tags null without the role. */
  protectedRefs: ProtectedRefs;
}
export type LiveDataKey = keyof LiveData;

/** What each read needs (role / scope), shown with a skipped check. */
export const NEEDS: Record<LiveDataKey, string> = {
  runners: 'Maintainer role on the project (GET /projects/:id/runners, GET /runners/:id), token scope read_api',
  protectedEnvironments: 'Maintainer role on the project (GET /projects/:id/protected_environments; GitLab Premium), token scope read_api',
  projectVariables: 'Maintainer role on the project (GET /projects/:id/variables), token scope read_api',
  groupVariables: 'Owner role in each ancestor group (GET /groups/:id/variables: admin_cicd_variables is in group_policy.rb owner block), token scope read_api',
  settings: 'Maintainer role on the project (CI/CD settings in GET /projects/:id), token scope read_api',
  protectedRefs: 'Reporter role on the project (GET /projects/:id/protected_branches), token scope read_api',
};

/** Thrown by `ctx.load` when the data cannot be read: the check is reported as skipped. */
export class SkipCheck extends Error {
  override readonly name = 'SkipCheck';
  constructor(
    readonly needs: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface LiveRuleContext<O = Record<string, unknown>> extends ReportSink {
  projectId: number | string;
  evaluation: Evaluation;
  policy: Policy;
  options: O;
  /** Fetch (or take from the cache) one kind of GitLab data; throws SkipCheck when unreadable. */
  load<K extends LiveDataKey>(key: K): Promise<LiveData[K]>;
  /** An informational line for the summary note (never a finding). */
  note(text: string): void;
  /** A part of this check could not run (e.g. one group's variables): reported as skipped. */
  skipPart(needs: string, reason: string): void;
}

export interface LiveRule<O = Record<string, unknown>> {
  meta: RuleMeta<O>;
  run(ctx: LiveRuleContext<O>): Promise<void>;
}

export function defineLiveRule<O>(rule: LiveRule<O>): LiveRule<O> {
  return rule;
}
