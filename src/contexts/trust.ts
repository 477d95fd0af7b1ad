import type { Job, Pipeline } from '../model/pipeline.js';
import type { Policy } from '../policy/types.js';
import type { JobTrust } from '../rules/types.js';
import { buildContexts, contextOptionsFromPolicy, type ContextId } from './contexts.js';
import { jobReachInput, reachJob, trustedContexts, untrustedContexts } from './reach.js';

/**
 * Trust of every job of a pipeline: `workflow:rules`, then the job's `rules` or
 * `only`/`except`, under each trust context built from the policy's protected refs.
 */
export function pipelineTrust(pipeline: Pipeline, policy: Policy, defaultBranch: string): (job: Job) => JobTrust {
  const contexts = buildContexts(contextOptionsFromPolicy(policy, defaultBranch));
  const workflowRules = pipeline.workflow?.entries.get('rules')?.value;
  return (job) => {
    // YAML variables are known values, unless they expand other variables (then unknown).
    const variables: Record<string, string | undefined> = {};
    for (const [name, v] of job.variables) variables[name] = v.expand && v.value.includes('$') ? undefined : v.value;
    const byContext = reachJob(jobReachInput(job.node), { workflowRules, variables, contexts });
    return {
      byContext,
      untrusted: untrustedContexts(byContext, contexts) as ContextId[],
      trusted: trustedContexts(byContext, contexts) as ContextId[],
    };
  };
}
