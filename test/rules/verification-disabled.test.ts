import { describe, expect, it } from 'vitest';
import rule, { findVerificationDisabled } from '../../src/rules/pipeline/verification-disabled.js';
import { checkRule } from './harness.js';

const hits = (t: string) => findVerificationDisabled(t).map((h) => `${t.slice(h.index, h.index + h.length)}@${h.index}`);

describe('verification-disabled detection', () => {
  it('finds the switches at their words', () => {
    expect(hits('curl -fsSLk https://x.example.com/a')).toEqual(['-fsSLk@5']);
    expect(hits('curl --insecure -o a https://x')).toEqual(['--insecure@5']);
    expect(hits('wget --no-check-certificate https://x')).toEqual(['--no-check-certificate@5']);
    expect(hits('git -c http.sslVerify=false clone https://x')).toEqual(['-c http.sslVerify=false@4']);
    expect(hits('git config --global http.sslverify false')).toEqual(['config@4']);
    expect(hits('GIT_SSL_NO_VERIFY=1 git clone https://x')).toEqual(['GIT_SSL_NO_VERIFY=1@0']);
    expect(hits('export NODE_TLS_REJECT_UNAUTHORIZED=0')).toEqual(['NODE_TLS_REJECT_UNAUTHORIZED=0@7']);
    expect(hits('ssh -o StrictHostKeyChecking=no deploy@host ./run')).toEqual(['-o StrictHostKeyChecking=no@4']);
    expect(hits('rsync -e "ssh -o UserKnownHostsFile=/dev/null" a b:')).toEqual(['"ssh -o UserKnownHostsFile=/dev/null"@9']);
    expect(hits('apt-get install -y --allow-unauthenticated foo')).toEqual(['--allow-unauthenticated@19']);
    expect(hits('pip install --trusted-host pypi.example.com -r req.txt')).toEqual(['--trusted-host@12']);
    expect(hits('npm config set strict-ssl false')).toEqual(['strict-ssl false@15']);
    expect(hits('helm upgrade app ./c --kube-insecure-skip-tls-verify')).toEqual([]);
    expect(hits('helm repo add x https://x --insecure-skip-tls-verify')).toEqual(['--insecure-skip-tls-verify@26']);
    expect(hits('echo "deb [trusted=yes] http://repo.example.com/ stable main" > /etc/apt/sources.list.d/x.list')).toHaveLength(1);
  });
  it('leaves verification that stays on alone', () => {
    for (const t of ['curl -fsSL https://x', 'curl -K config.txt', 'git config --global http.sslVerify true', 'ssh -o StrictHostKeyChecking=yes host', 'echo insecure', 'GIT_SSL_NO_VERIFY=false git pull', 'docker login --password-stdin r.example.com']) {
      expect(hits(t), t).toEqual([]);
    }
  });
});

describe('verification-disabled', () => {
  it('is an error in deploy-like jobs and a warning elsewhere', async () => {
    await checkRule(rule, {
      valid: ['test:\n  script: curl -fsSL https://x.example.com\n', 'variables:\n  GIT_SSL_NO_VERIFY: "false"\ntest:\n  script: make\n'],
      invalid: [
        {
          name: 'deploy job: error; test job: warning',
          code: 'deploy:\n  environment: production\n  script:\n    - helm repo add charts https://charts.example.com --insecure-skip-tls-verify\n    - helm upgrade app charts/app\ntest:\n  script:\n    - curl -k https://staging.example.com/health\n',
          errors: [
            { line: 4, column: 55, job: 'deploy', severity: 'error', message: /^`script` of deploy-like job `deploy` switches off TLS certificate verification \(`helm --insecure-skip-tls-verify`\)/ },
            { line: 8, column: 12, job: 'test', severity: 'warning', message: /^`script` of job `test` switches off TLS certificate verification \(`curl -k`\)/ },
          ],
        },
        {
          name: 'a global variable inherited by a deploy-like job (kubectl apply)',
          code: 'variables:\n  NODE_TLS_REJECT_UNAUTHORIZED: "0"\nrollout:\n  script: kubectl apply -f k8s/\n',
          errors: [{ line: 2, column: 33, severity: 'error', message: /^Global variable NODE_TLS_REJECT_UNAUTHORIZED switches off TLS certificate verification .* for deploy-like job `rollout`/ }],
        },
        {
          name: 'shared before_script: once, error because one receiver deploys',
          code: '.login: &login\n  before_script:\n    - ssh-keyscan -H host >> ~/.ssh/known_hosts || true\n    - oc login "$SERVER" --token="$TOKEN" --insecure-skip-tls-verify\nreview:\n  <<: *login\n  environment: review/$CI_COMMIT_REF_SLUG\n  script: oc start-build app\nprod:\n  <<: *login\n  environment: production\n  script: oc start-build app\n',
          errors: [{ line: 4, column: 43, job: 'prod', severity: 'error', message: /deploy-like job `prod`/ }],
        },
      ],
    });
  });
});
