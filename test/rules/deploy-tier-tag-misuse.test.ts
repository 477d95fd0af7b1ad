import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/deploy-tier-tag-misuse.js';
import { checkRule } from './harness.js';

describe('deploy-tier-tag-misuse', () => {
  it('flags deploy- and build-tier tags on jobs reachable from untrusted contexts, at the tag', async () => {
    await checkRule(rule, {
      valid: [
        // General tier from anywhere.
        'test:\n  script: make test\n  tags: [ci-general]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
        // Deploy tier, default branch only.
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  tags: [ci-deploy-prod]\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
        // Build tier on protected tags only.
        'image:\n  script: docker build .\n  tags: [ci-build]\n  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true" && $CI_COMMIT_TAG\n',
        // Untagged jobs are another rule's business.
        'test:\n  script: make test\n',
      ],
      invalid: [
        {
          name: 'deploy tag on a job without rules (every branch)',
          code: 'deploy:\n  script: ./deploy.sh\n  tags:\n    - ci-deploy-staging\n',
          errors: [{ line: 4, column: 7, job: 'deploy', message: /staging deploy-tier runner tag `ci-deploy-staging` but can run in untrusted contexts? .*`branch`/ }],
        },
        {
          name: 'build tag in MR pipelines, both tags flagged',
          code: 'build:\n  script: docker build .\n  tags: [ci-build, ci-deploy-prod]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
          errors: [
            { line: 3, column: 10, job: 'build', message: /build-tier runner tag `ci-build` but can run in untrusted contexts `mr-fork` and `mr`/ },
            { line: 3, column: 20, job: 'build', message: /`ci-deploy-prod`/ },
          ],
        },
        {
          name: 'tag from default: in an include, the job in the root file',
          code: 'include: ci/base.yml\nlint:\n  script: make lint\n',
          options: { files: { 'ci/base.yml': 'default:\n  tags: [ci-build]\n' } },
          errors: [{ line: 2, column: 10, file: 'ci/base.yml', job: 'lint' }],
        },
      ],
    });
  });
});
