import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/untrusted-artifacts-into-deploy.js';
import { checkRule } from './harness.js';

const DEPLOY = 'deploy:\n  environment: production\n  tags: [ci-deploy-prod]\n';

describe('untrusted-artifacts-into-deploy', () => {
  it('flags cross-pipeline artifacts from unprotected or variable refs in deploy jobs', async () => {
    await checkRule(rule, {
      valid: [
        `${DEPLOY}  script: ./deploy.sh\n  needs:\n    - project: grp/app\n      job: build\n      ref: main\n`,
        `${DEPLOY}  script: ./deploy.sh\n  needs:\n    - project: grp/app\n      job: build\n      ref: v1.2.3\n`,
        `${DEPLOY}  script: ./deploy.sh\n  needs:\n    - project: grp/app\n      job: build\n      ref: $CI_DEFAULT_BRANCH\n`,
        `${DEPLOY}  script: 'curl -o a.zip "$CI_API_V4_URL/projects/1/jobs/artifacts/main/download?job=build"'\n`,
        // Not a deploy job.
        'test:\n  script: ./t.sh\n  needs:\n    - pipeline: $PARENT_PIPELINE_ID\n      job: build\n',
        // Same-pipeline needs.
        `${DEPLOY}  script: ./deploy.sh\n  needs: [build]\n`,
      ],
      invalid: [
        {
          name: 'needs:project with a branch and with a variable ref',
          code: `${DEPLOY}  script: ./deploy.sh\n  needs:\n    - project: grp/app\n      job: build\n      ref: feature/x\n    - project: grp/lib\n      job: pkg\n      ref: $LIB_REF\n`,
          errors: [
            { line: 8, column: 12, job: 'deploy', message: /takes artifacts of job `build` in `grp\/app` from `feature\/x`, a ref that is not protected/ },
            { line: 11, column: 12, job: 'deploy', message: /ref chosen at run time \(`\$LIB_REF`\)/ },
          ],
        },
        {
          name: 'needs:pipeline',
          code: `${DEPLOY}  script: ./deploy.sh\n  needs:\n    - pipeline: $PARENT_PIPELINE_ID\n      job: build\n`,
          errors: [{ line: 6, column: 17, job: 'deploy', message: /from pipeline `\$PARENT_PIPELINE_ID` \(`needs:pipeline`\)/ }],
        },
        {
          name: 'API downloads in scripts',
          code:
            `${DEPLOY}  script:\n` +
            '    - curl -o a.zip "$CI_API_V4_URL/projects/1/jobs/artifacts/$REF/download?job=build"\n' +
            '    - curl -o b.zip "$CI_API_V4_URL/projects/1/jobs/$BUILD_JOB_ID/artifacts"\n' +
            '    - glab job artifact develop build\n',
          errors: [
            { line: 5, column: 63, job: 'deploy', message: /downloads artifacts by API from a ref chosen at run time \(`\$REF`\)/ },
            { line: 6, column: 53, job: 'deploy', message: /from job `\$BUILD_JOB_ID`/ },
            { line: 7, column: 25, job: 'deploy', message: /with `glab` from `develop`/ },
          ],
        },
        {
          name: 'needs in an included template',
          code: 'include: ci/t.yml\ndeploy:\n  extends: .deploy\n  environment: staging\n  tags: [ci-deploy-staging]\n  script: ./deploy.sh\n',
          options: { files: { 'ci/t.yml': '.deploy:\n  needs:\n    - {project: grp/app, job: build, ref: develop}\n' } },
          errors: [{ line: 3, column: 43, file: 'ci/t.yml', job: 'deploy' }],
        },
      ],
    });
  });

  it('reports any job in trusted contexts that takes artifacts an outsider controls', async () => {
    const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';
    await checkRule(rule, {
      valid: [
        // The MR source branch, but the consumer only runs in MR pipelines (untrusted itself).
        'lint:\n  script: make lint\n  needs:\n    - project: acme/tools\n      job: build\n      ref: $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
        // A run-time ref that is the protected ref itself in trusted contexts.
        'report:\n  script: ./report.sh\n  needs:\n    - project: acme/tools\n      job: build\n      ref: $CI_COMMIT_REF_NAME\n' + MAIN,
        // The default branch of another project.
        'report:\n  script: ./report.sh\n  needs:\n    - project: acme/tools\n      job: build\n      ref: main\n' + MAIN,
      ],
      invalid: [
        {
          name: 'the MR source branch into a job that also runs on the default branch',
          code: 'e2e:\n  script: ./e2e.sh "$E2E_TOKEN"\n  needs:\n    - project: acme/app\n      job: build\n      ref: $CI_MERGE_REQUEST_SOURCE_BRANCH_NAME\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
          errors: [{ line: 6, column: 12, job: 'e2e', message: /runs in trusted contexts `default-branch`.*from `\$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`, which the merge request author chooses/ }],
        },
        {
          name: 'needs:project from the fork project of an MR',
          code: 'scan:\n  script: ./scan.sh\n  needs:\n    - project: $CI_MERGE_REQUEST_SOURCE_PROJECT_PATH\n      job: build\n      ref: main\n' + MAIN,
          errors: [{ line: 4, column: 16, job: 'scan' }],
        },
        {
          name: 'a literal unprotected branch',
          code: 'nightly:\n  script: ./nightly.sh\n  needs:\n    - project: acme/app\n      job: build\n      ref: feature/new-ui\n' + MAIN,
          errors: [{ line: 6, column: 12, job: 'nightly', message: /`feature\/new-ui`, a ref that is not protected/ }],
        },
      ],
    });
  });
});
