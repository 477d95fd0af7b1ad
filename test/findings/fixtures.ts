import { fingerprintOf, type Finding } from '../../src/findings/finding.js';
import { SourceFiles } from '../../src/findings/sources.js';
import type { RuleMeta } from '../../src/findings/rule-meta.js';
import type { RenderInput } from '../../src/findings/render/index.js';

export const SECRET = 'glpat-AbCdEf1234567890xyz';

export const CI_YAML = [
  'variables:',
  `  DEPLOY_TOKEN: ${SECRET}`,
  'deploy:',
  '  stage: deploy',
  '  environment: production',
  '  variables:',
  '    CI_DEBUG_TRACE: "true"',
  '  script: ./deploy.sh',
].join('\n');

export const RUNNER_TOML = ['[[runners]]', '\tname = "shared"', '\tprivileged = true'].join('\n');

export function sources(): SourceFiles {
  const s = new SourceFiles();
  s.add('.gitlab-ci.yml', CI_YAML);
  s.add('runners/config.toml', RUNNER_TOML);
  // The secret value: line 2, columns 17..42 (end exclusive).
  s.addSecret({ file: '.gitlab-ci.yml', line: 2, column: 17, endLine: 2, endColumn: 42 });
  return s;
}

export const catalogue: RuleMeta[] = [
  {
    id: 'deploy-unprotected-ref',
    kind: 'pipeline',
    title: 'Deploy job can run on an unprotected ref',
    defaultSeverity: 'error',
    principle: 'Only protected refs may deploy.',
    fix: 'Restrict the job to protected refs with rules.',
    messages: {},
  },
  {
    id: 'hardcoded-credential',
    kind: 'pipeline',
    title: 'Literal credential in CI configuration',
    defaultSeverity: 'error',
    principle: 'Credentials live in protected CI/CD variables, never in the repository.',
    fix: 'Revoke the credential and move it to a protected, masked variable.',
    messages: {},
  },
  {
    id: 'untagged-job',
    kind: 'pipeline',
    title: 'Job without runner tags',
    defaultSeverity: 'warning',
    principle: 'Every job is routed to a runner of its trust tier.',
    fix: 'Add tags for the right tier.',
    messages: {},
  },
  {
    id: 'runner-privileged',
    kind: 'runner',
    title: 'Privileged runner outside the build tier',
    defaultSeverity: 'error',
    principle: 'Privileged containers are root on the host.',
    fix: 'Set privileged = false.',
    messages: {},
  },
];

const untaggedFp = fingerprintOf({ ruleId: 'untagged-job', file: '.gitlab-ci.yml', job: 'deploy', keyPath: [] });

/** Hand-built findings; several carry the secret in their strings, as a buggy rule might. */
export function findings(): Finding[] {
  return [
    {
      ruleId: 'untagged-job',
      severity: 'warning',
      blocking: false,
      message: 'job "deploy" has no tags',
      location: { file: '.gitlab-ci.yml', line: 3, column: 1, endLine: 3, endColumn: 7 },
      job: 'deploy',
      keyPath: [],
      fingerprint: untaggedFp,
      suppressed: { kind: 'exception', reason: 'legacy runner until 2030-01-01' },
    },
    {
      ruleId: 'hardcoded-credential',
      severity: 'error',
      blocking: true,
      message: `literal GitLab token ${SECRET} in variables`,
      location: { file: '.gitlab-ci.yml', line: 2, column: 17, endLine: 2, endColumn: 42 },
      keyPath: ['variables', 'DEPLOY_TOKEN'],
      fingerprint: fingerprintOf({ ruleId: 'hardcoded-credential', file: '.gitlab-ci.yml', keyPath: ['variables', 'DEPLOY_TOKEN'] }),
      fix: { description: `remove ${SECRET}`, location: { file: '.gitlab-ci.yml', line: 2, column: 1, endLine: 2, endColumn: 42 }, replacement: `  DEPLOY_TOKEN: $DEPLOY_TOKEN # was ${SECRET}` },
    },
    {
      ruleId: 'deploy-unprotected-ref',
      severity: 'error',
      blocking: true,
      message: 'deploy job "deploy" can run in merge request pipelines',
      location: { file: '.gitlab-ci.yml', line: 5, column: 3, endLine: 5, endColumn: 26 },
      job: 'deploy',
      keyPath: ['environment'],
      fingerprint: fingerprintOf({ ruleId: 'deploy-unprotected-ref', file: '.gitlab-ci.yml', job: 'deploy', keyPath: ['environment'] }),
      related: [
        {
          location: { file: '.gitlab-ci.yml', line: 3, column: 1, endLine: 3, endColumn: 7 },
          message: `the job has no rules (token ${SECRET} nearby)`,
        },
      ],
      fix: {
        description: 'only deploy from protected refs',
        location: { file: '.gitlab-ci.yml', line: 5, column: 3, endLine: 5, endColumn: 26 },
        replacement: '  environment: production\n  rules:\n    - if: $CI_COMMIT_REF_PROTECTED == "true"',
      },
    },
    {
      ruleId: 'untagged-job',
      severity: 'warning',
      blocking: false,
      message: 'job "deploy" has no tags',
      location: { file: '.gitlab-ci.yml', line: 3, column: 1, endLine: 3, endColumn: 7 },
      job: 'deploy',
      keyPath: [],
      // Same fingerprint as the suppressed one above: Code Quality must still get unique ones.
      fingerprint: untaggedFp,
    },
    {
      ruleId: 'debug-trace-enabled',
      severity: 'warning',
      blocking: false,
      message: 'CI_DEBUG_TRACE is enabled',
      location: { file: '.gitlab-ci.yml', line: 7, column: 21, endLine: 7, endColumn: 27 },
      job: 'deploy',
      keyPath: ['variables', 'CI_DEBUG_TRACE'],
      fingerprint: fingerprintOf({ ruleId: 'debug-trace-enabled', file: '.gitlab-ci.yml', job: 'deploy', keyPath: ['variables', 'CI_DEBUG_TRACE'] }),
      suppressed: { kind: 'inline', reason: 'debugging a flaky deploy' },
    },
    {
      ruleId: 'runner-privileged',
      severity: 'error',
      blocking: false,
      message: 'runner "shared" runs privileged containers',
      location: { file: 'runners/config.toml', line: 3, column: 2, endLine: 3, endColumn: 19 },
      keyPath: ['runners', '0', 'docker', 'privileged'],
      fingerprint: fingerprintOf({ ruleId: 'runner-privileged', file: 'runners/config.toml', keyPath: ['runners', '0', 'docker', 'privileged'] }),
    },
  ];
}

export function input(overrides: Partial<RenderInput> = {}): RenderInput {
  return { findings: findings(), sources: sources(), rules: catalogue, toolVersion: '1.2.3', ...overrides };
}
