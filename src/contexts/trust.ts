import type { SourceLocation } from '../model/location.js';
import { scalarText, type YNode } from '../model/node.js';
import { variableRefs, type VarRefOptions } from '../model/var-refs.js';
import { keyUncertainty, type Job, type Pipeline } from '../model/pipeline.js';
import type { Policy } from '../policy/types.js';
import { buildContexts, chosenInContext, contextOptionsFromPolicy, variableReferences, yamlVariableStatus, type ContextId, type ContextOptions, type TrustContext, type VariableAssumptions } from './contexts.js';
import { jobReachInput, keyPart, reachJob, reachWorkflow, trustedContexts, untrustedContexts, type JobReach, type JobTrust } from './reach.js';
import { blank } from '../util/table.js';
import type { VarValue } from './expression.js';
import { flatMap } from '../util/array.js';
import { BoundedMemo } from '../util/bounded-memo.js';

/**
 * Trust of every job of a pipeline: `workflow:rules`, then the job's `rules` or
 * `only`/`except`, under each trust context built from the policy's protected refs.
 *
 * Large pipelines share rule lists between many jobs (`extends`, `!reference`), and pipelines
 * judged under the same contexts share rules too (a merge request's base and head, the same
 * templates included by many projects), so the outcome is memoised by the content and place of
 * the rule nodes and the values of the variables their expressions name (`SharedMemo`).
 */
export function pipelineTrust(pipeline: Pipeline, policy: Policy, defaultBranch: string, assumptions?: VariableAssumptions): (job: Job) => JobTrust {
  return trustUnder(pipeline, contextsFor(policy, defaultBranch, assumptions));
}

/**
 * Trust of the jobs of a child pipeline (`trigger: include`): the child runs with the parent's
 * ref and trust, `CI_PIPELINE_SOURCE=parent_pipeline` (`doc/ci/pipelines/downstream_pipelines.md`),
 * and only in the contexts where its trigger job runs. A manual trigger job makes every child
 * job wait for someone to play it.
 */
export function childPipelineTrust(trigger: { name: string; trust: JobTrust }) {
  return (pipeline: Pipeline, policy: Policy, defaultBranch: string, assumptions?: VariableAssumptions): ((job: Job) => JobTrust) => {
    const inner = trustUnder(pipeline, childContexts(contextsFor(policy, defaultBranch, assumptions)));
    return (job) => {
      const own = inner(job);
      const byContext = {} as JobReach;
      for (const id of Object.keys(own.byContext) as ContextId[]) byContext[id] = underTrigger(trigger.name, trigger.trust.byContext[id], own.byContext[id]);
      const out: JobTrust = { byContext, untrusted: untrustedContexts(byContext), trusted: trustedContexts(byContext) };
      if (own.attackerChosenTags) {
        const chosen = Object.fromEntries(Object.entries(own.attackerChosenTags).filter(([id]) => out.untrusted.includes(id as ContextId)));
        if (Object.keys(chosen).length) out.attackerChosenTags = chosen;
      }
      return out;
    };
  };
}

function underTrigger(name: string, t: JobReach[ContextId], c: JobReach[ContextId]): JobReach[ContextId] {
  if (t.runs === 'no') return { runs: 'no', when: 'never', reason: `its trigger job \`${name}\` does not run: ${t.reason}`, ...(t.at ? { at: t.at } : {}) };
  if (c.runs === 'no') return c;
  const when = t.when === 'manual' ? 'manual' : c.when;
  if (t.runs === 'yes') return { ...c, when, reason: `started by trigger job \`${name}\`; ${c.reason}` };
  const vars = [...new Set([...(t.unknownVariables ?? []), ...(c.unknownVariables ?? [])])].sort();
  const assumptions = [...new Set([...(t.assumptions ?? []), ...(c.assumptions ?? [])])];
  const out: JobReach[ContextId] = { ...c, runs: 'unknown', when, reason: `its trigger job \`${name}\` may run (${t.reason}); ${c.reason}` };
  if (vars.length) out.unknownVariables = vars;
  if (assumptions.length) out.assumptions = assumptions;
  out.at ??= t.at;
  return out;
}

