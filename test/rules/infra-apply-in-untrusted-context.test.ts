import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/infra-apply-in-untrusted-context.js';
import { checkRule } from './harness.js';

const MR = '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n';
const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';

describe('infra-apply-in-untrusted-context', () => {
  it('reports apply commands at the command in jobs reachable from untrusted contexts', async () => {
    await checkRule(rule, {
      valid: [
        // Protected only.
        `apply:\n  script:\n    - terraform init\n    - terraform apply -auto-approve\n${MAIN}`,
        // Plans and dry runs in MRs.
        `plan:\n  script:\n    - terraform plan -out plan.cache\n    - kubectl apply --dry-run=server -f k8s/\n    - helm upgrade --dry-run app ./chart\n${MR}`,
        // A local cluster is not real infrastructure.
        `e2e:\n  script:\n    - kind create cluster\n    - kubectl apply -f k8s/\n${MR}`,
        // Stopping the review environment.
        `stop:\n  script: terraform destroy -auto-approve\n  environment:\n    name: review/$CI_COMMIT_REF_SLUG\n    action: stop\n${MR}`,
      ],
      invalid: [
        {
          name: 'terraform apply in MR pipelines',
          code: `apply:\n  script:\n    - terraform init\n    - terraform apply -auto-approve\n${MR}`,
          errors: [{ line: 4, column: 7, job: 'apply', severity: 'error', message: /^Job `apply` runs `terraform apply` and can run in `mr-fork` and `mr`: it applies configuration from unreviewed code to real infrastructure/ }],
        },
        {
          name: 'helm and kubectl on every branch, block scalar',
          code: `deploy:\n  script:\n    - |\n      kubectl apply -f k8s/\n      helm upgrade --install app ./chart\n`,
          errors: [
            { line: 4, column: 7, job: 'deploy', message: /runs `kubectl apply` and can run in `branch`/ },
            { line: 5, column: 7, job: 'deploy', message: /runs `helm upgrade`/ },
          ],
        },
        {
          name: 'review app: a warning',
          code: `review:\n  script: pulumi up --yes --stack review\n  environment:\n    name: review/$CI_COMMIT_REF_SLUG\n${MR}`,
          errors: [{ line: 2, column: 11, job: 'review', severity: 'warning', message: /runs `pulumi up`.*\(a review app: scope its credentials to the review namespace\)/ }],
        },
      ],
    });
  });
});
