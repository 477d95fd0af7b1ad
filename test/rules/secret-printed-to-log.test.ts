import { describe, expect, it } from 'vitest';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { credentialNames } from '../../src/rules/pipeline/_script-facts.js';
import rule, { findPrints } from '../../src/rules/pipeline/secret-printed-to-log.js';
import { checkRule } from './harness.js';

const names = credentialNames(builtinPolicy());
const kinds = (t: string, artifactPaths: string[] = []) => findPrints(t, names, { artifactPaths }).map((h) => `${h.kind}:${h.what}@${h.index}`);

const MR = '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n';
const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';

describe('secret-printed-to-log detection', () => {
  it('finds secrets that reach the log', () => {
    expect(kinds('echo "token is $API_TOKEN"')).toEqual(['print:$API_TOKEN@15']);
    expect(kinds('printf "%s\\n" ${NPM_TOKEN}')).toEqual(['print:$NPM_TOKEN@14']);
    expect(kinds('echo $DB_PASSWORD | base64')).toEqual(['print:$DB_PASSWORD@5']);
    expect(kinds('env')).toEqual(['dump:every variable@0']);
    expect(kinds('printenv | sort')).toEqual(['dump:every variable@0']);
    expect(kinds('cat $KUBECONFIG')).toEqual(['read-file:$KUBECONFIG@4']);
    expect(kinds('printenv DEPLOY_TOKEN')).toEqual(['print:$DEPLOY_TOKEN@9']);
    expect(kinds('set -x; ./deploy.sh --token "$DEPLOY_TOKEN"')).toEqual(['xtrace:$DEPLOY_TOKEN@0']);
  });
  it('leaves consumed, filtered and non-secret output alone', () => {
    for (const t of [
      'echo "$CI_REGISTRY_PASSWORD" | docker login -u "$CI_REGISTRY_USER" --password-stdin "$CI_REGISTRY"',
      'echo "$SSH_PRIVATE_KEY" | tr -d "\\r" | ssh-add -',
      'echo "$GCP_KEY" > /tmp/key.json',
      'env | grep ^CI_',
      'env FOO=bar ./run.sh',
      'echo $KUBECONFIG',
      'echo "$GIT_AUTHOR_NAME"',
      'echo $API_TOKEN_URL',
      'set -x; set +x; ./deploy.sh "$DEPLOY_TOKEN"',
      'echo "deploying"',
    ]) {
      expect(kinds(t), t).toEqual([]);
    }
  });
  it('finds secrets written into artifact files', () => {
    expect(kinds('echo "TOKEN=$API_TOKEN" >> deploy.env', ['deploy.env'])).toEqual(['artifact:$API_TOKEN@12']);
    expect(kinds('env > out/vars.txt', ['out/'])).toEqual(['artifact:every variable@0']);
    expect(kinds('echo "TOKEN=$API_TOKEN" >> deploy.env', ['dist/'])).toEqual([]);
  });
});

describe('secret-printed-to-log', () => {
  it('reports at the exact token; error in untrusted contexts, warning elsewhere', async () => {
    await checkRule(rule, {
      valid: [
        `deploy:\n  script:\n    - echo "$REGISTRY_PASSWORD" | docker login -u bot --password-stdin registry.example.com\n${MAIN}`,
        // Defined with a literal in the YAML: not a CI/CD secret.
        `test:\n  variables:\n    AUTH_TOKEN: none\n  script: echo "$AUTH_TOKEN"\n`,
        // set -x in after_script does not trace the main script.
        `test:\n  script: ./deploy.sh "$DEPLOY_TOKEN"\n  after_script:\n    - set -x\n    - echo done\n`,
      ],
      invalid: [
        {
          name: 'echo in a default-branch job: warning',
          code: `deploy:\n  script:\n    - echo "using $DEPLOY_TOKEN"\n${MAIN}`,
          errors: [{ line: 3, column: 19, job: 'deploy', severity: 'warning', message: /^`script` of job `deploy` prints the credential-like variable `\$DEPLOY_TOKEN` to the job log \(`echo`\)/ }],
        },
        {
          name: 'env dump in an MR job: error',
          code: `test:\n  script:\n    - env\n    - make test\n${MR}`,
          errors: [{ line: 3, column: 7, job: 'test', severity: 'error', message: /prints every variable to the job log .*can run in `mr-fork` and `mr`/ }],
        },
        {
          name: 'set -x across lines and a block scalar: reported at set -x',
          code: `deploy:\n  before_script:\n    - set -eux\n  script:\n    - |\n      helm upgrade app ./chart \\\n        --set token=$HELM_TOKEN\n${MAIN}`,
          errors: [{ line: 3, column: 7, job: 'deploy', severity: 'warning', message: /turns on shell tracing \(`set -x`\) before a command that uses `\$HELM_TOKEN`/ }],
        },
        {
          name: 'written into a dotenv report',
          code: `build:\n  script:\n    - echo "API_TOKEN=$API_TOKEN" >> build.env\n  artifacts:\n    reports:\n      dotenv: build.env\n${MAIN}`,
          errors: [{ line: 3, column: 23, job: 'build', message: /writes `\$API_TOKEN` into `build\.env`, which the job uploads as a dotenv report/ }],
        },
        {
          name: 'a default: line shared by a trusted and an untrusted job: once, error',
          code: `default:\n  before_script:\n    - cat $KUBECONFIG\na:\n  script: make\n${MAIN}b:\n  script: make\n${MR}`,
          errors: [{ line: 3, column: 11, job: 'b', severity: 'error', message: /prints the contents of the credential file `\$KUBECONFIG`/ }],
        },
        {
          name: 'public logs option: error everywhere',
          code: `deploy:\n  script: printenv\n${MAIN}`,
          options: { policy: (p) => ({ ...p, rules: { 'secret-printed-to-log': { severity: 'error', options: { publicLogs: true } } } }) },
          errors: [{ line: 2, column: 11, severity: 'error', message: /job logs are public/ }],
        },
      ],
    });
  });
});