/** The contexts as a child pipeline sees them: same ref and variables, source `parent_pipeline`. */
const childContextCache = new WeakMap<Record<ContextId, TrustContext>, Record<ContextId, TrustContext>>();
function childContexts(parent: Record<ContextId, TrustContext>): Record<ContextId, TrustContext> {
  let c = childContextCache.get(parent);
  if (!c) {
    c = {} as Record<ContextId, TrustContext>;
    for (const [id, ctx] of Object.entries(parent) as [ContextId, TrustContext][]) {
      c[id] = { ...ctx, facts: { ...ctx.facts, sources: ['parent_pipeline'] }, variables: Object.assign(blank<VarValue>(), ctx.variables, { CI_PIPELINE_SOURCE: { kind: 'set', value: 'parent_pipeline' } }) };
    }
    childContextCache.set(parent, c);
  }
  return c;
}

function trustUnder(pipeline: Pipeline, contexts: Record<ContextId, TrustContext>): (job: Job) => JobTrust {
  const workflowRules = pipeline.workflow?.entries.get('rules')?.value;
  // Every key below starts with the contexts' number and the workflow's key: the memos are
  // shared by every pipeline judged.
  const workflowKey = contextsPrefix(contexts) + keyOf(workflowRules);
  let workflowNames: string[] | undefined;
  let wf: JobReach | undefined;
  const workflowReach = (): JobReach => {
    if (!wf) {
      const variables = blank<string | undefined>();
      for (const [n, v] of pipeline.variables) variables[n] = v.expand && v.value.includes('$') ? undefined : v.value;
      wf = reachWorkflow(workflowRules, { variables, contexts });
    }
    return wf;
  };

  return (job) => {
    const input = jobReachInput(job.node);
    // YAML variables are known values, unless they expand other variables (then unknown).
    const known = (name: string): string | undefined => {
      const v = job.variables.get(name);
      return v === undefined || (v.expand && v.value.includes('$')) ? undefined : v.value;
    };
    const nodesKey = `${workflowKey}|${keyOf(input.rules)}|${keyOf(input.only)}|${keyOf(input.except)}|${keyOf(input.when)}`;
    // Jobs that share rule items (through `extends` or `!reference`) read the same names.
    let names = shared.names.get(nodesKey);
    if (!names) {
      workflowNames ??= variableNames(workflowRules, namesOf);
      shared.names.set(nodesKey, (names = [...workflowNames, ...variableNames(input.rules, namesOf), ...variableNames(input.only, namesOf), ...variableNames(input.except, namesOf)]));
    }
    // The names are fixed by the rule nodes, and every value is length-prefixed (`keyPart`), so
    // no value written in one job can imitate another job's values: an MR author must not be
    // able to make a job share the trust of a decoy job.
    let key = nodesKey;
    for (const n of names) key += keyPart(known(n), job.variables.has(n));
    // Jobs with the same rules and the same YAML values of the variables those rules read (as
    // written: the assumptions quote them) are judged alike; a job with unread parents is not.
    let full: string | undefined;
    if (!job.partial) {
      full = key + '\u0003';
      for (const n of names) {
        const v = job.variables.get(n);
        full += keyPart(v?.value, v !== undefined);
      }
    }
    let judged = full === undefined ? undefined : shared.judged.get(full);
    if (!judged) {
      let byContext = shared.reach.get(key);
      if (!byContext) {
        const variables = blank<string | undefined>();
        for (const name of job.variables.keys()) variables[name] = known(name);
        byContext = reachJob(input, { workflowRules, variables, contexts });
        shared.reach.set(key, byContext);
      }
      byContext = withAssumptions(withUnreadParents(job, byContext, workflowReach()), names, job, contexts);
      judged = { byContext, untrusted: untrustedContexts(byContext, contexts), trusted: trustedContexts(byContext, contexts) };
      if (full !== undefined) shared.judged.set(full, judged);
    }
    const out: JobTrust = { ...judged };
    const chosen = attackerChosenTags(job, out.untrusted, contexts);
    if (chosen) out.attackerChosenTags = chosen;
    return out;
  };
}

