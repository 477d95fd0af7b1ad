import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/trigger-forwards-variables.js';
import { checkRule, runRules } from './harness.js';

describe('trigger-forwards-variables', () => {
  it('flags forward:pipeline_variables: true from jobs reachable from untrusted contexts', async () => {
    await checkRule(rule, {
      valid: [
        'child:\n  trigger:\n    include: child.yml\n    forward:\n      pipeline_variables: false\n',
        'child:\n  trigger:\n    include: child.yml\n',
        'child:\n  trigger:\n    project: grp/deploy\n    forward:\n      pipeline_variables: true\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
      ],
      invalid: [
        {
          code: 'child:\n  trigger:\n    include: child.yml\n    forward:\n      pipeline_variables: true\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
          errors: [{ line: 5, column: 27, job: 'child', severity: 'warning', message: /forwards pipeline variables downstream and can run in untrusted contexts `mr-fork` and `mr`/ }],
        },
        {
          name: 'from a template in an include',
          code: 'include: ci/t.yml\nchild:\n  extends: .fwd\n  trigger: {project: grp/x}\n',
          options: { files: { 'ci/t.yml': '.fwd:\n  trigger:\n    forward: {pipeline_variables: true}\n' } },
          errors: [{ line: 3, column: 35, file: 'ci/t.yml', job: 'child' }],
        },
      ],
    });
  });

  it('offers to stop forwarding', async () => {
    const r = await runRules([rule], 'child:\n  trigger:\n    include: child.yml\n    forward:\n      pipeline_variables: true\n');
    expect(r.findings[0]?.fix).toMatchObject({ location: { line: 5 }, replacement: '      pipeline_variables: false' });
  });
});
