import { describe, expect, it } from 'vitest';
import rule, { isPinnedComponentVersion, isPinnedRef } from '../../src/rules/pipeline/unpinned-include.js';
import { checkRule } from './harness.js';

describe('unpinned-include', () => {
  it('tells pinned refs from branches', () => {
    for (const r of ['v1.2.3', '1.2', 'v2', '3.0.0-rc.1', 'a1b2c3d', 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', 'refs/tags/release']) expect(isPinnedRef(r), r).toBe(true);
    for (const r of ['main', 'master', 'develop', 'HEAD', 'feature/x', '$CI_COMMIT_REF_NAME', 'release-next']) expect(isPinnedRef(r), r).toBe(false);
    for (const v of ['1.2.3', '1.2', '1', 'v1.0.0', '2.0.0-beta.1', 'e3f1a2b']) expect(isPinnedComponentVersion(v), v).toBe(true);
    for (const v of ['~latest', 'main', 'develop']) expect(isPinnedComponentVersion(v), v).toBe(false);
  });

  it('flags project includes without a pinned ref and floating components', async () => {
    await checkRule(rule, {
      valid: [
        'include:\n  - project: group/ci\n    ref: v1.4.0\n    file: build.yml\n  - component: gitlab.example.com/group/components/sast@1.2.0\nbuild:\n  script: make\n',
        'include:\n  - project: group/ci\n    ref: 9f1c2a7d5e\n    file: [a.yml, b.yml]\n  - local: ci/x.yml\nbuild:\n  script: make\n',
      ],
      invalid: [
        {
          name: 'no ref, branch ref, variable ref',
          code: 'include:\n  - project: group/ci\n    file: build.yml\n  - project: group/other\n    ref: main\n    file: x.yml\n  - project: group/third\n    ref: $REF\n    file: y.yml\nbuild:\n  script: make\n',
          errors: [
            { line: 2, column: 14, severity: 'warning', message: /^`include:project` group\/ci has no `ref`: it follows that project's default branch/ },
            { line: 5, column: 10, message: /group\/other uses the branch-like ref `main`/ },
            { line: 8, column: 10, message: /group\/third uses a variable ref \(`\$REF`\)/ },
          ],
        },
        {
          name: 'components at ~latest and at a branch',
          code: 'include:\n  - component: $CI_SERVER_FQDN/group/components/lint@~latest\n  - component: gitlab.example.com/group/components/test@main\nbuild:\n  script: make\n',
          errors: [
            { line: 2, column: 53, message: /lint is at `~latest`/ },
            { line: 3, column: 56, message: /test is at the branch-like version `main`/ },
          ],
        },
      ],
    });
  });
});
