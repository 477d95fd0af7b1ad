/**
 * The nine trust contexts of the spec ("Trust contexts" in SPEC.md) and the predefined CI/CD
 * variables GitLab sets in each (`doc/ci/variables/predefined_variables.md`).
 *
 * Ref names in untrusted contexts are chosen by whoever pushes: they are unknown values,
 * constrained to match no protected pattern (so `$CI_COMMIT_BRANCH == "main"` is false in
 * `branch` when `main` is protected, while `$CI_COMMIT_BRANCH =~ /^feature/` stays unknown).
 */
import type { Policy } from '../policy/types.js';
import { single } from '../util/array.js';
import { blank } from '../util/table.js';
import type { UnknownString, VarValue, VariableScope } from './expression.js';
import { variableRefs, type VarRefOptions } from '../model/var-refs.js';

export type ContextId =
  | 'mr-fork'
  | 'mr'
  | 'branch'
  | 'unprotected-tag'
  | 'web-unprotected'
  | 'default-branch'
  | 'protected-branch'
  | 'protected-tag'
  | 'schedule';

/** In table order: untrusted first. */
export const CONTEXT_IDS: readonly ContextId[] = [
  'mr-fork',
  'mr',
  'branch',
  'unprotected-tag',
  'web-unprotected',
  'default-branch',
  'protected-branch',
  'protected-tag',
  'schedule',
];

/**
 * Which contexts are trusted (SPEC "Trust contexts"): the one table every part of tierguard
 * reads (the contexts themselves, reach, rules, audit).
 */
export const CONTEXT_TRUSTED: Readonly<Record<ContextId, boolean>> = {
  'mr-fork': false,
  mr: false,
  branch: false,
  'unprotected-tag': false,
  'web-unprotected': false,
  'default-branch': true,
  'protected-branch': true,
  'protected-tag': true,
  schedule: true,
};
export const UNTRUSTED_CONTEXTS: readonly ContextId[] = CONTEXT_IDS.filter((id) => !CONTEXT_TRUSTED[id]);
export const TRUSTED_CONTEXTS: readonly ContextId[] = CONTEXT_IDS.filter((id) => CONTEXT_TRUSTED[id]);

export interface ContextOptions {
  defaultBranch: string;
  /** Protected branch globs (besides the default branch, which is always treated as protected). */
  protectedBranches: string[];
  /** Protected tag globs. */
  protectedTags: string[];
  /** What is known about variables that override YAML values (live data); default: nothing. */
  variables?: VariableAssumptions;
}

/**
 * What overrides YAML `variables:` (`doc/ci/variables/_index.md`, "CI/CD variable precedence":
 * pipeline, trigger and schedule variables, then project, group and instance variables, all
 * above YAML). Offline nothing is known: users may set pipeline variables, no CI/CD variable
 * is known. With live data, the project settings and variable lists fill this in.
 */
export interface VariableAssumptions {
  /**
   * Whether a user who can run pipelines (Developer) may set pipeline variables: false when
   * `ci_pipeline_variables_minimum_override_role` is maintainer/owner/no_one_allowed (with
   * `restrict_user_defined_variables` on). Undefined: not known, assumed yes.
   */
  userPipelineVariables?: boolean;
  /** Names of project, group and instance CI/CD variables: they override YAML values everywhere. */
  cicdVariables?: readonly string[];
}

/** A ref name: known, or unknown with constraints. */
type RefName = { kind: 'known'; name: string } | ({ kind: 'unknown' } & UnknownString);

/** Facts `only`/`except` and `changes` need (`lib/gitlab/ci/build/policy/refs.rb`). */
interface PipelineFacts {
  /** Possible `CI_PIPELINE_SOURCE` values (one unless the context covers several). */
  sources: string[];
  /** `pipeline.tag?` / `pipeline.branch?` / merge request pipeline. */
  refType: 'branch' | 'tag' | 'merge_request';
  /** `pipeline.ref` (branch or tag name; for MR pipelines the source branch). */
  ref: RefName;
  /** Whether a push diff exists: without one, `changes` is always true. */
  hasDiff: boolean;
}

