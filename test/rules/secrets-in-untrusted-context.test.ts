import { describe, expect, it } from 'vitest';
import rule, { variableRefs } from '../../src/rules/pipeline/secrets-in-untrusted-context.js';
import { checkRule } from './harness.js';

const MR = '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n';
const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';

describe('secrets-in-untrusted-context', () => {
  it('finds variable references in their shell and GitLab forms', () => {
    expect(variableRefs('curl -H "X: $A" ${B} $env:C %D% $$E').map((r) => r.name)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('flags id_tokens/secrets (error) and credential-like variables (warning) in untrusted jobs', async () => {
    await checkRule(rule, {
      valid: [
        // Trusted only.
        `deploy:\n  script: ./deploy.sh "$DEPLOY_TOKEN"\n  id_tokens:\n    AWS_TOKEN:\n      aud: sts.amazonaws.com\n${MAIN}`,
        // Predefined CI_* and harmless names.
        `test:\n  script:\n    - docker login -u gitlab-ci-token -p "$CI_JOB_TOKEN" $CI_REGISTRY\n    - echo $BUILD_DIR\n${MR}`,
        // Defined with a literal in the YAML: not a CI/CD setting (hardcoded-credential judges literals).
        `test:\n  variables:\n    AUTH_MODE: none\n  script: ./run.sh --auth "$AUTH_MODE"\n${MR}`,
        // Values the script computes itself are not inputs; cache keys and public keys are not credentials.
        `test:\n  script:\n    - export SESSION_TOKEN=$(./login.sh)\n    - SIGNING_KEY=$(openssl rand -hex 16)\n    - ./run.sh "$SESSION_TOKEN" "$SIGNING_KEY" "$CACHE_KEY" "$COSIGN_PUBLIC_KEY"\n${MR}`,
        // $$ is GitLab's escape for a literal dollar.
        `test:\n  variables:\n    TEXT: "$$API_TOKEN"\n  script: echo "$TEXT"\n${MR}`,
      ],
      invalid: [
        {
          name: 'id_tokens and secrets in an MR job',
          code: `test:\n  script: ./integration.sh\n  id_tokens:\n    VAULT_ID_TOKEN:\n      aud: https://vault.example.com\n  secrets:\n    DB_PASSWORD:\n      vault: db/password@ops\n${MR}`,
          errors: [
            { line: 3, column: 3, job: 'test', severity: 'error', message: /requests OIDC ID tokens \(`id_tokens:`\) and can run in untrusted contexts `mr-fork` and `mr`/ },
            { line: 6, column: 3, job: 'test', severity: 'error', message: /external secrets/ },
          ],
        },
        {
          name: 'script reference: at the exact place, once per name',
          code: `publish:\n  script:\n    - npm config set //registry.npmjs.org/:_authToken \${NPM_TOKEN}\n    - echo $NPM_TOKEN\n    - curl -u "bot:$REGISTRY_PASSWORD" https://r.example.com\n`,
          errors: [
            { line: 3, column: 55, job: 'publish', severity: 'warning', message: /`\$NPM_TOKEN` \(in `script`\) and can run .*make it Protected/ },
            { line: 5, column: 20, job: 'publish', severity: 'warning', message: /`\$REGISTRY_PASSWORD`/ },
          ],
        },
        {
          name: 'a reference in default: is reported once, under the first job that runs it',
          code: `default:\n  before_script:\n    - ./login.sh "$DEPLOY_TOKEN"\na:\n  script: make\n${MR}b:\n  script: make\n${MR}`,
          errors: [{ line: 3, column: 19, job: 'a', severity: 'warning', message: /`\$DEPLOY_TOKEN` \(in `before_script`\)/ }],
        },
        {
          name: 'kubeconfig, keystore, deploy and push keys, *_KEY',
          code: `test:\n  script:\n    - ./deploy.sh "$PROD_KUBECONFIG" "$ANDROID_KEYSTORE" "$GIT_PUSH_KEY" "$SENTRY_KEY"\n${MR}`,
          errors: [
            { line: 3, column: 20, job: 'test', severity: 'warning', message: /`\$PROD_KUBECONFIG`/ },
            { line: 3, column: 39, job: 'test', severity: 'warning', message: /`\$ANDROID_KEYSTORE`/ },
            { line: 3, column: 59, job: 'test', severity: 'warning', message: /`\$GIT_PUSH_KEY`/ },
            { line: 3, column: 75, job: 'test', severity: 'warning', message: /`\$SENTRY_KEY`/ },
          ],
        },
        {
          name: 'reference in a global variable value',
          code: `variables:\n  AUTH_HEADER: "Bearer $API_TOKEN"\ntest:\n  script: curl -H "$AUTH_HEADER" https://api.example.com\n${MR}`,
          errors: [{ line: 2, column: 24, job: 'test', severity: 'warning', message: /`\$API_TOKEN` \(in variable `AUTH_HEADER`\)/ }],
        },
        {
          name: 'id_tokens from default: in an include',
          code: `include: ci/base.yml\ntest:\n  script: make\n${MR}`,
          options: { files: { 'ci/base.yml': 'default:\n  id_tokens:\n    TOKEN:\n      aud: x\n' } },
          errors: [{ line: 2, column: 3, file: 'ci/base.yml', job: 'test', severity: 'error' }],
        },
      ],
    });
  });

  it('reports review apps that run for MRs with the production cluster context or production credentials', async () => {
    const prod = 'deploy:\n  environment: production\n  variables:\n    KUBE_CONTEXT: acme/infra:prod-agent\n  script: helm upgrade --install app ./chart\n' + MAIN;
    await checkRule(rule, {
      valid: [
        // Its own agent context.
        prod + 'review:\n  environment: review/$CI_COMMIT_REF_SLUG\n  variables:\n    KUBE_CONTEXT: acme/infra:review-agent\n  script: helm upgrade --install r ./chart\n' + MR,
        // The production context, but the review job only runs on the default branch.
        prod + 'review:\n  environment: review/$CI_COMMIT_REF_SLUG\n  variables:\n    KUBE_CONTEXT: acme/infra:prod-agent\n  script: helm upgrade --install r ./chart\n' + MAIN,
      ],
      invalid: [
        {
          name: 'same KUBE_CONTEXT as production: at the review value',
          code: prod + 'review:\n  environment: review/$CI_COMMIT_REF_SLUG\n  variables:\n    KUBE_CONTEXT: acme/infra:prod-agent\n  script: helm upgrade --install r ./chart\n' + MR,
          errors: [{ line: 11, column: 19, job: 'review', severity: 'error', message: /Review job `review` \(environment `review\/\$CI_COMMIT_REF_SLUG`\) runs in `mr-fork` and `mr` pipelines with the production Kubernetes context `acme\/infra:prod-agent` \(of `deploy`\)/ }],
        },
        {
          name: '--kube-context in the script',
          code: prod + 'review:\n  environment: review/$CI_COMMIT_REF_SLUG\n  script: helm upgrade --install r ./chart --kube-context acme/infra:prod-agent\n' + MR,
          errors: [{ line: 10, column: 59, job: 'review', severity: 'error', message: /Kubernetes context `acme\/infra:prod-agent`/ }],
        },
        {
          name: 'production-named credentials',
          code: 'review:\n  environment: review/$CI_COMMIT_REF_SLUG\n  script: helm upgrade --install r ./chart --kubeconfig "$PROD_KUBECONFIG"\n' + MR,
          errors: [
            { line: 3, column: 58, job: 'review', severity: 'error', message: /with production credentials `\$PROD_KUBECONFIG`/ },
            { line: 3, column: 58, job: 'review', severity: 'warning', message: /uses the credential-like variable `\$PROD_KUBECONFIG`/ },
          ],
        },
      ],
    });
  });

  it('regression: a publish job gated by a YAML variable set to "false" may run where pipeline variables override it, and says so', async () => {
    const code =
      'variables:\n  ENABLE_RELEASES: "false"\npublish:\n  tags: [ci-general]\n  rules:\n    - if: $ENABLE_RELEASES == "true"\n  script:\n    - docker login -u ci -p $REGISTRY_PASSWORD registry.example.com\n';
    await checkRule(rule, {
      valid: [],
      invalid: [
        {
          code,
          errors: [
            {
              line: 8,
              column: 29,
              job: 'publish',
              severity: 'warning',
              message:
                /may run in untrusted contexts `branch`, `unprotected-tag` and `web-unprotected` \(depends on \$ENABLE_RELEASES; `\$ENABLE_RELEASES`: its YAML default `false` may be overridden by a pipeline variable\)/,
            },
          ],
        },
      ],
    });
    // Live data that restricts pipeline variables keeps the YAML value: then it never runs.
    const { buildPipeline } = await import('../../src/model/pipeline.js');
    const { MemorySource } = await import('../../src/model/source.js');
    const { evaluatePipeline } = await import('../../src/rules/engine.js');
    const { defaultTrustFactory } = await import('../../src/rules/trust-provider.js');
    const { builtinPolicy } = await import('../../src/policy/defaults.js');
    const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': code }), '.gitlab-ci.yml');
    const ev = evaluatePipeline(p, { policy: builtinPolicy(), rules: [rule], trust: defaultTrustFactory, variables: { userPipelineVariables: false } });
    expect(ev.findings).toEqual([]);
    expect(ev.trust.get('publish')!.byContext['web-unprotected'].assumptions).toEqual([
      '`$ENABLE_RELEASES` keeps its YAML value `false` unless a project or group CI/CD variable overrides it',
    ]);
  });
});
