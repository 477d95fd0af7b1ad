/**
 * Which trust contexts a job can run in: `workflow:rules`, `rules`, `only`/`except` evaluated
 * under each context of contexts.ts with the three-valued evaluator of expression.ts.
 *
 * GitLab sources mirrored here (gitlabhq/gitlabhq):
 * - `lib/gitlab/ci/build/rules.rb`, `build/rules/rule.rb`, `build/rules/rule/clause/*.rb`: first
 *   matching rule wins, clauses (`if`, `changes`, `exists`) are ANDed, a match without `when`
 *   uses the job's `when` (default `on_success`), no match → the job is not created.
 * - `lib/gitlab/ci/config/entry/processable.rb`: with `rules` or `workflow:rules`, the implicit
 *   `only: { refs: [branches, tags] }` / `except` defaults are removed.
 * - `lib/gitlab/ci/pipeline/seed/build.rb`: `all_of_only? && none_of_except?`.
 * - `lib/gitlab/ci/build/policy/refs.rb`: `tags`/`branches` keywords, the pipeline source (with
 *   `_event` removed) or its plural, and names or `/regex/` matched only in branch and tag
 *   pipelines; `name@project/path` restricts to a project.
 * - `lib/gitlab/ci/build/policy/variables.rb` (any expression true), `policy/changes.rb`.
 * - `doc/ci/jobs/job_rules.md`: `changes` is always true where there is no push diff.
 */
import type { SourceLocation } from '../model/location.js';
import { isMap, isScalar, isSeq, str, type YMap, type YNode } from '../model/node.js';
import { BoundedMemo, YAML_TEXT_CHARS } from '../util/bounded-memo.js';
import { buildContexts, CONTEXT_IDS, CONTEXT_TRUSTED, contextScope, type ContextId, type ContextOptions, type TrustContext } from './contexts.js';
import {
  evaluate,
  parseExpression,
  variablesOf,
  type EvalResult,
  type Expr,
  regexFromValue,
  safeRegexTest,
  translateRegex,
  literalShape,
  type Tri,
  type UnknownString,
  type VariableScope,
} from './expression.js';
import { matchesAny } from '../util/glob.js';
import { blank } from '../util/table.js';
import { flatMap } from '../util/array.js';

type When = 'on_success' | 'manual' | 'delayed' | 'always' | 'on_failure' | 'never';
const WHENS: readonly When[] = ['on_success', 'manual', 'delayed', 'always', 'on_failure', 'never'];

export interface Outcome {
  runs: Tri;
  /** How the job starts when it runs (`never` when it does not run). */
  when: When;
  /** Human explanation. */
  reason: string;
  /** The deciding rule / `if` / `only` entry. */
  at?: SourceLocation;
  /** Variables whose unknown value made `runs` unknown. */
  unknownVariables?: string[];
  /** Every `when` the job may start with, when more than one is possible. */
  possibleWhen?: When[];
  /** Invalid expressions or keywords met on the way (treated as unknown). */
  errors?: { message: string; at?: SourceLocation }[];
  /**
   * What the outcome rests on about YAML variables the rules read, e.g. "`$DEPLOY` has its YAML
   * value `false` unless a project or group CI/CD variable overrides it", or "`$DEPLOY` (YAML
   * default `false`) may be overridden by a pipeline variable (the run pipeline form …)".
   */
  assumptions?: string[];
}

export interface JobReachInput {
  rules?: YNode;
  only?: YNode;
  except?: YNode;
  when?: YNode;
}

export interface ReachOptions {
  workflowRules?: YNode;
  /**
   * YAML `variables:` (global merged with the job's): known values. `undefined` marks a variable
   * that is declared but whose value is not known offline (e.g. it expands `$OTHER`).
   */
  variables?: Record<string, string | undefined>;
  /** Contexts (or the options to build them); default: builtin `main`, no other protection. */
  contexts?: Record<ContextId, TrustContext> | ContextOptions;
  /** File existence for `rules:exists`; `undefined` = cannot tell. */
  exists?: (globs: string[]) => boolean | undefined;
}

export type JobReach = Record<ContextId, Outcome>;

export interface JobTrust {
  /** Whether (and how) the job runs in each context: runs yes/no/unknown, when, reason, deciding rule. */
  byContext: Record<ContextId, Outcome>;
  /** Untrusted contexts where the job may run (runs yes or unknown). */
  untrusted: ContextId[];
  /** Trusted contexts where the job may run. */
  trusted: ContextId[];
  /**
   * Contexts (where the job may run) in which whoever starts the pipeline chooses a runner tag,
   * because `tags:` interpolate a variable they control: the job may be routed to any runner
   * (`$CI_COMMIT_REF_NAME`, a `$RUNNER_TAG` pipeline variable …), with the reasons.
   */
  attackerChosenTags?: Partial<Record<ContextId, string[]>>;
}



export function canRun(o: Outcome): boolean {
  return o.runs !== 'no';
}

export function untrustedContexts(reach: Partial<JobReach>, contexts?: Record<ContextId, TrustContext>): ContextId[] {
  return filterContexts(reach, false, contexts);
}
export function trustedContexts(reach: Partial<JobReach>, contexts?: Record<ContextId, TrustContext>): ContextId[] {
  return filterContexts(reach, true, contexts);
}

function isTrusted(id: ContextId): boolean {
  return CONTEXT_TRUSTED[id];
}

