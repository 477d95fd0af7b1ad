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

  it('rejects a script item YAML reads as a mapping, a number or null, at the item, once (entry/commands.rb)', async () => {
    const msg = (k: string) => new RegExp(`^GitLab would reject this configuration: ${k} config should be a string or a nested array of strings up to 10 levels deep\\.$`);
    await checkRule(rule, {
      valid: [
        "build:\n  script:\n    - 'curl -H \"A: b\" https://x'\n    - [echo, nested]\n  after_script: echo done\n",
        { code: '.base:\n  script: [make]\nbuild:\n  extends: .base\n  script:\n    - !reference [.base, script]\n    - echo ok\n' },
      ],
      invalid: [
        {
          code: 'build:\n  script:\n    - echo ok\n    - echo "a: b" | sh\n    - 42\n    -\n',
          errors: [
            { line: 4, column: 7, job: 'build', message: msg('jobs:build:script') },
            { line: 5, column: 7, job: 'build', message: msg('jobs:build:script') },
            { line: 6, column: 6, job: 'build', message: msg('jobs:build:script') },
          ],
        },
        {
          name: 'inherited from default: reported once, at the item',
          code: 'default:\n  before_script:\n    - export A: b\na:\n  script: make\nb:\n  script: make\n',
          errors: [{ line: 3, column: 7, message: msg('default:before_script') }],
        },
        {
          name: 'a hidden job shared by two jobs: once',
          code: '.t:\n  after_script:\n    - rm -rf x: y\na:\n  extends: .t\n  script: make\nb:\n  extends: .t\n  script: make\n',
          errors: [{ line: 3, column: 7, job: 'a', message: msg('jobs:a:after_script') }],
        },
      ],
    });
  });
});
