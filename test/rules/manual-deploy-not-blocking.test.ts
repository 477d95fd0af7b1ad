import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/manual-deploy-not-blocking.js';
import { checkRule, runRules } from './harness.js';

const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';
const STAGES = 'stages: [build, deploy, verify]\n';
const SMOKE = `smoke:\n  stage: verify\n  script: ./smoke.sh\n${MAIN}`;

describe('manual-deploy-not-blocking', () => {
  it('flags a job-level manual production deploy that later jobs do not wait for', async () => {
    await checkRule(rule, {
      valid: [
        // allow_failure: false makes it blocking.
        `${STAGES}deploy:\n  stage: deploy\n  environment: production\n  when: manual\n  allow_failure: false\n  script: ./deploy.sh\n${MAIN}${SMOKE}`,
        // `when: manual` inside a rule keeps allow_failure false.
        `${STAGES}deploy:\n  stage: deploy\n  environment: production\n  script: ./deploy.sh\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n      when: manual\n${SMOKE}`,
        // Nothing runs after it.
        `${STAGES}deploy:\n  stage: verify\n  environment: production\n  when: manual\n  script: ./deploy.sh\n${MAIN}`,
        // Staging is not production.
        `${STAGES}deploy:\n  stage: deploy\n  environment: staging\n  when: manual\n  script: ./deploy.sh\n${MAIN}${SMOKE}`,
        // Later job is itself manual.
        `${STAGES}deploy:\n  stage: deploy\n  environment: production\n  when: manual\n  script: ./deploy.sh\n${MAIN}notify:\n  stage: verify\n  when: manual\n  script: ./notify.sh\n`,
      ],
      invalid: [
        {
          name: 'later stage runs',
          code: `${STAGES}deploy:\n  stage: deploy\n  environment: production\n  when: manual\n  script: ./deploy.sh\n${MAIN}${SMOKE}`,
          errors: [{ line: 5, column: 9, job: 'deploy', severity: 'warning', message: /^Production deploy job `deploy` is `when: manual` with GitLab's default `allow_failure: true`: `smoke` runs and the pipeline succeeds without the deploy having happened; set `allow_failure: false`\.$/ }],
        },
        {
          name: 'explicit allow_failure: true and a job that needs it',
          code: `deploy:\n  stage: deploy\n  environment:\n    name: prod\n  when: manual\n  allow_failure: true\n  script: ./deploy.sh\n${MAIN}release:\n  stage: deploy\n  needs: [deploy]\n  script: ./release.sh\n${MAIN}`,
          errors: [{ line: 5, column: 9, job: 'deploy', message: /\(`allow_failure: true`\): `release` runs/ }],
        },
      ],
    });
  });

  it('suggests allow_failure: false under the job key', async () => {
    const r = await runRules([rule], `${STAGES}deploy:\n  stage: deploy\n  environment: production\n  when: manual\n  script: ./deploy.sh\n${MAIN}${SMOKE}`);
    expect(r.findings[0]?.fix?.replacement).toBe('deploy:\n  allow_failure: false');
  });
});