function filterContexts(reach: Partial<JobReach>, trusted: boolean, contexts?: Record<ContextId, TrustContext>): ContextId[] {
  return CONTEXT_IDS.filter((id) => {
    const o = reach[id];
    const t = contexts ? contexts[id].trusted : CONTEXT_TRUSTED[id];
    return o !== undefined && t === trusted && canRun(o);
  });
}

/** The `ContextMatrix` helpers as one object. */
export const ContextMatrix = { untrustedContexts, trustedContexts, canRun, isTrusted };

function resolveContexts(c: ReachOptions['contexts']): Record<ContextId, TrustContext> {
  if (!c) return buildContexts({ defaultBranch: 'main', protectedBranches: [], protectedTags: [] });
  if ('defaultBranch' in c) return buildContexts(c);
  return c;
}

/** Evaluate a job under every context. */
export function reachJob(job: JobReachInput, opts: ReachOptions = {}): JobReach {
  const contexts = resolveContexts(opts.contexts);
  const plain = plainJobKey(job, opts);
  let byWhen: Map<string, JobReach> | undefined;
  if (plain !== undefined) {
    byWhen = plainMemo.get(contexts);
    if (!byWhen) plainMemo.set(contexts, (byWhen = new Map<string, JobReach>()));
    const hit = byWhen.get(plain);
    if (hit) return hit;
  }
  const slots = ruleSlots(job, contexts, opts);
  const out = {} as JobReach;
  for (const id of CONTEXT_IDS) out[id] = reachInContext(job, contexts[id], opts, slots);
  if (plain !== undefined) byWhen?.set(plain, out);
  return out;
}

/**
 * A job without `rules`, `only` or `except` in a pipeline without `workflow:rules` runs where
 * the implicit `only: [branches, tags]` lets it, with its `when`: what it says in every context
 * depends on the contexts and that `when` alone (no expression, no position, no variable), so
 * it is worked out once per contexts and `when` for every such job of every pipeline judged
 * under them (about a third of the jobs of GitLab's templates). The key is the `when` as
 * jobOutcome reads it, or `-` without one; undefined (not memoised) for anything else, an
 * invalid `when` included (its error points at the job's own line).
 */
function plainJobKey(job: JobReachInput, opts: ReachOptions): string | undefined {
  if (job.rules !== undefined || job.only !== undefined || job.except !== undefined || opts.workflowRules !== undefined) return undefined;
  const errors: Err[] = [];
  const when = readWhen(job.when, errors);
  return errors.length ? undefined : (when ?? '-');
}
/** Shared by the jobs that read them: outcomes are never changed once built (as trust.ts's `SharedMemo` shares them). */
const plainMemo = new WeakMap<Record<ContextId, TrustContext>, Map<string, JobReach>>();

/** `workflow:rules` under every context (does a pipeline exist at all?). */
export function reachWorkflow(workflowRules: YNode | undefined, opts: Omit<ReachOptions, 'workflowRules'> = {}): JobReach {
  const contexts = resolveContexts(opts.contexts);
  const out = {} as JobReach;
  for (const id of CONTEXT_IDS) {
    const ctx = contexts[id];
    out[id] = ctx.possible ? workflowOutcome(workflowRules, ctx, { ...opts }) : impossible(ctx);
  }
  return out;
}

function impossible(ctx: TrustContext): Outcome {
  return { runs: 'no', when: 'never', reason: `context ${ctx.id} cannot happen: ${ctx.impossibleReason}` };
}

/** Evaluate a job in one context, workflow included. */
function reachInContext(job: JobReachInput, ctx: TrustContext, opts: ReachOptions, slots: RuleSlots | undefined): Outcome {
  if (!ctx.possible) return impossible(ctx);
  const wf = workflowOutcome(opts.workflowRules, ctx, opts);
  if (wf.runs === 'no') return { ...wf, when: 'never' };
  const jo = jobOutcome(job, ctx, opts, hasRules(opts.workflowRules), slots);
  if (wf.runs === 'yes' || !opts.workflowRules) return jo;
  // workflow unknown
  if (jo.runs === 'no') return jo;
  return {
    ...jo,
    runs: 'unknown',
    reason: `${wf.reason}; ${jo.reason}`,
    at: jo.at ?? wf.at,
    unknownVariables: mergeVars(wf.unknownVariables, jo.unknownVariables),
    errors: mergeErrors(wf.errors, jo.errors),
  };
}

function hasRules(n: YNode | undefined): boolean {
  return n !== undefined && !(isScalar(n) && n.value === null);
}

function mergeVars(a?: string[], b?: string[]): string[] | undefined {
  const s = new Set([...(a ?? []), ...(b ?? [])]);
  return s.size ? [...s].sort() : undefined;
}
function mergeErrors(a?: Outcome['errors'], b?: Outcome['errors']): Outcome['errors'] {
  const all = [...(a ?? []), ...(b ?? [])];
  return all.length ? all : undefined;
}

