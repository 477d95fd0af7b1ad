import { describe, expect, it } from 'vitest';
import rule, { isSecurityJob } from '../../src/rules/pipeline/scanner-tampering.js';
import { checkRule } from './harness.js';

const SAST = { 'ci/sast.yml': 'semgrep-sast:\n  image: registry.gitlab.com/security-products/semgrep:5\n  script: /analyzer run\n  rules:\n    - if: $SAST_DISABLED == "true"\n      when: never\n    - if: $CI_COMMIT_BRANCH\n' };

describe('scanner-tampering', () => {
  it('knows the security template job names', () => {
    for (const n of ['sast', 'semgrep-sast', 'kics-iac-sast', 'secret_detection', 'gemnasium-dependency_scanning', 'dependency_scanning', 'container_scanning', 'dast']) expect(isSecurityJob(n), n).toBe(true);
    for (const n of ['test', 'build-sast-report-viewer', 'lint']) expect(isSecurityJob(n), n).toBe(false);
  });

  it('flags foreign analyzer registries, disabled scans and never-run overrides', async () => {
    await checkRule(rule, {
      valid: [
        'variables:\n  SECURE_ANALYZERS_PREFIX: "$CI_TEMPLATE_REGISTRY_HOST/security-products"\n  SAST_DISABLED: "false"\ntest:\n  script: make\n',
        // Job-level *_DISABLED is not the root configuration.
        'test:\n  variables:\n    SAST_DISABLED: "true"\n  script: make\n',
        // Conditional never (the template's own rules) and a job disabled where it is defined.
        { code: 'include: ci/sast.yml\n', options: { files: SAST } },
        'bandit-sast:\n  script: exit 1\n  rules:\n    - when: never\n',
        // An allowed mirror.
        { code: 'variables:\n  SECURE_ANALYZERS_PREFIX: mirror.example.com/gitlab-security\ntest:\n  script: make\n', options: { policy: (p) => ({ ...p, rules: { 'scanner-tampering': { severity: 'warning', options: { allowedPrefixes: ['mirror.example.com/gitlab-security'] } } } }) } },
      ],
      invalid: [
        {
          name: 'prefix and disabled flags in the root variables',
          code: 'variables:\n  SECURE_ANALYZERS_PREFIX: docker.io/someone\n  SECRET_DETECTION_DISABLED: "true"\n  DEPENDENCY_SCANNING_DISABLED: 1\ntest:\n  script: make\n',
          errors: [
            { line: 2, column: 28, severity: 'warning', message: /^Global variable SECURE_ANALYZERS_PREFIX points the security analyzers at `docker\.io\/someone`, not GitLab's registry/ },
            { line: 3, column: 30, message: /^Global variable SECRET_DETECTION_DISABLED is "true": secret detection is switched off/ },
            { line: 4, column: 33, message: /dependency scanning is switched off/ },
          ],
        },
        {
          name: 'credentials in the prefix are not quoted',
          code: 'variables:\n  SECURE_ANALYZERS_PREFIX: "bot:s3cr3tpass@mirror.example.net/sec"\ntest:\n  script: make\n',
          errors: [{ line: 2, column: 28, message: /at `mirror\.example\.net\/sec`, not GitLab's registry/ }],
        },
        {
          name: 'template job overridden with when: never',
          code: 'include: ci/sast.yml\nsemgrep-sast:\n  rules:\n    - when: never\n',
          options: { files: SAST },
          errors: [{ line: 4, column: 13, job: 'semgrep-sast', message: /^Security job `semgrep-sast` is overridden with an unconditional `rules: - when: never`/ }],
        },
      ],
    });
  });
});
