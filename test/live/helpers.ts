import { buildPipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import type { Policy } from '../../src/policy/types.js';
import { evaluatePipeline, type Evaluation } from '../../src/rules/engine.js';
import { defaultTrustFactory } from '../../src/rules/trust-provider.js';

/** Evaluate a `.gitlab-ci.yml` (no pipeline rules: only the model and the trust contexts). */
export async function evaluate(yaml: string, policy: Policy = builtinPolicy()): Promise<Evaluation> {
  const pipeline = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
  return evaluatePipeline(pipeline, { policy, rules: [], trust: defaultTrustFactory, defaultBranch: 'main', today: new Date('2026-11-25T12:00:00Z') });
}

/**
 * lint: runs for merge requests (untagged); deploy: production deploy on the default branch.
 * Lines: `lint` 1, `deploy` 5, `environment: production` 8 (value at column 16), `tags` 9 (column 9).
 */
export const PIPELINE = [
  'lint:',
  '  script: make lint',
  '  rules:',
  '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
  'deploy:',
  '  stage: deploy',
  '  script: ./deploy.sh "$DEPLOY_TOKEN"',
  '  environment: production',
  '  tags: [ci-deploy-prod]',
  '  cache: {key: deps, paths: [vendor/]}',
  '  rules:',
  '    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
  '',
].join('\n');
