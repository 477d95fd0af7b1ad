import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/remote-include-without-integrity.js';
import { checkRule } from './harness.js';

describe('remote-include-without-integrity', () => {
  it('flags remote includes without integrity, both forms', async () => {
    await checkRule(rule, {
      valid: [
        'include:\n  - remote: https://ci.example.com/templates/build.yml\n    integrity: sha256-L3/GAoKaw0Arw6hDCKeKQlV1QPEgHYxGBHsH4zG1IY8=\nbuild:\n  script: make\n',
        'include:\n  - local: ci/build.yml\n  - project: group/ci\n    ref: v1.0.0\n    file: build.yml\nbuild:\n  script: make\n',
      ],
      invalid: [
        {
          name: 'pinned to a commit sha on a GitLab instance: a warning (no riskier than an unpinned include:project)',
          code: 'include:\n  - remote: https://gitlab.example.com/acme/ci/-/raw/3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a/build.yml\nbuild:\n  script: make\n',
          errors: [{ line: 2, column: 13, severity: 'warning', message: /is pinned to commit 3f9a1c7e5b2d but has no `integrity:`/ }],
        },
        {
          name: 'a branch in the same kind of URL: an error',
          code: 'include:\n  - remote: https://gitlab.example.com/acme/ci/-/raw/main/build.yml\nbuild:\n  script: make\n',
          errors: [{ line: 2, column: 13, severity: 'error' }],
        },
        {
          name: 'map form',
          code: 'include:\n  - remote: https://ci.example.com/templates/build.yml\nbuild:\n  script: make\n',
          errors: [{ line: 2, column: 13, message: /^`include:remote` https:\/\/ci\.example\.com\/templates\/build\.yml has no `integrity:`: whoever controls ci\.example\.com/ }],
        },
        {
          name: 'string URL form, credentials never echoed, nested include',
          code: 'include: ci/main.yml\nbuild:\n  script: make\n',
          options: { files: { 'ci/main.yml': 'include: "https://bot:hunter2secret@raw.example.com/ci/deploy.yml"\n' } },
          errors: [{ file: 'ci/main.yml', line: 1, column: 10, message: /^`include:remote` https:\/\/raw\.example\.com\/ci\/deploy\.yml has no/ }],
        },
      ],
    });
  });
});
