import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/untagged-job.js';
import { checkRule, runRules } from './harness.js';

describe('untagged-job', () => {
  it('flags jobs without effective tags; bridges are exempt', async () => {
    await checkRule(rule, {
      valid: [
        'build:\n  script: make\n  tags: [ci-general]\n',
        'default:\n  tags: [ci-general]\nbuild:\n  script: make\n',
        { code: 'include: ci/base.yml\nbuild:\n  script: make\n', options: { files: { 'ci/base.yml': 'default:\n  tags: [ci-general]\n' } } },
        'child:\n  trigger:\n    include: child.yml\n',
        '.hidden:\n  script: make\nbuild:\n  extends: .hidden\n  tags: [ci-general]\n',
      ],
      invalid: [
        { code: 'build:\n  script: make\n', errors: [{ line: 1, column: 1, job: 'build', severity: 'warning', message: /`build` has no runner tags/ }] },
        { name: 'empty list', code: 'build:\n  script: make\n  tags: []\n', errors: [{ line: 3, column: 9, job: 'build' }] },
        {
          name: 'tags removed from an inherited default',
          code: 'default:\n  tags: [ci-general]\nbuild:\n  script: make\n  inherit:\n    default: false\n',
          errors: [{ line: 3, column: 1, job: 'build' }],
        },
      ],
    });
  });

  it('offers to route a non-deploy job to the general tier', async () => {
    const r = await runRules([rule], 'stages: [build]\nbuild:\n    stage: build\n    script: make\n');
    expect(r.findings[0]?.fix).toMatchObject({ location: { line: 2, endLine: 2 }, replacement: 'build:\n    tags: [ci-general]' });
    const d = await runRules([rule], 'deploy:\n  script: ./deploy.sh\n  environment: production\n');
    expect(d.findings[0]?.fix).toBeUndefined();
  });

  it('says "may" when an unread `extends` parent may give the tags, naming the include', async () => {
    const r = await runRules([rule], 'include:\n  - remote: https://example.com/t.yml\n.base:\n  image: alpine\nbuild:\n  extends: [.base, .remote]\n  script: make\n');
    expect(r.findings.map((f) => [f.location.line, f.message])).toEqual([
      [5, 'Job `build` may have no runner tags (`tags` may be set by `.remote` (from an include that was not read: include:remote `https://example.com/t.yml`)): then it runs on any runner that takes untagged jobs, whatever trust tier that runner serves.'],
    ]);
  });
});