export interface TrustContext {
  id: ContextId;
  trusted: boolean;
  label: string;
  description: string;
  /** False when the policy makes the context impossible (e.g. no protected tag patterns). */
  possible: boolean;
  /** Why it is impossible. */
  impossibleReason?: string;
  facts: PipelineFacts;
  /** Predefined variables: values, known-unset (`{kind:'unset'}`) or unknown with constraints. */
  variables: Record<string, VarValue>;
  /**
   * How whoever starts a pipeline in this context can set pipeline variables that override
   * YAML values (the run pipeline form, the API, a trigger token, `git push -o ci.variable`);
   * undefined where nobody untrusted can.
   */
  userVariables?: string;
  /** CI/CD variables known from live data (they override YAML values). */
  cicdVariables: ReadonlySet<string>;
}

/** Predefined variables tierguard reasons about; any of them a context does not set is unset. */
const TRUST_VARIABLES: readonly string[] = [
  'CI_PIPELINE_SOURCE',
  'CI_COMMIT_BRANCH',
  'CI_COMMIT_TAG',
  'CI_COMMIT_TAG_MESSAGE',
  'CI_COMMIT_REF_NAME',
  'CI_COMMIT_REF_SLUG',
  'CI_COMMIT_REF_PROTECTED',
  'CI_DEFAULT_BRANCH',
  'CI_OPEN_MERGE_REQUESTS',
  'CI_PIPELINE_TRIGGERED',
  'CI_MERGE_REQUEST_ID',
  'CI_MERGE_REQUEST_IID',
  'CI_MERGE_REQUEST_EVENT_TYPE',
  'CI_MERGE_REQUEST_PROJECT_ID',
  'CI_MERGE_REQUEST_PROJECT_PATH',
  'CI_MERGE_REQUEST_PROJECT_URL',
  'CI_MERGE_REQUEST_REF_PATH',
  'CI_MERGE_REQUEST_SOURCE_PROJECT_ID',
  'CI_MERGE_REQUEST_SOURCE_PROJECT_PATH',
  'CI_MERGE_REQUEST_SOURCE_PROJECT_URL',
  'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME',
  'CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED',
  'CI_MERGE_REQUEST_SOURCE_BRANCH_SHA',
  'CI_MERGE_REQUEST_TARGET_BRANCH_NAME',
  'CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED',
  'CI_MERGE_REQUEST_TARGET_BRANCH_SHA',
  'CI_MERGE_REQUEST_DIFF_BASE_SHA',
  'CI_MERGE_REQUEST_DIFF_ID',
  'CI_MERGE_REQUEST_TITLE',
  'CI_MERGE_REQUEST_DESCRIPTION',
  'CI_MERGE_REQUEST_DESCRIPTION_IS_TRUNCATED',
  'CI_MERGE_REQUEST_LABELS',
  'CI_MERGE_REQUEST_MILESTONE',
  'CI_MERGE_REQUEST_ASSIGNEES',
  'CI_MERGE_REQUEST_APPROVED',
  'CI_MERGE_REQUEST_DRAFT',
  'CI_MERGE_REQUEST_SQUASH_ON_MERGE',
  'CI_EXTERNAL_PULL_REQUEST_IID',
  'CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME',
  'CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME',
  'CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY',
  'CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY',
  'CI_COMMIT_BEFORE_SHA',
  'TRIGGER_PAYLOAD',
  'CHAT_INPUT',
  'CHAT_CHANNEL',
  'CHAT_USER_ID',
];

/** Always set, value not known offline. */
const ALWAYS_SET_UNKNOWN: readonly string[] = [
  'CI',
  'GITLAB_CI',
  'CI_SERVER',
  'CI_SERVER_HOST',
  'CI_SERVER_URL',
  'CI_SERVER_FQDN',
  'CI_SERVER_NAME',
  'CI_SERVER_VERSION',
  'CI_API_V4_URL',
  'CI_PROJECT_NAME',
  'CI_PROJECT_NAMESPACE',
  'CI_PROJECT_NAMESPACE_ID',
  'CI_PROJECT_ROOT_NAMESPACE',
  'CI_PROJECT_URL',
  'CI_PROJECT_TITLE',
  'CI_PROJECT_VISIBILITY',
  'CI_PROJECT_DIR',
  'CI_COMMIT_SHA',
  'CI_COMMIT_SHORT_SHA',
  'CI_COMMIT_TIMESTAMP',
  'CI_COMMIT_MESSAGE',
  'CI_COMMIT_TITLE',
  'CI_COMMIT_DESCRIPTION',
  'CI_COMMIT_AUTHOR',
  'CI_PIPELINE_ID',
  'CI_PIPELINE_IID',
  'CI_PIPELINE_URL',
  'CI_PIPELINE_CREATED_AT',
  'CI_CONFIG_PATH',
  'GITLAB_USER_ID',
  'GITLAB_USER_LOGIN',
  'GITLAB_USER_NAME',
  'GITLAB_USER_EMAIL',
];

