import { toJS, type YNode } from '../model/node.js';
import type { Job, Pipeline } from '../model/pipeline.js';
import type { Policy } from '../policy/types.js';
import type { JobTrust } from '../rules/types.js';
import { buildContexts, contextOptionsFromPolicy, type ContextId } from './contexts.js';
import { jobReachInput, reachJob, trustedContexts, untrustedContexts, type JobReach } from './reach.js';

/**
 * Trust of every job of a pipeline: `workflow:rules`, then the job's `rules` or
 * `only`/`except`, under each trust context built from the policy's protected refs.
 *
 * Large pipelines share rule lists between many jobs (`extends`, `!reference`), so the
 * outcome is memoised by the identity of the rule nodes and the values of the variables
 * their expressions name.
 */
export function pipelineTrust(pipeline: Pipeline, policy: Policy, defaultBranch: string): (job: Job) => JobTrust {
  const contexts = buildContexts(contextOptionsFromPolicy(policy, defaultBranch));
  const workflowRules = pipeline.workflow?.entries.get('rules')?.value;

  const memo = new Map<string, JobReach>();
  const workflowNames = variableNames(workflowRules, namesOf);

  return (job) => {
    const input = jobReachInput(job.node);
    // YAML variables are known values, unless they expand other variables (then unknown).
    const variables: Record<string, string | undefined> = {};
    for (const [name, v] of job.variables) variables[name] = v.expand && v.value.includes('$') ? undefined : v.value;
    const names = [...workflowNames, ...variableNames(input.rules, namesOf), ...variableNames(input.only, namesOf), ...variableNames(input.except, namesOf)];
    const key = [keyOf(input.rules), keyOf(input.only), keyOf(input.except), keyOf(input.when), ...names.map((n) => `${n}=${variables[n] ?? '\u0000'}`)].join('|');
    let byContext = memo.get(key);
    if (!byContext) {
      byContext = reachJob(input, { workflowRules, variables, contexts });
      memo.set(key, byContext);
    }
    return {
      byContext,
      untrusted: untrustedContexts(byContext, contexts) as ContextId[],
      trusted: trustedContexts(byContext, contexts) as ContextId[],
    };
  };
}

// Nodes are immutable once built, so these per-node results are kept across evaluations.
const namesOf = new WeakMap<object, string[]>();
const keys = new WeakMap<object, string>();

// Copies made by `!reference` flattening keep each rule's source position and content,
// so the key is position + content: equal keys give equal outcomes, deciding lines included.
function keyOf(n: YNode | undefined): string {
  if (!n) return '-';
  let k = keys.get(n);
  if (k === undefined) {
    const items = n.kind === 'seq' ? n.items : [n];
    k = items.map((i) => `${i.loc.file}:${i.loc.line}:${i.loc.column}`).join(',') + JSON.stringify(toJS(n));
    keys.set(n, k);
  }
  return k;
}

/** Every `$NAME` written anywhere in a rules / only / except node (memoised per node). */
function variableNames(node: YNode | undefined, cache: WeakMap<object, string[]>): string[] {
  if (!node) return [];
  const hit = cache.get(node);
  if (hit) return hit;
  const out = new Set<string>();
  const walk = (n: YNode) => {
    if (n.kind === 'scalar') {
      if (typeof n.value === 'string' && n.value.includes('$')) for (const m of n.value.matchAll(/\$\{?(\w+)/g)) out.add(m[1]);
    } else if (n.kind === 'seq') n.items.forEach(walk);
    else if (n.kind === 'map') for (const e of n.entries.values()) walk(e.value);
  };
  walk(node);
  const list = [...out].sort();
  cache.set(node, list);
  return list;
}
