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
        // Deploy-like by commands, but only on the default branch.
        'helm:\n  script: helm upgrade --install app ./chart --kubeconfig "$PROD_KUBECONFIG"\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
        // Pushing to the project's own registry on every branch is a build, not a deploy.
        'image:\n  script:\n    - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA .\n    - docker push $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\n',
        // A job named release that only builds.
        'build-release:\n  stage: release\n  script: make BUILD_TYPE=release\n',
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
          name: 'helm upgrade without environment on every branch: at the command',
          code: 'upgrade:\n  script:\n    - echo "$KUBECONFIG_B64" | base64 -d > kc\n    - helm upgrade --install app ./chart --kubeconfig kc\n',
          errors: [{ line: 4, column: 7, job: 'upgrade', message: /Deploy job `upgrade` \(runs `helm upgrade`\) can run in untrusted contexts? .*`branch`/ }],
        },
        {
          name: 'push to an external registry on any tag: at the deciding rule',
          code: 'push:\n  script:\n    - docker login -u bot -p "$QUAY_TOKEN" quay.io\n    - docker push quay.io/team/app:$CI_COMMIT_TAG\n  rules:\n    - if: $CI_COMMIT_TAG\n',
          errors: [{ line: 6, column: 11, job: 'push', message: /\(runs `docker push` to `quay.io\/team\/app:\$CI_COMMIT_TAG`\) .*`unprotected-tag`/ }],
        },
        {
          name: 'terraform apply in merge request pipelines',
          code: 'apply:\n  script: terraform apply -auto-approve\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
          errors: [{ line: 4, column: 11, job: 'apply', message: /`terraform apply`.*`mr-fork` and `mr`/ }],
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