/**
 * What the jobs judged under a set of contexts were found to do, shared by every pipeline judged
 * under them (the service judges a merge request's base and head, pipelines include the same
 * templates): keyed by the contexts and the content of the rule nodes (`keyOf`), so equal keys
 * mean equal rules written at the same place, whichever pipeline they come from. Outcomes are
 * never changed once built.
 */
interface SharedMemo {
  /** Rule nodes (workflow included) → the variable names they read. */
  names: BoundedMemo<string[]>;
  /** … and the known YAML values of those names → the job's outcome in every context. */
  reach: BoundedMemo<JobReach>;
  /** … and the values as written → the job's trust, assumptions included. */
  judged: BoundedMemo<Pick<JobTrust, 'byContext' | 'untrusted' | 'trusted'>>;
}
/**
 * One table of each for all contexts (a service judges under as many as it has policies, default
 * branches and live variable assumptions), so what they keep is bounded as a whole: each key
 * starts with its contexts' number.
 */
const shared: SharedMemo = { names: sharedTable(), reach: sharedTable(), judged: sharedTable() };
const contextsIds = new WeakMap<Record<ContextId, TrustContext>, number>();
let nextContextsId = 1;
function contextsPrefix(contexts: Record<ContextId, TrustContext>): string {
  let id = contextsIds.get(contexts);
  if (id === undefined) contextsIds.set(contexts, (id = nextContextsId++));
  return `${id}#`;
}

/**
 * Each table is emptied when it holds 5,000 keys (a merge request's base and head of a
 * 2,000-job pipeline, GitLab's scale) or 4 million characters of keys (the keys hold the YAML
 * values the rules read). What the outcomes hold is bounded with them: at most one rule list's
 * reasons per key.
 */
function sharedTable<V>(): BoundedMemo<V> {
  return new BoundedMemo<V>(5_000, 4_000_000);
}