function workflowOutcome(rules: YNode | undefined, ctx: TrustContext, opts: ReachOptions): Outcome {
  if (!hasRules(rules)) return NO_WORKFLOW;
  // Every job re-reads the workflow in every context: its outcome depends only on the context
  // and on the YAML values of the variables its `if:`s read (no `exists` callback given).
  if (opts.exists) return evaluateRules(rules!, ctx, contextScope(ctx, opts.variables), opts, 'always', 'workflow:rules');
  let byCtx = workflowMemo.get(rules!);
  if (!byCtx) workflowMemo.set(rules!, (byCtx = new WeakMap()));
  let memo = byCtx.get(ctx);
  if (!memo) byCtx.set(ctx, (memo = new Map<string, Outcome>()));
  const key = variablesKey(expressionVariables(rules!), opts.variables);
  let o = memo.get(key);
  // workflow:rules `when`: `always` (default) or `never`
  if (!o) memo.set(key, (o = evaluateRules(rules!, ctx, contextScope(ctx, opts.variables), opts, 'always', 'workflow:rules')));
  return o;
}
const workflowMemo = new WeakMap<YNode, WeakMap<TrustContext, Map<string, Outcome>>>();
/** A pipeline without `workflow:rules` exists in every context: read by every job in every context. */
const NO_WORKFLOW: Outcome = Object.freeze({ runs: 'yes', when: 'always', reason: 'no workflow:rules' });
const nodeVariables = new WeakMap<YNode, string[]>();

/** Every variable any expression written under `node` reads (memoised per node). */
function expressionVariables(node: YNode): string[] {
  let hit = nodeVariables.get(node);
  if (!hit) {
    const out = new Set<string>();
    const walk = (n: YNode) => {
      if (n.kind === 'scalar') {
        if (typeof n.value === 'string' && n.value.includes('$')) {
          const p = parseExpression(n.value);
          if (p.ok) variablesOf(p.expr, out);
        }
      } else if (n.kind === 'seq') n.items.forEach(walk);
      else if (n.kind === 'map') for (const e of n.entries.values()) walk(e.value);
    };
    walk(node);
    nodeVariables.set(node, (hit = [...out]));
  }
  return hit;
}

/**
 * One variable's value in a memo key: known (length-prefixed, so no value can imitate the parts
 * after it), unknown (`?`: it expands another variable) or not a YAML variable (`-`).
 */
export function keyPart(value: string | undefined, isYamlVariable = true): string {
  if (!isYamlVariable) return '\u0000-';
  return value === undefined ? '\u0000?' : `\u0000${value.length}=${value}`;
}

/** The YAML values of `names` (own, unknown, or not a YAML variable), as a key. */
function variablesKey(names: readonly string[], variables: Record<string, string | undefined> | undefined): string {
  let key = '';
  for (const name of names) {
    const own = variables !== undefined && Object.prototype.hasOwnProperty.call(variables, name);
    key += keyPart(own ? variables[name] : undefined, own);
  }
  return key;
}

function jobOutcome(job: JobReachInput, ctx: TrustContext, opts: ReachOptions, workflowHasRules: boolean, slots: RuleSlots | undefined): Outcome {
  const errors: { message: string; at?: SourceLocation }[] = [];
  const jobWhen = readWhen(job.when, errors) ?? 'on_success';
  const scope = contextScope(ctx, opts.variables);
  if (hasRules(job.rules)) {
    const o = evaluateRules(job.rules!, ctx, scope, opts, jobWhen, 'rules', slots);
    return errors.length ? { ...o, errors: mergeErrors(errors, o.errors) } : o;
  }
  const onlyDefined = hasRules(job.only);
  const exceptDefined = hasRules(job.except);
  let only: YNode | undefined = job.only;
  let implicit = false;
  if (!onlyDefined) {
    if (workflowHasRules) only = undefined;
    else implicit = true;
  }
  const parts: string[] = [];
  let runs: Tri = 'yes';
  let at: SourceLocation | undefined;
  const unknownVars = new Set<string>();
  if (implicit) {
    const r = refsSatisfied(['branches', 'tags'], ctx, errors);
    runs = r.result;
    parts.push(
      r.result === 'yes'
        ? `no rules/only: implicit \`only: [branches, tags]\` matches a ${ctx.facts.refType === 'tag' ? 'tag' : 'branch'} pipeline`
        : 'no rules/only: implicit `only: [branches, tags]` excludes merge request pipelines',
    );
  } else if (onlyDefined) {
    const r = policySatisfied(only!, ctx, scope, opts, errors, 'only');
    runs = r.result;
    at = r.at ?? only!.loc;
    r.unknownVariables.forEach((v) => unknownVars.add(v));
    parts.push(r.reason);
  } else if (!exceptDefined) {
    parts.push('no rules/only/except and workflow:rules exist: the job is in every pipeline the workflow allows');
  }
  if (runs !== 'no' && exceptDefined) {
    const r = policySatisfied(job.except!, ctx, scope, opts, errors, 'except');
    r.unknownVariables.forEach((v) => unknownVars.add(v));
    if (r.result === 'yes') {
      runs = 'no';
      at = r.at ?? job.except!.loc;
    } else if (r.result === 'unknown') {
      runs = 'unknown';
      at ??= r.at ?? job.except!.loc;
    }
    parts.push(r.reason);
  }
  if (jobWhen === 'never' && runs !== 'no') {
    runs = 'no';
    parts.push('job `when: never`');
  }
  const o: Outcome = { runs, when: runs === 'no' ? 'never' : jobWhen, reason: parts.join('; ') };
  if (at) o.at = at;
  if (runs === 'unknown' && unknownVars.size) o.unknownVariables = [...unknownVars].sort();
  if (errors.length) o.errors = errors;
  return o;
}

function readWhen(n: YNode | undefined, errors: { message: string; at?: SourceLocation }[]): When | undefined {
  if (n === undefined || (isScalar(n) && n.value === null)) return undefined;
  const s = str(n);
  if (s !== undefined && (WHENS as readonly string[]).includes(s)) return s as When;
  errors.push({ message: `\`when\` must be one of ${WHENS.join(', ')}`, at: n.loc });
  return undefined;
}

