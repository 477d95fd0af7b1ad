import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/oidc-audience-broad.js';
import { checkRule } from './harness.js';

const MR = '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n';
const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';
const DEPLOY = `deploy:\n  environment: production\n  script: ./deploy.sh\n  id_tokens:\n    AWS_ID_TOKEN:\n      aud: https://aws.example.com/prod\n${MAIN}`;

describe('oidc-audience-broad', () => {
  it('flags generic audiences in untrusted jobs and audiences shared with deploy jobs', async () => {
    await checkRule(rule, {
      valid: [
        // Instance URL, but only on the default branch.
        `build:\n  script: make\n  id_tokens:\n    VAULT_ID_TOKEN:\n      aud: $CI_SERVER_URL\n${MAIN}`,
        // A dedicated audience in an MR job, distinct from the deploy's.
        `${DEPLOY}test:\n  script: make test\n  id_tokens:\n    T:\n      aud: https://aws.example.com/readonly\n${MR}`,
        // Two deploy jobs may share one.
        `${DEPLOY}deploy2:\n  environment: production/eu\n  script: ./deploy.sh\n  id_tokens:\n    AWS_ID_TOKEN:\n      aud: https://aws.example.com/prod\n${MAIN}`,
      ],
      invalid: [
        {
          name: 'instance URL in an MR job',
          code: `test:\n  script: make test\n  id_tokens:\n    VAULT_ID_TOKEN:\n      aud: \${CI_SERVER_URL}\n${MR}`,
          errors: [{ line: 5, column: 12, job: 'test', severity: 'warning', message: /^`aud` `\$\{CI_SERVER_URL\}` of ID token `VAULT_ID_TOKEN` in job `test` is the GitLab instance URL, .*can run in `mr-fork` and `mr`/ }],
        },
        {
          name: 'same audience as the deploy job, list form, untrusted: error',
          code: `${DEPLOY}test:\n  script: make test\n  id_tokens:\n    T:\n      aud:\n        - https://vault.example.com\n        - https://aws.example.com/prod\n${MR}`,
          errors: [{ line: 15, column: 11, job: 'test', severity: 'error', message: /is also the audience of deploy job `deploy`, and `test` can run in `mr-fork` and `mr`/ }],
        },
        {
          name: 'default: gives every job the token; reported once',
          code: `default:\n  id_tokens:\n    ID_TOKEN:\n      aud: https://sts.example.com\na:\n  script: make\n${MR}b:\n  script: make\n${MR}`,
          errors: [{ line: 4, column: 12, job: 'a', message: /given to every job through `default:`/ }],
        },
      ],
    });
  });
});
