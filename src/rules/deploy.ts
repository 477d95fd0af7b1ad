import { get, str, type YNode } from '../model/node.js';
import type { Job } from '../model/pipeline.js';
import type { Policy } from '../policy/types.js';
import { matchesAny } from '../util/glob.js';

export type EnvTier = 'production' | 'staging';
export type RunnerTier = 'deploy-production' | 'deploy-staging' | 'build' | 'general' | 'unknown';

export interface DeployInfo {
  /** Environment tier, when it is production or staging. */
  tier?: EnvTier;
  /** Why this is a deploy job. */
  reason: 'environment' | 'tags';
  environmentName?: string;
  /** The `environment:` node (string or map). */
  environmentNode?: YNode;
  /** The `environment:name` (or the string form) node. */
  nameNode?: YNode;
}

/**
 * Environment tier: `deployment_tier` when set (`doc/ci/environments/_index.md`: production,
 * staging, testing, development, other), else the name against the policy patterns.
 */
export function environmentTier(name: string | undefined, deploymentTier: string | undefined, policy: Policy): EnvTier | undefined {
  if (deploymentTier === 'production' || deploymentTier === 'staging') return deploymentTier;
  if (deploymentTier) return undefined;
  if (!name) return undefined;
  if (matchesAny(name, policy.environments.production)) return 'production';
  if (matchesAny(name, policy.environments.staging)) return 'staging';
  return undefined;
}

/**
 * A deploy job (SPEC "Trust contexts"): an `environment` whose action deploys (absent or
 * `start`, `doc/ci/yaml/_index.md#environmentaction`) with a production or staging tier, or a
 * job routed to deploy-tier runner tags. Review apps (other tiers) are environment jobs, not
 * deploy jobs, so the blocking deploy rules do not flag every review app.
 */
export function deployInfo(job: Job, policy: Policy): DeployInfo | undefined {
  const env = get(job.node, 'environment');
  const tagTierValue = tagTier(job.tags, policy);
  const tagDeploy = tagTierValue === 'deploy-production' || tagTierValue === 'deploy-staging';
  if (env && !(env.kind === 'scalar' && env.value === null)) {
    const nameNode = env.kind === 'map' ? get(env, 'name') : env;
    const name = str(nameNode);
    const action = env.kind === 'map' ? (str(get(env, 'action')) ?? 'start') : 'start';
    const tier = environmentTier(name, env.kind === 'map' ? str(get(env, 'deployment_tier')) : undefined, policy);
    if (action === 'start' && tier) return { tier, reason: 'environment', environmentName: name, environmentNode: env, nameNode };
  }
  if (tagDeploy) {
    return { tier: tagTierValue === 'deploy-production' ? 'production' : 'staging', reason: 'tags', environmentNode: env ?? undefined };
  }
  return undefined;
}

/** The tier a job's tags route to. Any deploy tag makes it deploy tier; no tags: 'unknown'. */
export function tagTier(tags: readonly string[], policy: Policy): RunnerTier {
  if (tags.length === 0) return 'unknown';
  if (tags.some((t) => policy.tiers.deploy.production.includes(t))) return 'deploy-production';
  if (tags.some((t) => policy.tiers.deploy.staging.includes(t))) return 'deploy-staging';
  if (tags.some((t) => policy.tiers.build.includes(t))) return 'build';
  if (tags.some((t) => policy.tiers.general.includes(t))) return 'general';
  return 'unknown';
}