/** Flatten nested sequences (from `!reference`) up to 10 levels, as GitLab does. */
function flattenSeq(n: YNode): readonly YNode[] {
  // Every context reads the same list: flatten each (immutable) node once.
  let hit = flatMemo.get(n);
  if (!hit) flatMemo.set(n, (hit = flattenFrom(n, 0)));
  return hit;
}
const flatMemo = new WeakMap<YNode, readonly YNode[]>();

function flattenFrom(n: YNode, depth: number): YNode[] {
  if (!isSeq(n)) return [n];
  if (depth > 10) return n.items;
  return flatMap(n.items, (i) => (isSeq(i) ? flattenFrom(i, depth + 1) : i));
}

interface Branch {
  runs: boolean;
  when: When;
  reason: string;
  at?: SourceLocation;
}

function evaluateRules(
  rulesNode: YNode,
  ctx: TrustContext,
  scope: VariableScope,
  opts: ReachOptions,
  defaultWhen: When,
  label: string,
  slots?: RuleSlots,
): Outcome {
  // Allocated only when needed: this runs for every job in every context.
  let errors: Err[] | undefined;
  const branches: Branch[] = [];
  let unknownVars: Set<string> | undefined;
  let decided = false;
  const seq = isSeq(rulesNode);
  const items = seq ? flattenSeq(rulesNode) : [rulesNode];
  if (!seq) (errors ??= []).push({ message: `\`${label}\` must be a list of rules`, at: rulesNode.loc });
  const ci = CONTEXT_INDEX[ctx.id];
  for (let i = 0; i < items.length; i++) {
    const rule = items[i]!; // i < items.length
    if (rule.kind === 'reference') {
      // an unresolved `!reference`: its rule could match (conservatively: may run)
      branches.push({ runs: true, when: defaultWhen, reason: `${label}[${i}] \`!reference [${rule.path.join(', ')}]\` is unresolved and may match`, at: rule.loc });
      continue;
    }
    if (!isMap(rule)) {
      (errors ??= []).push({ message: `${label}[${i}] must be a map`, at: rule.loc });
      continue;
    }
    const slot = slots?.[i];
    const b = slot ? (slot[ci] ??= ruleBranch(rule, ctx, scope, opts, `${label}[${i}]`, defaultWhen)) : ruleBranch(rule, ctx, scope, opts, `${label}[${i}]`, defaultWhen);
    if (b.errors.length) (errors ??= []).push(...b.errors);
    if (!b.branch) continue;
    branches.push(b.branch);
    if (b.unknownVariables.length) {
      unknownVars ??= new Set();
      for (const v of b.unknownVariables) unknownVars.add(v);
    }
    if (b.decided) {
      decided = true;
      break;
    }
  }
  if (!decided) {
    branches.push({
      runs: false,
      when: 'never',
      reason: items.length === 0 ? `\`${label}\` is empty` : noRuleMatches(label),
      at: rulesNode.loc,
    });
  }
  return combine(branches, unknownVars, errors);
}

type Err = { message: string; at?: SourceLocation };

/** The reason of most outcomes in most contexts, one string per list label (`rules`, `workflow:rules`). */
const noMatchReasons = new Map<string, string>();
function noRuleMatches(label: string): string {
  let r = noMatchReasons.get(label);
  if (r === undefined) noMatchReasons.set(label, (r = `no rule in \`${label}\` matches`));
  return r;
}

/** What one rule of a list says in a context: its branch (none when it cannot match), whether it decides, what it met. */
interface RuleBranch {
  branch?: Branch;
  decided: boolean;
  unknownVariables: readonly string[];
  errors: readonly { message: string; at?: SourceLocation }[];
}

/** Each context's place in CONTEXT_IDS: a rule's branches in every context are kept in one array. */
const CONTEXT_INDEX = Object.fromEntries(CONTEXT_IDS.map((id, i) => [id, i])) as Record<ContextId, number>;

/**
 * A job's `rules:` items, each with its branches by context index (filled as the contexts read
 * them). A rule item is shared between the lists of many jobs (`!reference`, `extends`): what
 * it says depends on its position, the job's `when` and the YAML values of the variables it
 * reads, so its expression, reason text and errors are worked out once per context for all
 * those jobs. That key is the same in every context: it is built once per job, not once per
 * context. Undefined where the branches are not memoised (an `exists` callback: file
 * existence; no rule list). `workflow:rules` are memoised whole, by workflowOutcome.
 */
type RuleSlots = (RuleBranch[] | undefined)[];
const SLOT_MEMO_MAX = 1_000;
const slotMemo = new WeakMap<Record<ContextId, TrustContext>, WeakMap<YMap, Map<string, RuleBranch[]>>>();

