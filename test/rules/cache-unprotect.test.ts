import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/cache-unprotect.js';
import { checkRule, runRules } from './harness.js';

describe('cache-unprotect', () => {
  it('flags unprotect: true in mixed-trust and deploy jobs', async () => {
    await checkRule(rule, {
      valid: [
        // Untrusted only: its cache is the unprotected one anyway.
        'test:\n  script: make test\n  cache: {key: deps, paths: [node_modules], unprotect: true}\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
        // Trusted only.
        'nightly:\n  script: make\n  cache:\n    key: deps\n    unprotect: true\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "schedule"\n',
        // Default (protected caches kept apart).
        'build:\n  script: make\n  cache:\n    key: deps\n    paths: [vendor]\n',
        'build:\n  script: make\n  cache:\n    key: deps\n    unprotect: false\n',
      ],
      invalid: [
        {
          name: 'no rules: branches (untrusted) and the default branch (trusted)',
          code: 'build:\n  script: make\n  cache:\n    key: deps\n    unprotect: true\n',
          errors: [{ line: 5, column: 16, job: 'build', messageId: 'mixedContexts', message: /runs in trusted contexts `default-branch`.* and can run in untrusted contexts? .*`branch`/ }],
        },
        {
          name: 'a cache list item in a deploy job',
          code:
            'deploy:\n  script: ./deploy.sh\n  environment: production\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n  cache:\n    - key: a\n      paths: [a]\n    - key: b\n      unprotect: true\n',
          errors: [{ line: 10, column: 18, job: 'deploy', messageId: 'deployJob', message: /^Deploy job `deploy` \(environment `production`\) sets `cache:unprotect: true` \(key `b`\)/ }],
        },
        {
          name: 'from default: in an include',
          code: 'include: ci/base.yml\nbuild:\n  script: make\n',
          options: { files: { 'ci/base.yml': 'default:\n  cache: {key: x, unprotect: true}\n' } },
          errors: [{ line: 2, column: 30, file: 'ci/base.yml', job: 'build' }],
        },
      ],
    });
  });

  it('offers a one-line fix', async () => {
    const r = await runRules([rule], 'build:\n  script: make\n  cache: {key: deps, unprotect: true}\n');
    const f = r.findings.find((x) => x.ruleId === 'cache-unprotect');
    expect(f?.fix).toMatchObject({ location: { line: 3, endLine: 3 }, replacement: '  cache: {key: deps, unprotect: false}' });
  });
});
