import { describe, expect, it } from 'vitest';
import rule, { credentialPath } from '../../src/rules/pipeline/artifact-exposure.js';
import { checkRule } from './harness.js';

describe('artifact-exposure paths', () => {
  it('recognises credential files and leaves build outputs alone', () => {
    for (const p of ['.env', './.env', 'config/prod.env', 'certs/server.pem', '**/*.pem', 'kubeconfig.yaml', '.kube/config', '.npmrc', '.docker/config.json', '.docker/', 'terraform.tfstate', '.ssh/']) expect(credentialPath(p), p).toBeDefined();
    for (const p of ['dist/', 'build/app.js', 'coverage/', 'config.json', 'reports/junit.xml', 'public']) expect(credentialPath(p), p).toBeUndefined();
  });
});

describe('artifact-exposure', () => {
  it('flags credential paths, untracked and access: all in jobs that use secrets', async () => {
    await checkRule(rule, {
      valid: [
        // No secrets in the job.
        'build:\n  script: make\n  artifacts:\n    untracked: true\n    paths: [.env]\n',
        // Secrets, but only build outputs.
        'build:\n  script: ./build.sh --token "$NPM_TOKEN"\n  artifacts:\n    paths: [dist/]\n',
        // access: none.
        'build:\n  script: ./build.sh --token "$NPM_TOKEN"\n  artifacts:\n    access: none\n    paths: [.npmrc]\n',
      ],
      invalid: [
        {
          name: 'credential paths and untracked',
          code: 'deploy:\n  script:\n    - echo "$KUBECONFIG_SECRET" | base64 -d > kubeconfig\n    - ./deploy.sh\n  artifacts:\n    untracked: true\n    paths:\n      - kubeconfig\n      - dist/\n',
          errors: [
            { line: 6, column: 16, job: 'deploy', severity: 'warning', message: /^Job `deploy` uses `\$KUBECONFIG_SECRET` and uploads every untracked file \(`artifacts:untracked: true`\)/ },
            { line: 8, column: 9, job: 'deploy', message: /uploads `kubeconfig`, a file that commonly holds credentials, as an artifact for everyone who can see the pipeline/ },
          ],
        },
        {
          name: 'explicit access: all with secrets:',
          code: 'build:\n  script: make\n  secrets:\n    DB_PASSWORD:\n      vault: db/pw@ops\n  artifacts:\n    access: all\n    paths: [out/]\n',
          errors: [{ line: 7, column: 13, job: 'build', message: /uses `secrets:` and its artifacts are open to everyone who can see the pipeline \(`artifacts:access: all`\)/ }],
        },
        {
          name: 'public project option: default access',
          code: 'build:\n  script: ./build.sh "$API_TOKEN"\n  artifacts:\n    paths: [out/]\n',
          options: { policy: (p) => ({ ...p, rules: { 'artifact-exposure': { severity: 'warning', options: { publicProject: true } } } }) },
          errors: [{ line: 4, column: 5, job: 'build', message: /of this public project \(no `artifacts:access`\)/ }],
        },
      ],
    });
  });
});