const set = (value: string): VarValue => ({ kind: 'set', value });
const UNSET: VarValue = { kind: 'unset' };
const defined = (extra: UnknownString = {}): VarValue => ({ kind: 'unknown', mayBeUnset: false, mayBeEmpty: false, ...extra });
const maybe = (extra: UnknownString = {}): VarValue => ({ kind: 'unknown', mayBeUnset: true, mayBeEmpty: false, ...extra });

function refValue(ref: RefName): VarValue {
  if (ref.kind === 'known') return set(ref.name);
  const { kind: _k, ...c } = ref;
  return { kind: 'unknown', mayBeUnset: false, mayBeEmpty: false, ...c };
}

export function contextOptionsFromPolicy(policy: Pick<Policy, 'protected'>, defaultBranch = 'main'): ContextOptions {
  return {
    defaultBranch,
    protectedBranches: [...policy.protected.branches],
    protectedTags: [...policy.protected.tags],
  };
}

/** Build the nine contexts for a project. */
export function buildContexts(opts: ContextOptions): Record<ContextId, TrustContext> {
  const def = opts.defaultBranch || 'main';
  const protBranches = [...new Set([def, ...opts.protectedBranches])];
  const otherProtected = opts.protectedBranches.filter((g) => g !== def);
  const protTags = opts.protectedTags;

  const unprotectedBranch: RefName = { kind: 'unknown', notMatching: protBranches, symbol: 'source-branch' };
  const forkBranch: RefName = { kind: 'unknown', symbol: 'fork-branch' };
  const unprotectedTag: RefName = { kind: 'unknown', notMatching: protTags, symbol: 'tag' };
  const oneProtected = single(otherProtected);
  const protectedBranch: RefName =
    oneProtected !== undefined && !/[*?]/.test(oneProtected)
      ? { kind: 'known', name: oneProtected }
      : { kind: 'unknown', matching: otherProtected, notMatching: [def], symbol: 'protected-branch' };
  const oneTag = single(protTags);
  const protectedTag: RefName =
    oneTag !== undefined && !/[*?]/.test(oneTag)
      ? { kind: 'known', name: oneTag }
      : { kind: 'unknown', matching: protTags, symbol: 'protected-tag' };

  const base: Record<string, VarValue> = {};
  for (const n of TRUST_VARIABLES) base[n] = UNSET;
  for (const n of ALWAYS_SET_UNKNOWN) base[n] = defined();
  base.CI_DEFAULT_BRANCH = set(def);
  base.CI_PROJECT_ID = defined({ symbol: 'project-id' });
  base.CI_PROJECT_PATH = defined({ symbol: 'project-path' });
  base.CI_PROJECT_PATH_SLUG = defined({ symbol: 'project-path-slug' });
  base.CI_COMMIT_REF_SLUG = defined();
  base.CI_COMMIT_BEFORE_SHA = defined();

  const branchVars = (ref: RefName, isProtected: boolean, openMrs: VarValue): Record<string, VarValue> => ({
    CI_COMMIT_BRANCH: refValue(ref),
    CI_COMMIT_REF_NAME: refValue(ref),
    CI_COMMIT_REF_PROTECTED: set(String(isProtected)),
    CI_OPEN_MERGE_REQUESTS: openMrs,
  });
  const tagVars = (ref: RefName, isProtected: boolean): Record<string, VarValue> => ({
    CI_COMMIT_TAG: refValue(ref),
    CI_COMMIT_REF_NAME: refValue(ref),
    CI_COMMIT_REF_PROTECTED: set(String(isProtected)),
    CI_COMMIT_TAG_MESSAGE: { kind: 'unknown', mayBeUnset: true, mayBeEmpty: true },
  });
  const mrVars = (fork: boolean): Record<string, VarValue> => {
    const src = fork ? forkBranch : unprotectedBranch;
    return {
      CI_COMMIT_REF_NAME: refValue(src),
      CI_COMMIT_REF_PROTECTED: set('false'),
      CI_OPEN_MERGE_REQUESTS: defined(),
      CI_MERGE_REQUEST_ID: defined(),
      CI_MERGE_REQUEST_IID: defined(),
      CI_MERGE_REQUEST_EVENT_TYPE: defined({ oneOf: ['detached', 'merged_result', 'merge_train'] }),
      CI_MERGE_REQUEST_PROJECT_ID: defined({ symbol: 'project-id' }),
      CI_MERGE_REQUEST_PROJECT_PATH: defined({ symbol: 'project-path' }),
      CI_MERGE_REQUEST_PROJECT_URL: defined(),
      CI_MERGE_REQUEST_REF_PATH: defined(),
      CI_MERGE_REQUEST_SOURCE_PROJECT_ID: defined({ symbol: fork ? 'fork-project-id' : 'project-id' }),
      CI_MERGE_REQUEST_SOURCE_PROJECT_PATH: defined({ symbol: fork ? 'fork-project-path' : 'project-path' }),
      CI_MERGE_REQUEST_SOURCE_PROJECT_URL: defined(),
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: refValue(src),
      CI_MERGE_REQUEST_SOURCE_BRANCH_PROTECTED: set('false'),
      CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: { kind: 'unknown', mayBeUnset: false, mayBeEmpty: true },
      // the author picks the target branch: it may well be the default branch
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: defined({ symbol: 'target-branch' }),
      CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED: defined({ oneOf: ['true', 'false'] }),
      CI_MERGE_REQUEST_TARGET_BRANCH_SHA: { kind: 'unknown', mayBeUnset: false, mayBeEmpty: true },
      CI_MERGE_REQUEST_DIFF_BASE_SHA: defined(),
      CI_MERGE_REQUEST_DIFF_ID: defined(),
      CI_MERGE_REQUEST_TITLE: defined(),
      CI_MERGE_REQUEST_DESCRIPTION: { kind: 'unknown', mayBeUnset: false, mayBeEmpty: true },
      CI_MERGE_REQUEST_DESCRIPTION_IS_TRUNCATED: defined({ oneOf: ['true', 'false'] }),
      CI_MERGE_REQUEST_LABELS: maybe(),
      CI_MERGE_REQUEST_MILESTONE: maybe(),
      CI_MERGE_REQUEST_ASSIGNEES: maybe(),
      CI_MERGE_REQUEST_APPROVED: maybe({ oneOf: ['true'] }),
      CI_MERGE_REQUEST_DRAFT: maybe({ oneOf: ['true'] }),
      CI_MERGE_REQUEST_SQUASH_ON_MERGE: maybe({ oneOf: ['true'] }),
    };
  };

  const mk = (
    id: ContextId,
    trusted: boolean,
    label: string,
    description: string,
    facts: PipelineFacts,
    vars: Record<string, VarValue>,
    impossibleReason?: string,
  ): TrustContext => {
    const sources = facts.sources;
    const oneSource = single(sources);
    // No prototype: expressions look names up here (`$constructor` is a variable like any other).
    const variables: Record<string, VarValue> = Object.assign(blank<VarValue>(), base, {
      CI_PIPELINE_SOURCE: oneSource !== undefined ? set(oneSource) : defined({ oneOf: sources }),
      ...vars,
    });
    const how = opts.variables?.userPipelineVariables === false ? undefined : USER_VARIABLES[id];
    const out: TrustContext = { id, trusted, label, description, possible: !impossibleReason, impossibleReason, facts, variables, cicdVariables };
    if (how) out.userVariables = how;
    return out;
  };
  const cicdVariables: ReadonlySet<string> = new Set(opts.variables?.cicdVariables ?? []);

  const branchesAllProtected = opts.protectedBranches.includes('*');
  const tagsAllProtected = protTags.includes('*');

  return {
    'mr-fork': mk(
      'mr-fork',
      CONTEXT_TRUSTED['mr-fork'],
      'MR (fork)',
      'merge request pipeline from a fork, run in the parent project',
      { sources: ['merge_request_event'], refType: 'merge_request', ref: forkBranch, hasDiff: true },
      mrVars(true),
    ),
    mr: mk(
      'mr',
      CONTEXT_TRUSTED['mr'],
      'MR',
      'merge request pipeline from a branch of the same project',
      { sources: ['merge_request_event'], refType: 'merge_request', ref: unprotectedBranch, hasDiff: true },
      mrVars(false),
    ),
    branch: mk(
      'branch',
      CONTEXT_TRUSTED['branch'],
      'branch',
      'push to an unprotected branch',
      { sources: ['push'], refType: 'branch', ref: unprotectedBranch, hasDiff: true },
      // a branch with an open MR has CI_OPEN_MERGE_REQUESTS
      branchVars(unprotectedBranch, false, maybe()),
      branchesAllProtected ? 'every branch is protected (`*`)' : undefined,
    ),
    'unprotected-tag': mk(
      'unprotected-tag',
      CONTEXT_TRUSTED['unprotected-tag'],
      'tag',
      'push of a tag that is not protected',
      { sources: ['push'], refType: 'tag', ref: unprotectedTag, hasDiff: false },
      tagVars(unprotectedTag, false),
      tagsAllProtected ? 'every tag is protected (`*`)' : undefined,
    ),
    'web-unprotected': mk(
      'web-unprotected',
      CONTEXT_TRUSTED['web-unprotected'],
      'web/API',
      'pipeline run from the UI, the API or a trigger token on an unprotected branch',
      { sources: ['web', 'api', 'trigger'], refType: 'branch', ref: unprotectedBranch, hasDiff: false },
      {
        ...branchVars(unprotectedBranch, false, maybe()),
        CI_PIPELINE_TRIGGERED: maybe({ oneOf: ['true'] }),
        TRIGGER_PAYLOAD: maybe(),
      },
      branchesAllProtected ? 'every branch is protected (`*`)' : undefined,
    ),
    'default-branch': mk(
      'default-branch',
      CONTEXT_TRUSTED['default-branch'],
      'default branch',
      `push to the default branch (${def})`,
      { sources: ['push'], refType: 'branch', ref: { kind: 'known', name: def }, hasDiff: true },
      branchVars({ kind: 'known', name: def }, true, UNSET),
    ),
    'protected-branch': mk(
      'protected-branch',
      CONTEXT_TRUSTED['protected-branch'],
      'protected branch',
      `push to another protected branch (${otherProtected.join(', ') || 'none in policy'})`,
      { sources: ['push'], refType: 'branch', ref: protectedBranch, hasDiff: true },
      branchVars(protectedBranch, true, UNSET),
      otherProtected.length === 0 ? 'the policy protects no branch besides the default branch' : undefined,
    ),
    'protected-tag': mk(
      'protected-tag',
      CONTEXT_TRUSTED['protected-tag'],
      'protected tag',
      `push of a protected tag (${protTags.join(', ') || 'none in policy'})`,
      { sources: ['push'], refType: 'tag', ref: protectedTag, hasDiff: false },
      tagVars(protectedTag, true),
      protTags.length === 0 ? 'the policy protects no tag' : undefined,
    ),
    schedule: mk(
      'schedule',
      CONTEXT_TRUSTED['schedule'],
      'schedule',
      `scheduled pipeline on the default branch (${def})`,
      { sources: ['schedule'], refType: 'branch', ref: { kind: 'known', name: def }, hasDiff: false },
      branchVars({ kind: 'known', name: def }, true, UNSET),
    ),
  };
}

