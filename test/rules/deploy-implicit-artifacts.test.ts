import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/deploy-implicit-artifacts.js';
import { checkRule } from './harness.js';

describe('deploy-implicit-artifacts', () => {
  it('flags deploy jobs without needs: or dependencies:', async () => {
    await checkRule(rule, {
      valid: [
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  needs: [build]\nbuild:\n  script: make\n',
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  dependencies: []\n',
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  needs: []\n',
        // Not a deploy job.
        'test:\n  script: make test\n',
        // needs from a template.
        '.d:\n  needs: [build]\ndeploy:\n  extends: .d\n  script: ./deploy.sh\n  environment: production\nbuild:\n  script: make\n',
      ],
      invalid: [
        { code: 'build:\n  script: make\ndeploy:\n  script: ./deploy.sh\n  environment: staging\n', errors: [{ line: 3, column: 1, job: 'deploy', severity: 'warning', message: /neither `needs:` nor `dependencies:`/ }] },
        { name: 'deploy by tags', code: 'ship:\n  script: ./ship.sh\n  tags: [ci-deploy-prod]\n', errors: [{ line: 1, column: 1, job: 'ship' }] },
      ],
    });
  });
});
