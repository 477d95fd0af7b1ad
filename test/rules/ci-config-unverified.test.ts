import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/ci-config-unverified.js';
import { pipelineRules } from '../../src/rules/index.js';
import { checkRule, runRules } from './harness.js';

const strict = { strict: true };

describe('ci-config-unverified', () => {
  it('flags each include that could not be read, on the include entry (strict: the service, lint --strict)', async () => {
    await checkRule(rule, {
      valid: [
        { name: 'everything read', code: 'include:\n  - local: ci/a.yml\nbuild:\n  script: make\n', options: { ...strict, files: { 'ci/a.yml': 'lint:\n  script: [x]\n' } } },
        { name: 'include:rules that never match', code: 'include:\n  - remote: https://x.example.com/a.yml\n    rules:\n      - when: never\nbuild:\n  script: make\n', options: strict },
        { name: 'offline (not strict): unread includes stay notes', code: 'include:\n  - remote: https://x.example.com/a.yml\nbuild:\n  script: make\n' },
      ],
      invalid: [
        {
          name: 'remote include not read',
          code: 'include:\n  - remote: https://templates.example.net/ci.yml\n    integrity: sha256-abc\nbuild:\n  script: make\n',
          options: strict,
          errors: [{ line: 2, column: 5, message: /^`include:remote` `https:\/\/templates\.example\.net\/ci\.yml` could not be read \(not available\): tierguard cannot vouch for what it defines\.$/ }],
        },
        {
          name: 'project and template includes, and the jobs that extend templates that may live there',
          code: 'include:\n  - project: group/ci\n    ref: v1\n    file: build.yml\n  - template: Jobs/Build.gitlab-ci.yml\nbuild:\n  extends: .from-ci\n  script: make\n',
          options: strict,
          errors: [
            { line: 2, column: 5, message: /^`include:project` `build\.yml` could not be read \(not available\): .*; `build` use templates that may live there\.$/ },
            { line: 5, column: 5, message: /^`include:template` `Jobs\/Build\.gitlab-ci\.yml` could not be read/ },
          ],
        },
        {
          name: 'an artifact-generated child pipeline',
          code: 'gen:\n  tags: [ci-general]\n  script: [./gen.sh]\n  artifacts:\n    paths: [child.yml]\nchild:\n  trigger:\n    include:\n      - artifact: child.yml\n        job: gen\n',
          options: strict,
          errors: [{ line: 9, column: 9, message: /generated at run time by job artifacts/ }],
        },
      ],
    });
  });

  it('offline the unread include is a note, with --strict it is the finding and not also a note', async () => {
    const code = 'include:\n  - remote: https://x.example.com/a.yml\nbuild:\n  script: make\n';
    const loose = await runRules(pipelineRules, code);
    expect(loose.findings.filter((f) => f.ruleId === 'ci-config-unverified')).toEqual([]);
    expect(loose.notes.join('\n')).toContain('x.example.com/a.yml');
    const tight = await runRules(pipelineRules, code, { strict: true });
    expect(tight.findings.filter((f) => f.ruleId === 'ci-config-unverified').map((f) => [f.severity, f.blocking])).toEqual([['error', true]]);
    expect(tight.notes.join('\n')).not.toContain('x.example.com/a.yml');
  });

  it('the policy can lower it to a warning', async () => {
    const r = await runRules(pipelineRules, 'include:\n  - remote: https://x.example.com/a.yml\nb:\n  script: make\n', {
      strict: true,
      policy: (p) => ({ ...p, rules: { ...p.rules, 'ci-config-unverified': { severity: 'warning', options: {} } } }),
    });
    expect(r.findings.filter((f) => f.ruleId === 'ci-config-unverified').map((f) => f.severity)).toEqual(['warning']);
  });
});