/**
 * Where whoever starts the pipeline may set pipeline variables (`doc/ci/variables/_index.md`):
 * web/API/trigger pipelines on unprotected refs, and pushes with `git push -o ci.variable=…`
 * (`doc/topics/git/commit.md#push-options-for-gitlab-cicd`). Merge request pipelines take no
 * pipeline variables from their author; trusted contexts are started by trusted people.
 */
const USER_VARIABLES: Partial<Record<ContextId, string>> = {
  'web-unprotected': 'the run pipeline form, the API or a trigger token',
  branch: '`git push -o ci.variable=…`',
  'unprotected-tag': '`git push -o ci.variable=…`',
};

/** How a YAML variable's value stands in a context: the YAML default, or overridable (and by what). */
export function yamlVariableStatus(ctx: TrustContext, name: string): { overridable: false } | { overridable: true; cicd: boolean } {
  if (ctx.cicdVariables.has(name)) return { overridable: true, cicd: true };
  if (ctx.userVariables) return { overridable: true, cicd: false };
  return { overridable: false };
}

/**
 * The variable scope of a context: YAML variables (global + job, already merged by the caller)
 * are the defaults, known unless the context lets a pipeline variable override them or a CI/CD
 * variable of that name is known; predefined variables come from the context; anything else is
 * unknown (project/group/instance variables, pipeline variables).
 */