function ruleSlots(job: JobReachInput, contexts: Record<ContextId, TrustContext>, opts: ReachOptions): RuleSlots | undefined {
  if (opts.exists || !isSeq(job.rules)) return undefined;
  const jobWhen = readWhen(job.when, []) ?? 'on_success';
  let byRule = slotMemo.get(contexts);
  if (!byRule) slotMemo.set(contexts, (byRule = new WeakMap()));
  const items = flattenSeq(job.rules);
  const out: RuleSlots = [];
  for (let i = 0; i < items.length; i++) {
    const rule = items[i]!; // i < items.length
    if (!isMap(rule)) continue;
    let memo = byRule.get(rule);
    if (!memo) byRule.set(rule, (memo = new Map<string, RuleBranch[]>()));
    // The position and `when` are fixed-form (`3`, a WHENS value); the values length-prefixed.
    const key = `${i}\u0001${jobWhen}\u0001${variablesKey(expressionVariables(rule), opts.variables)}`;
    let slot = memo.get(key);
    if (!slot) {
      if (memo.size >= SLOT_MEMO_MAX) memo.clear();
      memo.set(key, (slot = []));
    }
    out[i] = slot;
  }
  return out;
}

function ruleBranch(rule: YMap, ctx: TrustContext, scope: VariableScope, opts: ReachOptions, name: string, defaultWhen: When): RuleBranch {
  const errors: Err[] = [];
  const m = ruleMatches(rule, ctx, scope, opts, errors, name);
  if (m.result === 'no') return errors.length ? { decided: false, unknownVariables: [], errors } : NO_MATCH;
  const when = readWhen(rule.entries.get('when')?.value, errors) ?? defaultWhen;
  const runs = when !== 'never';
  const verb = m.result === 'yes' ? 'matches' : 'may match';
  const unk = m.unknownVariables.length ? ` (unknown: ${m.unknownVariables.map((v) => `$${v}`).join(', ')})` : '';
  const whenText = rule.entries.has('when') ? ` with \`when: ${when}\`` : '';
  return {
    branch: { runs, when, reason: `${name} ${m.desc} ${verb}${whenText}${unk}`, at: m.at ?? rule.loc },
    decided: m.result === 'yes',
    unknownVariables: m.unknownVariables,
    errors,
  };
}
/** A rule that cannot match and met no error: most rules in most contexts. */
const NO_MATCH: RuleBranch = Object.freeze({ decided: false, unknownVariables: Object.freeze([]), errors: Object.freeze([]) });

function combine(branches: Branch[], unknownVars: Set<string> | undefined, errors: Outcome['errors']): Outcome {
  const errs = errors && errors.length ? errors : undefined;
  if (branches.length === 1) {
    // One branch (a rule that decides, or "no rule matches"): the most common outcome, built
    // without the lists below. It is the branch as it is: yes with its `when`, or no.
    const only = branches[0]!; // length 1
    const o: Outcome = only.runs ? { runs: 'yes', when: only.when, reason: only.reason } : { runs: 'no', when: 'never', reason: only.reason };
    if (only.at) o.at = only.at;
    if (errs) o.errors = errs;
    return o;
  }
  // One pass: the first branch that runs, how many run, their `when`s (in order, without
  // repeats), and the reason. The reason is built by concatenation, which V8 keeps as a rope
  // until someone reads it: most reasons are never printed, and `join` would copy every
  // branch's text for every job in every context (long rule lists give long reasons).
  let first: Branch | undefined;
  let running = 0;
  const whens: When[] = [];
  let reason = '';
  for (let i = 0; i < branches.length; i++) {
    const b = branches[i]!; // i < branches.length
    reason = i === 0 ? b.reason : reason + '; else ' + b.reason;
    if (!b.runs) continue;
    running++;
    first ??= b;
    if (!whens.includes(b.when)) whens.push(b.when);
  }
  if (!first) {
    // definitely not: the last branch decided (a `when: never` match, or no match)
    const last = branches.at(-1);
    // evaluateRules pushes a branch for the deciding rule or for "no rule matches".
    if (!last) throw new Error('combine: no branch');
    const o: Outcome = { runs: 'no', when: 'never', reason: last.reason };
    if (last.at) o.at = last.at;
    if (errs) o.errors = errs;
    return o;
  }
  const runs: Tri = running === branches.length ? 'yes' : 'unknown';
  const auto = whens.find((w) => w !== 'manual');
  const o: Outcome = { runs, when: auto ?? 'manual', reason };
  if (first.at) o.at = first.at;
  if (whens.length > 1) o.possibleWhen = whens;
  if (runs === 'unknown' && unknownVars?.size) o.unknownVariables = [...unknownVars].sort();
  if (errs) o.errors = errs;
  return o;
}

interface ClauseResult {
  result: Tri;
  unknownVariables: string[];
  desc: string;
  at?: SourceLocation;
}

function and3(a: Tri, b: Tri): Tri {
  if (a === 'no' || b === 'no') return 'no';
  if (a === 'yes' && b === 'yes') return 'yes';
  return 'unknown';
}
function or3(a: Tri, b: Tri): Tri {
  if (a === 'yes' || b === 'yes') return 'yes';
  if (a === 'no' && b === 'no') return 'no';
  return 'unknown';
}

