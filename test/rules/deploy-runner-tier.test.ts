import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/deploy-runner-tier.js';
import { checkRule } from './harness.js';

describe('deploy-runner-tier', () => {
  it("checks a deploy job's effective tags against its environment tier", async () => {
    await checkRule(rule, {
      valid: [
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  tags: [ci-deploy-prod]\n',
        'deploy:\n  script: ./deploy.sh\n  environment: {name: staging}\n  tags:\n    - ci-deploy-staging\n',
        // deployment_tier decides over the name.
        'deploy:\n  script: ./deploy.sh\n  environment: {name: eu-west, deployment_tier: staging}\n  tags: [ci-deploy-staging]\n',
        // Not a deploy job: a review app, and a plain build.
        'review:\n  script: ./deploy.sh\n  environment: review/$CI_COMMIT_REF_SLUG\n',
        'build:\n  script: make\n  tags: [ci-general]\n',
        // Tags from default: apply.
        'default:\n  tags: [ci-deploy-prod]\ndeploy:\n  script: ./deploy.sh\n  environment: production\n',
      ],
      invalid: [
        {
          name: 'untagged production deploy: at the environment',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: production\n',
          errors: [{ line: 3, column: 16, job: 'deploy', messageId: 'noTags', message: /`ci-deploy-prod`/ }],
        },
        {
          name: 'general tier tag',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: production\n  tags: [ci-general]\n',
          errors: [{ line: 4, column: 10, job: 'deploy', message: /routed to `ci-general`, a general tier runner tag/ }],
        },
        {
          name: 'staging environment on production runners',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: staging\n  tags:\n    - ci-deploy-prod\n',
          errors: [{ line: 5, column: 7, job: 'deploy', message: /production deploy tier/ }],
        },
        {
          name: 'mixed tiers',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: production\n  tags: [ci-deploy-prod, ci-build]\n',
          errors: [{ line: 4, column: 26, job: 'deploy', messageId: 'mixedTiers', message: /also carries `ci-build`, a build tier/ }],
        },
        {
          name: 'unknown tags only',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: prod-eu\n  tags: [docker]\n',
          errors: [{ line: 4, column: 9, job: 'deploy', message: /none of which is one of the production deploy-tier tags/ }],
        },
        {
          name: 'tags from an included default: points into the include',
          code: 'include: ci/defaults.yml\ndeploy:\n  script: ./deploy.sh\n  environment: production\n',
          options: { files: { 'ci/defaults.yml': 'default:\n  tags:\n    - ci-general\n' } },
          errors: [{ line: 3, column: 7, file: 'ci/defaults.yml', job: 'deploy' }],
        },
      ],
    });
  });
});