/** Where `tags:` interpolate a variable whoever starts the pipeline controls (see `JobTrust.attackerChosenTags`). */
function attackerChosenTags(job: Job, untrusted: ContextId[], contexts: Record<ContextId, TrustContext>): JobTrust['attackerChosenTags'] {
  if (untrusted.length === 0 || !job.tags.some((t) => t.includes('$'))) return undefined;
  const refs = [...new Set(flatMap(job.tags, variableReferences))];
  if (refs.length === 0) return undefined;
  const out: NonNullable<JobTrust['attackerChosenTags']> = {};
  for (const id of untrusted) {
    const why = refs.map((r) => chosenInContext(contexts[id], r, job.variables)).filter((w): w is string => w !== undefined);
    if (why.length) out[id] = why;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A job whose `rules`/`only`/`except` an unread `extends` parent may set or override: what the
 * known parents say holds only maybe, in every context (three-valued), and the reason names
 * the unread parent and include. Where the workflow already excludes the pipeline, it stays no.
 */
function withUnreadParents(job: Job, reach: JobReach, workflow: JobReach): JobReach {
  if (!job.partial) return reach;
  const rulesCertain = !keyUncertainty(job, 'rules') && job.node.entries.has('rules');
  const why = rulesCertain ? undefined : (['rules', 'only', 'except'] as const).map((k) => keyUncertainty(job, k)).find((x) => x !== undefined);
  if (!why) return reach;
  const out = {} as JobReach;
  for (const [id, o] of Object.entries(reach) as [ContextId, JobReach[ContextId]][]) {
    out[id] = o.runs === 'unknown' || workflow[id].runs === 'no' ? o : { ...o, runs: 'unknown', when: o.runs === 'no' ? 'on_success' : o.when, reason: `${why}; the known parents give: ${o.reason}` };
  }
  return out;
}

/**
 * Say, per context, what the outcome rests on for each YAML variable the rules read: its YAML
 * value (no CI/CD variable of that name known), or "may be overridden" and by what.
 */
function withAssumptions(reach: JobReach, names: string[], job: Job, contexts: Record<ContextId, TrustContext>): JobReach {
  // Most jobs' rules read no YAML variable: nothing to say, and no list to build.
  if (!names.some((n) => job.variables.has(n))) return reach;
  const yamlNames = [...new Set(names)].filter((n) => job.variables.has(n)).sort();
  const out = {} as JobReach;
  for (const [id, o] of Object.entries(reach) as [ContextId, JobReach[ContextId]][]) {
    const ctx = contexts[id];
    if (!ctx.possible) {
      out[id] = o;
      continue;
    }
    const assumptions = yamlNames.map((n) => {
      const v = job.variables.get(n)!;
      const st = yamlVariableStatus(ctx, n);
      if (!st.overridable) return `\`$${n}\` keeps its YAML value \`${v.value}\` unless a project or group CI/CD variable overrides it`;
      return st.cicd ? `\`$${n}\` is overridden by a project or group CI/CD variable (YAML default \`${v.value}\`)` : `\`$${n}\`: its YAML default \`${v.value}\` may be overridden by a pipeline variable`;
    });
    out[id] = { ...o, assumptions };
  }
  return out;
}

/**
 * The nine contexts depend only on the policy's protected refs, the default branch and the
 * variable assumptions: one object for each such set, whichever policy object brings it. The
 * service builds a policy object per review (the team policy with the project's protected refs
 * and overrides), and what the trust memo keeps is keyed by the contexts, so a recheck of a
 * merge request, or another project with the same protected refs, reads what was found before.
 */
const contextsByContent = new BoundedMemo<Record<ContextId, TrustContext>>(1_000, 1_000_000);
function contextsFor(policy: Policy, defaultBranch: string, assumptions?: VariableAssumptions): Record<ContextId, TrustContext> {
  // Every evaluation asks, most with the refs and branch of the one before and no live
  // assumptions (the CLI, the audit's projects of one policy): those are compared as they are,
  // without building the key. Live assumptions always take the keyed route.
  const { branches, tags } = policy.protected;
  const last = lastContexts;
  if (assumptions === undefined && last !== undefined && last.defaultBranch === defaultBranch && sameList(last.branches, branches) && sameList(last.tags, tags)) return last.contexts;
  const options: ContextOptions = { ...contextOptionsFromPolicy(policy, defaultBranch), variables: assumptions };
  const key = JSON.stringify([options.defaultBranch, options.protectedBranches, options.protectedTags, assumptions ?? null]);
  let c = contextsByContent.get(key);
  if (!c) contextsByContent.set(key, (c = buildContexts(options)));
  if (assumptions === undefined) lastContexts = { defaultBranch, branches: options.protectedBranches, tags: options.protectedTags, contexts: c };
  return c;
}
/** The contexts built or found last without assumptions, with copies of the refs they were built for. */
let lastContexts: { defaultBranch: string; branches: readonly string[]; tags: readonly string[]; contexts: Record<ContextId, TrustContext> } | undefined;
function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Nodes are immutable once built, so these per-node results are kept for the node's life.
const namesOf = new WeakMap<object, string[]>();

/**
 * A key for a rules/only/except/when node: where it is written (an outcome can point at the
 * list itself: "no rule in `rules` matches") and the content ids of its items. Equal items
 * written at the same place have the same ids in every pipeline, so equal keys mean equal rules
 * written at the same place, hence equal outcomes, deciding lines included. Memoised per node, a
 * sequence by its items: jobs share rule lists through `extends` (whose copies of a list, made
 * to record how it was inherited, keep its items and position) and `!reference`.
 */
function keyOf(n: YNode | undefined): string {
  if (!n) return '-';
  const at = n.kind === 'seq' ? n.items : n;
  const hit = keys.get(at);
  if (hit && hit.loc === n.loc) return hit.key;
  const key = n.kind === 'seq' ? 's' + locText(n.loc) + n.items.map(contentId).join(',') : String(contentId(n));
  keys.set(at, { loc: n.loc, key });
  return key;
}
const keys = new WeakMap<object, { loc: SourceLocation; key: string }>();

/**
 * A number for a node's content and position: its kind, where it (and every key and value
 * under it) is written, its scalar values with their types and tags, its `!reference` paths.
 * Everything the trust evaluation reads of a node, so two nodes with the same id are judged
 * alike. Exact texts (length-prefixed), never a hash: no YAML can collide with other YAML. Ids
 * are never reused (the text → id table starts afresh when it grows past its bounds, and later
 * texts get new ids).
 */
function contentId(n: YNode): number {
  const text = contentText(n, '');
  let id = idsByContent.get(text);
  if (id === undefined) idsByContent.set(text, (id = nextContentId++));
  return id;
}
/** Bounded by keys and by characters: the texts are rule items an MR author writes. */
const idsByContent = new BoundedMemo<number>(50_000, 8_000_000);
let nextContentId = 1;

/** `n`'s content and position appended to `t` (see contentId). */
function contentText(n: YNode, t: string): string {
  t += KIND_MARK[n.kind] + locText(n.loc);
  switch (n.kind) {
    case 'scalar': {
      const v = n.value === null ? '' : scalarText(n);
      t += `${typeof n.value}:${v.length}:${v}`;
      if (n.tag !== undefined) t += `!${n.tag.length}:${n.tag}`;
      if (n.invalidScriptItem !== undefined) t += `?${n.invalidScriptItem};`;
      return t;
    }
    case 'seq':
      t += '[';
      for (const it of n.items) t = contentText(it, t);
      return t + ']';
    case 'map':
      t += '{';
      for (const [k, e] of n.entries) t = contentText(e.value, t + `${k.length}:${k}${locText(e.keyLoc)}=`);
      return t + '}';
    case 'reference':
      for (const p of n.path) t += `${p.length}:${p}`;
      return t + ';';
  }
}

const KIND_MARK: Record<YNode['kind'], string> = { scalar: 'v', seq: 'q', map: 'm', reference: 'r' };

/** A position, its file by number (file names are long and every node has one). */
function locText(loc: SourceLocation): string {
  let f = fileIds.get(loc.file);
  if (f === undefined) fileIds.set(loc.file, (f = nextFileId++));
  return `${f}@${loc.line}.${loc.column}-${loc.endLine}.${loc.endColumn};`;
}
const fileIds = new BoundedMemo<number>(10_000, 1_000_000);
let nextFileId = 1;

/** Any `$NAME` or `${NAME` in rule texts (expressions, `changes`, `exists` …); `$$` not special. */
const RULE_TEXT_REFS: VarRefOptions = { dollarEscape: false, powershell: false, percent: false, names: 'word', openBrace: true };

/** Every `$NAME` written anywhere in a rules / only / except node (memoised per node). */
function variableNames(node: YNode | undefined, cache: WeakMap<object, string[]>): string[] {
  if (!node) return [];
  const hit = cache.get(node);
  if (hit) return hit;
  if (node.kind === 'seq' && node.items.length > 1) {
    // Per item, so lists assembled from shared rules reuse the work.
    const all = new Set<string>();
    for (const it of node.items) for (const n of variableNames(it, cache)) all.add(n);
    const list = [...all].sort();
    cache.set(node, list);
    return list;
  }
  const out = new Set<string>();
  const walk = (n: YNode) => {
    if (n.kind === 'scalar') {
      if (typeof n.value === 'string' && n.value.includes('$')) for (const r of variableRefs(n.value, RULE_TEXT_REFS)) out.add(r.name);
    } else if (n.kind === 'seq') n.items.forEach(walk);
    else if (n.kind === 'map') for (const e of n.entries.values()) walk(e.value);
  };
  walk(node);
  const list = [...out].sort();
  cache.set(node, list);
  return list;
}