function ruleMatches(
  rule: YMap,
  ctx: TrustContext,
  scope: VariableScope,
  opts: ReachOptions,
  errors: { message: string; at?: SourceLocation }[],
  name: string,
): ClauseResult {
  let result: Tri = 'yes';
  let vars: readonly string[] = [];
  let desc = '';
  const and = (d: string) => (desc = desc ? `${desc} and ${d}` : d);
  let at: SourceLocation | undefined;
  const ifE = rule.entries.get('if');
  if (ifE) {
    const r = evalIf(ifE.value, scope, errors, `${name}:if`, ctx, opts.variables);
    result = and3(result, r.result);
    vars = r.unknownVariables;
    and(r.desc);
    at = ifE.value.loc;
  }
  const ch = rule.entries.get('changes');
  if (ch && result !== 'no') {
    const r: Tri = ctx.facts.hasDiff ? 'unknown' : 'yes';
    result = and3(result, r);
    and(ctx.facts.hasDiff ? '`changes` (depends on the diff)' : '`changes` (always true without a push diff)');
    at ??= ch.value.loc;
  }
  const ex = rule.entries.get('exists');
  if (ex && result !== 'no') {
    let globs: string[];
    let otherProject = false;
    if (isMap(ex.value)) {
      globs = listOf(ex.value.entries.get('paths')?.value);
      otherProject = ex.value.entries.has('project');
    } else globs = listOf(ex.value);
    const known = otherProject ? undefined : opts.exists?.(globs);
    const r: Tri = known === undefined ? 'unknown' : known ? 'yes' : 'no';
    result = and3(result, r);
    and(`\`exists: ${globs.join(', ')}\`${known === undefined ? ' (file existence unknown)' : ''}`);
    at ??= ex.value.loc;
  }
  if (!ifE && !ch && !ex) desc = '(no condition)';
  // `vars` are one `if:`'s, already sorted and without repeats (evaluate).
  return { result, unknownVariables: result === 'unknown' ? [...vars] : [], desc, at };
}

function listOf(n: YNode | undefined): string[] {
  if (!n) return [];
  if (isSeq(n)) return flattenSeq(n).map(str).filter((s): s is string => s !== undefined);
  const s = str(n);
  return s === undefined ? [] : [s];
}

/**
 * `scope` is `contextScope(ctx, variables)`: an expression's value depends only on the context
 * and on the YAML values of the variables it reads, so results are memoised per context by the
 * text and those values (jobs share most of their `if:`s, and every job re-reads the workflow).
 */
function evalIf(
  n: YNode,
  scope: VariableScope,
  errors: { message: string; at?: SourceLocation }[],
  where: string,
  ctx: TrustContext,
  variables: Record<string, string | undefined> | undefined,
): ClauseResult {
  const text = isScalar(n) && typeof n.value === 'string' ? n.value : undefined;
  if (text === undefined) {
    errors.push({ message: `${where} must be a string expression`, at: n.loc });
    return { result: 'unknown', unknownVariables: [], desc: '`if` (invalid)', at: n.loc };
  }
  const p = parseExpression(text);
  const desc = `\`if: ${text}\``;
  if (!p.ok) {
    errors.push({
      message: `${where}: invalid expression: ${p.error.message} (column ${p.error.column})`,
      at: columnAt(n.loc, p.error.column, text.length),
    });
    return { result: 'unknown', unknownVariables: [], desc: `${desc} (invalid expression)`, at: n.loc };
  }
  const r = evaluateIn(p.expr, scope, ctx, variables);
  return { result: r.result, unknownVariables: r.unknownVariables, desc, at: n.loc };
}

/**
 * Per context, per parsed expression (parseExpression hands out one tree per text), the results
 * by the values of the variables it reads: no key is built from the expression's text, which
 * is long in real pipelines and read for every job in every context.
 */
const evalMemo = new WeakMap<TrustContext, { byExpr: WeakMap<Expr, Map<string, EvalResult>>; size: number; chars: number }>();
const exprVariables = new WeakMap<Expr, string[]>();
/**
 * Results kept per context (contexts and parsed expressions outlive a pipeline in the service),
 * and the characters of their keys (the YAML values of the variables read: an MR author's text).
 */
const EVAL_MEMO_MAX = 20_000;

function evaluateIn(expr: Expr, scope: VariableScope, ctx: TrustContext, variables: Record<string, string | undefined> | undefined): EvalResult {
  let names = exprVariables.get(expr);
  if (!names) exprVariables.set(expr, (names = [...variablesOf(expr)]));
  let kept = evalMemo.get(ctx);
  if (!kept || kept.size >= EVAL_MEMO_MAX || kept.chars > YAML_TEXT_CHARS) evalMemo.set(ctx, (kept = { byExpr: new WeakMap(), size: 0, chars: 0 }));
  let memo = kept.byExpr.get(expr);
  if (!memo) kept.byExpr.set(expr, (memo = new Map<string, EvalResult>()));
  // Length-prefixed values (variablesKey): no value can imitate another variable's.
  const key = names.length ? variablesKey(names, variables) : '';
  let r = memo.get(key);
  if (!r) {
    memo.set(key, (r = evaluate(expr, scope)));
    kept.size++;
    kept.chars += key.length;
  }
  return r;
}

/** Best-effort location of a column inside a single-line scalar. */
function columnAt(loc: SourceLocation, column: number, textLength: number): SourceLocation {
  if (loc.line !== loc.endLine) return loc;
  // a quoted scalar spans two more columns than its text (escapes make it longer: then unknown)
  const span = loc.endColumn - loc.column;
  if (span !== textLength && span !== textLength + 2) return loc;
  const quoted = span === textLength + 2 ? 1 : 0;
  const c = Math.min(loc.column + quoted + column - 1, Math.max(loc.column, loc.endColumn - 1));
  return { ...loc, column: c, endColumn: Math.max(c + 1, loc.endColumn) };
}

// ---------------------------------------------------------------------------------------------
// only / except (classic policies)
// ---------------------------------------------------------------------------------------------

interface PolicyResult extends ClauseResult {
  reason: string;
}

