import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/deploy-not-manual.js';
import { checkRule, runRules } from './harness.js';

describe('deploy-not-manual', () => {
  it('flags production deploys that start without `when: manual`', async () => {
    await checkRule(rule, {
      valid: [
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  when: manual\n',
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n      when: manual\n    - when: never\n',
        // Job-level when applies to rules without their own when.
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  when: manual\n  rules:\n    - if: $CI_COMMIT_TAG\n',
        // An automatic MR rule never makes it run in a trusted context (deploy-unprotected-ref judges that).
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n      when: manual\n',
        // Staging may deploy automatically.
        'deploy:\n  script: ./deploy.sh\n  environment: staging\n',
        // Never runs.
        'deploy:\n  script: ./deploy.sh\n  environment: production\n  when: never\n',
      ],
      invalid: [
        { code: 'deploy:\n  script: ./deploy.sh\n  environment: production\n', errors: [{ line: 1, column: 1, job: 'deploy', severity: 'warning', message: /starts automatically in `default-branch`/ }] },
        { name: 'explicit when', code: 'deploy:\n  script: ./deploy.sh\n  environment: production\n  when: on_success\n', errors: [{ line: 4, column: 9, job: 'deploy', message: /\(`when: on_success`\)/ }] },
        {
          name: 'one automatic rule: at that rule',
          code: 'deploy:\n  script: ./deploy.sh\n  environment: prod\n  rules:\n    - if: $CI_COMMIT_TAG =~ /^v/\n      when: manual\n    - if: $CI_PIPELINE_SOURCE == "schedule"\n',
          errors: [{ line: 7, column: 11, job: 'deploy', message: /starts automatically in `schedule`/ }],
        },
      ],
    });
  });

  it('fixes jobs without rules', async () => {
    const r = await runRules([rule], 'deploy:\n  script: ./deploy.sh\n  environment: production\n');
    expect(r.findings[0]?.fix).toMatchObject({ location: { line: 1, endLine: 1 }, replacement: 'deploy:\n  when: manual' });
    const w = await runRules([rule], 'deploy:\n  script: ./deploy.sh\n  environment: production\n  when: delayed\n  start_in: 5m\n');
    expect(w.findings[0]?.fix).toMatchObject({ location: { line: 4 }, replacement: '  when: manual' });
  });
});
