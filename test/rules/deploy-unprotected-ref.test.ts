import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/deploy-unprotected-ref.js';
import { checkRule } from './harness.js';

describe('deploy-unprotected-ref', () => {
  it('flags deploy jobs that can run in untrusted contexts, at the deciding rule', async () => {
    await checkRule(rule, {
      valid: [
        // Default branch only.
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
        // Protected refs only, by the predefined variable.
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true" && $CI_PIPELINE_SOURCE == "push"\n',
        // Protected tags only (policy: v*).
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  rules:\n    - if: $CI_COMMIT_TAG =~ /^v\\d+/ && $CI_COMMIT_REF_PROTECTED == "true"\n',
        // A review app is not a deploy job.
        'review:\n  script: ./deploy.sh\n  environment: review/$CI_COMMIT_REF_SLUG\n',
        // Stopping an environment does not deploy.
        'stop:\n  script: ./stop.sh\n  environment:\n    name: production\n    action: stop\n',
      ],
      invalid: [
        {
          name: 'no rules: branches and tags, pointing at the environment',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: production\n',
          errors: [{ line: 3, column: 16, job: 'deploy', message: /Deploy job `deploy` \(production environment `production`\) can run in untrusted contexts? .*`branch`/ }],
        },
        {
          name: 'an MR rule decides',
          code:
            'deploy:\n  script: ./deploy.sh\n  environment: {name: prod-eu}\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
          errors: [{ line: 5, column: 11, job: 'deploy', message: /`mr-fork` and `mr`/ }],
        },
        {
          name: 'any tag: unprotected tags are attacker-chosen',
          code: 'release:\n  script: ./deploy.sh\n  environment: staging\n  rules:\n    - if: $CI_COMMIT_TAG\n',
          errors: [{ line: 5, column: 11, job: 'release', message: /`unprotected-tag`/ }],
        },
        {
          name: 'deploy by runner tags, no environment: at the job',
          code: 'ship:\n  script: ./deploy.sh\n  tags: [ci-deploy-prod]\n',
          errors: [{ line: 1, column: 1, job: 'ship', message: /deploy-tier runner tags `ci-deploy-prod`/ }],
        },
        {
          name: 'environment from an included template',
          code: 'include: ci/deploy.yml\ndeploy:\n  extends: .deploy\n  script: ./deploy.sh\n',
          options: { files: { 'ci/deploy.yml': '.deploy:\n  environment:\n    name: production\n' } },
          errors: [{ line: 3, column: 11, file: 'ci/deploy.yml', job: 'deploy' }],
        },
      ],
    });
  });
});