function policySatisfied(
  node: YNode,
  ctx: TrustContext,
  scope: VariableScope,
  opts: ReachOptions,
  errors: { message: string; at?: SourceLocation }[],
  key: 'only' | 'except',
): PolicyResult {
  // a list (or string) is `refs`; a map has refs / variables / changes / kubernetes
  const specs: { kind: string; node: YNode }[] = [];
  if (isMap(node)) {
    for (const [k, e] of node.entries) {
      if (['refs', 'variables', 'changes', 'kubernetes'].includes(k)) specs.push({ kind: k, node: e.value });
      else errors.push({ message: `\`${key}:${k}\` is not a valid key (refs, variables, changes, kubernetes)`, at: e.keyLoc });
    }
  } else specs.push({ kind: 'refs', node });
  // only: every spec satisfied; except: any spec satisfied
  let result: Tri = key === 'only' ? 'yes' : 'no';
  const vars = new Set<string>();
  const reasons: string[] = [];
  let at: SourceLocation | undefined;
  for (const spec of specs) {
    let r: Tri;
    let reason: string;
    let where: SourceLocation | undefined = spec.node.loc;
    if (spec.kind === 'refs') {
      const refs = listOf(spec.node);
      const rr = refsSatisfied(refs, ctx, errors, spec.node, key === 'only');
      r = rr.result;
      where = rr.at ?? spec.node.loc;
      reason = `\`${key}: [${refs.join(', ')}]\` ${verbOf(r)}${rr.note ? ` (${rr.note})` : ''}`;
    } else if (spec.kind === 'variables') {
      r = 'no';
      const items = isSeq(spec.node) ? flattenSeq(spec.node) : [spec.node];
      const descs: string[] = [];
      for (const it of items) {
        const e = evalIf(it, scope, errors, `${key}:variables`, ctx, opts.variables);
        e.unknownVariables.forEach((v) => vars.add(v));
        if (e.result !== 'no' && (r === 'no' || e.result === 'yes')) where = it.loc;
        r = or3(r, e.result);
        descs.push(e.desc.replace(/^`if: /, '`'));
      }
      reason = `\`${key}:variables\` ${descs.join(', ')} ${verbOf(r)}`;
    } else if (spec.kind === 'changes') {
      r = ctx.facts.hasDiff ? 'unknown' : 'yes';
      reason = `\`${key}:changes\` ${ctx.facts.hasDiff ? 'depends on the diff' : 'is always true without a push diff'}`;
    } else {
      r = 'unknown';
      reason = `\`${key}:kubernetes\` depends on the cluster`;
    }
    reasons.push(reason);
    const before: Tri = result;
    result = key === 'only' ? and3(result, r) : or3(result, r);
    if (result !== before || (r === result && !at)) at = where;
  }
  return { result, unknownVariables: result === 'unknown' ? [...vars].sort() : [], desc: reasons.join(', '), reason: reasons.join(', '), at };
}

function verbOf(r: Tri): string {
  return r === 'yes' ? 'matches' : r === 'no' ? 'does not match' : 'may match';
}

const KEYWORDS = new Set([
  'api',
  'branches',
  'chat',
  'external',
  'external_pull_requests',
  'merge_requests',
  'pipelines',
  'pushes',
  'schedules',
  'tags',
  'triggers',
  'web',
]);

/** ActiveSupport `pluralize` for the pipeline source names that occur. */
function pluralize(s: string): string {
  if (/(s|x|z|ch|sh)$/.test(s)) return s + 'es';
  if (/[^aeiou]y$/.test(s)) return s.slice(0, -1) + 'ies';
  return s + 's';
}

function refsSatisfied(
  patterns: string[],
  ctx: TrustContext,
  errors: { message: string; at?: SourceLocation }[],
  node?: YNode,
  keywordsAsNames = true,
): { result: Tri; at?: SourceLocation; note?: string } {
  let result: Tri = 'no';
  let at: SourceLocation | undefined;
  const notes: string[] = [];
  const items = node && isSeq(node) ? flattenSeq(node) : [];
  patterns.forEach((full, idx) => {
    const [pattern, path] = splitOnce(full, '@');
    let r = patternMatches(pattern, ctx, notes, keywordsAsNames);
    // `name@group/project`: the project path is not known offline
    if (path !== undefined && r !== 'no') {
      r = 'unknown';
      notes.push(`\`@${path}\` depends on the project`);
    }
    if (r !== 'no' && result !== 'yes') at = items[idx]?.loc ?? at;
    result = or3(result, r);
  });
  return { result, at, note: notes.length ? [...new Set(notes)].join('; ') : undefined };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/**
 * `patternMatches` by a context's facts, then by pattern: facts are fixed once a context is built
 * (contexts live as long as their policy), and every job reads the same few patterns in every
 * context (`branches` and `tags`, the implicit `only` of a job without rules, among them).
 */
const patternMemo = new WeakMap<TrustContext['facts'], BoundedMemo<{ result: Tri; notes: readonly string[] }>>();

function patternMatches(pattern: string, ctx: TrustContext, notes: string[], keywordsAsNames: boolean): Tri {
  let byPattern = patternMemo.get(ctx.facts);
  if (!byPattern) patternMemo.set(ctx.facts, (byPattern = new BoundedMemo<{ result: Tri; notes: readonly string[] }>(PATTERN_MEMO_MAX, YAML_TEXT_CHARS)));
  // The flag is one fixed-form character before the pattern: no pattern can imitate the other flag.
  const key = (keywordsAsNames ? '1' : '0') + pattern;
  let hit = byPattern.get(key);
  if (!hit) {
    const own: string[] = [];
    hit = { result: matchPattern(pattern, ctx, own, keywordsAsNames), notes: own };
    // Patterns are YAML an MR author writes: a bounded number and length per context.
    byPattern.set(key, hit);
  }
  for (const n of hit.notes) notes.push(n);
  return hit.result;
}
const PATTERN_MEMO_MAX = 1_000;

/** policy/refs.rb `matches_pattern?`. */
function matchPattern(pattern: string, ctx: TrustContext, notes: string[], keywordsAsNames: boolean): Tri {
  const f = ctx.facts;
  if (f.refType === 'tag' && pattern === 'tags') return 'yes';
  if (f.refType === 'branch' && pattern === 'branches') return 'yes';
  // sanitized_source_name: source without `_event`, or its plural
  const srcMatches = f.sources.map((s) => {
    const n = s.replace(/_event$/, '');
    return n === pattern || pluralize(n) === pattern;
  });
  if (srcMatches.every(Boolean)) return 'yes';
  const someSource = srcMatches.some(Boolean);
  let byRef: Tri = 'no';
  // names and regexes only for branch and tag pipelines. A keyword that did not match above
  // is still compared with the ref name, as GitLab does: a branch named `tags` matches
  // `only: [tags]`, and in untrusted contexts the ref name is the pusher's choice. (For
  // `except` that quirk only lets a pusher skip a job, so it is not modelled there.)
  if (KEYWORDS.has(pattern) && !keywordsAsNames) byRef = 'no';
  else if (f.refType === 'branch' || f.refType === 'tag') {
    byRef = refMatches(pattern, f.ref, notes);
    if (byRef !== 'no' && KEYWORDS.has(pattern)) notes.push(`a ${f.refType} named \`${pattern}\` matches the keyword as a name`);
  }
  return someSource ? or3('unknown', byRef) : byRef;
}

function refMatches(pattern: string, ref: TrustContext['facts']['ref'], notes: string[]): Tri {
  const rx = regexFromValue(pattern);
  if (rx) {
    const tr = translateRegex(rx.source, rx.flags);
    if (!tr.ok) {
      notes.push(`regex ${pattern} cannot be evaluated`);
      return 'unknown';
    }
    if (ref.kind === 'known') {
      const t = safeRegexTest(tr.re, rx.source, ref.name);
      return t === undefined ? 'unknown' : t ? 'yes' : 'no';
    }
    const shape = literalShape(rx.source, rx.flags);
    if (!shape) return 'unknown';
    if ('exact' in shape) return nameCanBe(ref, shape.exact) ? 'unknown' : 'no';
    // prefix: excluded when a protected glob `Q*` covers every name with this prefix
    if (ref.notMatching?.some((g) => /^[^*?]*\*$/.test(g) && shape.prefix.startsWith(g.slice(0, -1)))) return 'no';
    if (ref.matching?.length && ref.matching.every((g) => head(g).startsWith(shape.prefix))) return 'yes';
    if (ref.matching?.length && ref.matching.every((g) => !head(g).startsWith(shape.prefix) && !shape.prefix.startsWith(head(g)))) return 'no';
    return 'unknown';
  }
  if (ref.kind === 'known') return ref.name === pattern ? 'yes' : 'no';
  if (!nameCanBe(ref, pattern)) return 'no';
  if (ref.matching?.length === 1 && ref.matching[0] === pattern) return 'yes';
  return 'unknown';
}

function head(glob: string): string {
  const i = glob.search(/[*?]/);
  return i < 0 ? glob : glob.slice(0, i);
}

function nameCanBe(ref: UnknownString, name: string): boolean {
  if (ref.oneOf && !ref.oneOf.includes(name)) return false;
  if (ref.notMatching && matchesAny(name, ref.notMatching)) return false;
  if (ref.matching && !matchesAny(name, ref.matching)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// YAML variables
// ---------------------------------------------------------------------------------------------

/**
 * Known values of YAML `variables:` maps (global first, then the job's, which win). A value that
 * references another variable (`$X`, `${X}`) is marked unknown (`undefined`) unless `expand: false`.
 */
export function variablesFromYaml(...maps: (YNode | undefined)[]): Record<string, string | undefined> {
  const out = blank<string | undefined>();
  for (const m of maps) {
    if (!isMap(m)) continue;
    for (const [k, e] of m.entries) {
      let v: YNode | undefined = e.value;
      let expand = true;
      if (isMap(v)) {
        const ex = v.entries.get('expand')?.value;
        if (isScalar(ex) && ex.value === false) expand = false;
        v = v.entries.get('value')?.value;
      }
      if (v === undefined || (isScalar(v) && v.value === null)) {
        out[k] = '';
        continue;
      }
      const s = str(v);
      if (s === undefined) {
        out[k] = undefined;
        continue;
      }
      out[k] = expand && /\$/.test(s.replace(/\$\$/g, '')) ? undefined : s;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text table for `tierguard lint --contexts`
// ---------------------------------------------------------------------------------------------

/** The keys reach reads, taken from a job's (resolved) mapping. */
export function jobReachInput(job: YNode | undefined): JobReachInput {
  if (!isMap(job)) return {};
  const g = (k: string) => job.entries.get(k)?.value;
  return { rules: g('rules'), only: g('only'), except: g('except'), when: g('when') };
}
