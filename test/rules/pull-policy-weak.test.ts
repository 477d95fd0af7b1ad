import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/pull-policy-weak.js';
import { checkRule, runRules } from './harness.js';

const DEPLOY = 'deploy:\n  script: ./deploy.sh\n  environment: production\n';

describe('pull-policy-weak', () => {
  it('flags never / if-not-present image pull policies in deploy jobs', async () => {
    await checkRule(rule, {
      valid: [
        `${DEPLOY}  image:\n    name: registry.example.com/deployer@sha256:0123\n    pull_policy: always\n`,
        `${DEPLOY}  image: registry.example.com/deployer:1.2\n`,
        'test:\n  script: make\n  image: {name: alpine, pull_policy: if-not-present}\n',
      ],
      invalid: [
        { code: `${DEPLOY}  image:\n    name: deployer:1.2\n    pull_policy: if-not-present\n`, errors: [{ line: 6, column: 18, job: 'deploy', severity: 'warning', message: /allows `pull_policy: if-not-present`/ }] },
        { name: 'list form', code: `${DEPLOY}  image:\n    name: deployer:1.2\n    pull_policy: [always, never]\n`, errors: [{ line: 6, column: 27, job: 'deploy', message: /`pull_policy: never`/ }] },
        {
          name: 'from default: in an include',
          code: `include: ci/base.yml\n${DEPLOY}`,
          options: { files: { 'ci/base.yml': 'default:\n  image:\n    name: deployer:1.2\n    pull_policy: never\n' } },
          errors: [{ line: 4, column: 18, file: 'ci/base.yml', job: 'deploy' }],
        },
      ],
    });
  });

  it('fixes the scalar form', async () => {
    const r = await runRules([rule], `${DEPLOY}  image: {name: d, pull_policy: never}\n`);
    expect(r.findings[0]?.fix).toMatchObject({ location: { line: 4 }, replacement: '  image: {name: d, pull_policy: always}' });
  });
});
