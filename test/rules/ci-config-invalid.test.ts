import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/ci-config-invalid.js';
import { checkRule } from './harness.js';

describe('ci-config-invalid', () => {
  it('reports what GitLab would reject, at the line', async () => {
    await checkRule(rule, {
      valid: [
        'build:\n  script: make\n',
        { code: 'include: ci/a.yml\ntest:\n  extends: .base\n', options: { files: { 'ci/a.yml': '.base:\n  script: echo\n' } } },
      ],
      invalid: [
        { code: 'build:\n  script: [make\n', errors: [{ line: 3, column: 1, message: /YAML syntax error/ }] },
        { code: 'build:\n  stage: nope\n  script: make\n', errors: [{ line: 2, column: 10, job: 'build', message: /chosen stage nope does not exist/ }] },
        { code: 'include: missing.yml\nbuild:\n  script: make\n', errors: [{ line: 1, column: 10, message: /Local file `missing.yml` does not exist!/ }] },
        { code: 'build:\n  extends: .nope\n  script: make\n', errors: [{ line: 2, column: 3, job: 'build', message: /unknown keys in `extends` \(\.nope\)/ }] },
        { code: 'build:\n  script: make\n  tagz: [a]\n', errors: [{ line: 3, column: 3, job: 'build', message: /contains unknown keys: tagz/ }] },
        {
          code: 'include: a.yml\nbuild:\n  script: make\n',
          options: { files: { 'a.yml': 'include: b.yml\n', 'b.yml': 'include: a.yml\n' } },
          errors: [{ line: 1, column: 10, file: 'b.yml', message: /Maximum of 150 nested includes are allowed!.*include loop: a\.yml → b\.yml → a\.yml/ }],
        },
      ],
    });
  });
});