export function contextScope(ctx: TrustContext, yamlVariables: Record<string, string | undefined> = {}): VariableScope {
  return {
    lookup(name: string): VarValue {
      const p = ctx.variables[name];
      if (Object.prototype.hasOwnProperty.call(yamlVariables, name)) {
        const v = yamlVariables[name];
        // a value that expands other variables is not known offline
        if (v === undefined) return { kind: 'unknown' };
        // a pipeline variable may set any value, the empty string included
        if (yamlVariableStatus(ctx, name).overridable) return { kind: 'unknown', mayBeUnset: false, mayBeEmpty: true };
        return set(v);
      }
      if (p) return p;
      return { kind: 'unknown' };
    },
  };
}

/**
 * Predefined variables whose value whoever pushes, tags or opens the merge request chooses
 * (`doc/ci/variables/predefined_variables.md`): ref names (and their slug), merge request and
 * commit texts, the trigger payload.
 */
const CHOSEN_BY_PUSHER: ReadonlySet<string> = new Set([
  'CI_COMMIT_BRANCH',
  'CI_COMMIT_REF_NAME',
  'CI_COMMIT_REF_SLUG',
  'CI_COMMIT_TAG',
  'CI_COMMIT_TAG_MESSAGE',
  'CI_COMMIT_MESSAGE',
  'CI_COMMIT_TITLE',
  'CI_COMMIT_DESCRIPTION',
  'CI_COMMIT_AUTHOR',
  'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME',
  'CI_MERGE_REQUEST_TITLE',
  'CI_MERGE_REQUEST_DESCRIPTION',
  'CI_MERGE_REQUEST_LABELS',
  'CI_MERGE_REQUEST_MILESTONE',
  'CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME',
  'GITLAB_USER_NAME',
  'TRIGGER_PAYLOAD',
  'CHAT_INPUT',
]);

