import { describe, expect, it } from 'vitest';
import rule, { saysDeploy } from '../../src/rules/pipeline/deploy-missing-environment.js';
import { checkRule } from './harness.js';

describe('deploy-missing-environment', () => {
  it('matches deploy/release as whole words', () => {
    expect(['deploy', 'deploy-prod', 'Deploy_EU', 'release', 'pre-release', 'deployProd', 'k8s:deployment'].map(saysDeploy)).toEqual([
      true, true, true, true, true, true, true,
    ]);
    expect(['redeployer', 'releaser', 'test', 'build-deployer-image'].map(saysDeploy)).toEqual([false, false, false, false]);
  });

  it('flags deploying jobs without an environment', async () => {
    await checkRule(rule, {
      valid: [
        'deploy:\n  stage: deploy\n  script: ./deploy.sh\n  environment: production\n  tags: [ci-deploy-prod]\n',
        'stop-prod:\n  script: ./stop.sh\n  environment: {name: production, action: stop}\n  tags: [ci-deploy-prod]\n',
        'build:\n  stage: build\n  script: make\n',
        // Bridges run no script; the downstream jobs carry the environment.
        'deploy-child:\n  stage: deploy\n  trigger: {include: deploy.yml}\n',
        'ship:\n  script: ./ship.sh\n  tags: [ci-general]\n',
        // A review app deploys with helm but declares its environment.
        'review:\n  script: helm upgrade --install r-$CI_COMMIT_REF_SLUG ./chart\n  environment: review/$CI_COMMIT_REF_SLUG\n',
        // GitLab Pages publishes through its own deployment, not a protectable environment.
        'pages:\n  stage: deploy\n  script: make site\n  artifacts: {paths: [public]}\n',
        'docs-site:\n  stage: deploy\n  script: make site\n  pages: true\n',
      ],
      invalid: [
        {
          name: 'deploy-tier tag: at the tag',
          code: 'ship:\n  script: ./ship.sh\n  tags: [docker, ci-deploy-prod]\n',
          errors: [{ line: 3, column: 18, job: 'ship', message: /routed to the production deploy tier \(tag `ci-deploy-prod`\) but has no `environment:`/ }],
        },
        {
          name: 'name says deploy: at the job key',
          code: 'deploy-prod:\n  stage: build\n  script: ./deploy.sh\n',
          errors: [{ line: 1, column: 1, job: 'deploy-prod', severity: 'warning', message: /is named as a deployment/ }],
        },
        {
          name: 'stage says deploy (default stage list): at the stage',
          code: 'upload:\n  stage: deploy\n  script: ./upload.sh\n',
          errors: [{ line: 2, column: 10, job: 'upload', severity: 'warning', message: /runs in the `deploy` stage/ }],
        },
        {
          name: 'helm upgrade with a kubeconfig variable: blocking, at the command',
          code: 'k8s:\n  stage: build\n  script:\n    - helm upgrade --install app ./chart --kubeconfig "$PROD_KUBECONFIG"\n',
          errors: [{ line: 4, column: 7, job: 'k8s', severity: 'error', message: /deploys \(runs `helm upgrade`\) but has no `environment:`/ }],
        },
        {
          name: 'a build type named release that pushes to the own registry: a warning on the name only',
          code: 'linux-release:\n  script:\n    - make BUILD_TYPE=release\n    - docker push "$CI_REGISTRY_IMAGE/linux:$CI_COMMIT_SHA"\n',
          errors: [{ line: 1, column: 1, job: 'linux-release', severity: 'warning', messageId: 'byNameOnly' }],
        },
        {
          name: 'a package upload on tags: blocking',
          code: 'pypi:\n  script: twine upload -u __token__ -p "$PYPI_TOKEN" dist/*\n  rules:\n    - if: $CI_COMMIT_TAG\n',
          errors: [{ line: 2, column: 11, job: 'pypi', severity: 'error', message: /runs `twine upload`/ }],
        },
        {
          name: 'environment: null removes an inherited environment',
          code: '.base:\n  environment: production\nrelease:\n  extends: .base\n  environment: null\n  script: ./release.sh\n',
          errors: [{ line: 3, column: 1, job: 'release', severity: 'warning' }],
        },
        {
          name: 'stage from a template in an include',
          code: 'include: ci/t.yml\nstages: [build, release]\npublish:\n  extends: .publish\n  script: ./publish.sh\n',
          options: { files: { 'ci/t.yml': '.publish:\n  stage: release\n' } },
          errors: [{ line: 2, column: 10, file: 'ci/t.yml', job: 'publish', severity: 'warning' }],
        },
      ],
    });
  });
});