/** `$NAME` / `${NAME}` references in a value (`$$` is a literal dollar), in order, repeats kept. */
export function variableReferences(text: string): string[] {
  return variableRefs(text, VALUE_REFS).map((r) => r.name);
}
const VALUE_REFS: VarRefOptions = { powershell: false, percent: false, names: 'word' };

/**
 * Why the value of `name` is chosen by whoever starts the pipeline in an untrusted context, or
 * undefined: a predefined ref name or text they write; a YAML variable a pipeline variable may
 * override there, or whose value expands such a variable; a variable defined nowhere that a
 * pipeline variable may set. Project, group and instance variables are set by maintainers.
 */
export function chosenInContext(ctx: TrustContext, name: string, yaml: ReadonlyMap<string, { value: string; expand: boolean }>, depth = 0): string | undefined {
  if (ctx.trusted || !ctx.possible || depth > 5) return undefined;
  const predefined = ctx.variables[name];
  if (CHOSEN_BY_PUSHER.has(name)) return predefined && predefined.kind !== 'unset' ? `$${name} is chosen by whoever starts the pipeline` : undefined;
  const def = yaml.get(name);
  if (def) {
    const st = yamlVariableStatus(ctx, name);
    if (st.overridable && !st.cicd) return `$${name} may be set by a pipeline variable (${ctx.userVariables})`;
    if (!def.expand) return undefined;
    for (const ref of variableReferences(def.value)) {
      if (ref === name) continue;
      const why = chosenInContext(ctx, ref, yaml, depth + 1);
      if (why) return `$${name} = ${def.value}: ${why}`;
    }
    return undefined;
  }
  if (predefined || ctx.cicdVariables.has(name)) return undefined;
  return ctx.userVariables ? `$${name} may be set by a pipeline variable (${ctx.userVariables})` : undefined;
}
