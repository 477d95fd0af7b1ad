import { describe, expect, it } from 'vitest';
import rule from '../../src/rules/pipeline/debug-trace-enabled.js';
import { checkRule, runRules } from './harness.js';

describe('debug-trace-enabled', () => {
  it('flags CI_DEBUG_TRACE / CI_DEBUG_SERVICES set to true', async () => {
    await checkRule(rule, {
      valid: [
        'variables:\n  CI_DEBUG_TRACE: "false"\nbuild:\n  script: make\n',
        'build:\n  variables:\n    CI_DEBUG_SERVICES: "0"\n    DEBUG: "true"\n  script: make\n',
      ],

      invalid: [
        {
          code: 'variables:\n  CI_DEBUG_TRACE: "true"\nbuild:\n  variables:\n    CI_DEBUG_SERVICES:\n      value: true\n      description: debug\n  script: make\n',
          errors: [
            { line: 2, column: 19, severity: 'warning', message: /^Global variable CI_DEBUG_TRACE is set to true: the job log shows every command/ },
            { line: 6, column: 14, job: 'build', message: /CI_DEBUG_SERVICES is set to true: service containers log/ },
          ],
        },
        {
          name: 'rules:variables in an included file',
          code: 'include: ci/debug.yml\n',
          options: { files: { 'ci/debug.yml': 'test:\n  script: make\n  rules:\n    - if: $CI_COMMIT_BRANCH\n      variables: { CI_DEBUG_TRACE: "1" }\n' } },
          errors: [{ file: 'ci/debug.yml', line: 5, column: 36, job: 'test' }],
        },
      ],
    });
  });

  it('is an error when a job that reads credentials runs on unprotected refs with the trace on', async () => {
    await checkRule(rule, {
      valid: [],
      invalid: [
        {
          name: 'credentials on every branch: error, full list in details',
          code: 'variables:\n  CI_DEBUG_TRACE: "true"\ntest:\n  script: ./it.sh "$A_TOKEN" "$B_TOKEN" "$C_TOKEN" "$D_TOKEN" "$E_TOKEN" "$F_TOKEN" "$G_PASSWORD"\n',
          errors: [{ line: 2, column: 19, severity: 'error', message: /reads `\$A_TOKEN`, `\$B_TOKEN`, `\$C_TOKEN`, `\$D_TOKEN`, `\$E_TOKEN` and 2 more in untrusted contexts `branch`/ }],
        },
        {
          name: 'credentials only on the default branch: a warning',
          code: 'variables:\n  CI_DEBUG_TRACE: "true"\ntest:\n  script: make\ndeploy:\n  script: ./deploy.sh "$DEPLOY_TOKEN"\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n',
          errors: [{ line: 2, column: 19, severity: 'warning' }],
        },
        {
          name: 'job variable in the job that reads a kubeconfig on MRs',
          code: 'k8s:\n  variables:\n    CI_DEBUG_TRACE: "true"\n  script: kubectl --kubeconfig "$STAGE_KUBECONFIG" get pods\n  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n',
          errors: [{ line: 3, column: 21, job: 'k8s', severity: 'error', message: /`\$STAGE_KUBECONFIG`/ }],
        },
      ],
    });
    const ev = await runRules([rule], 'variables:\n  CI_DEBUG_TRACE: "true"\ntest:\n  script: ./it.sh "$A_TOKEN" "$B_TOKEN" "$C_TOKEN" "$D_TOKEN" "$E_TOKEN" "$F_TOKEN" "$G_PASSWORD"\n');
    expect(ev.findings[0].details).toEqual({ job: 'test', variables: ['A_TOKEN', 'B_TOKEN', 'C_TOKEN', 'D_TOKEN', 'E_TOKEN', 'F_TOKEN', 'G_PASSWORD'] });
    expect(ev.findings[0].message.length).toBeLessThan(300);
  });

  it('suggests "false" on the same line, keeping key and indentation', async () => {
    const ev = await runRules([rule], 'variables:\n  CI_DEBUG_TRACE: "true"   # temporary\n  X: "1"\nbuild:\n  variables:\n    CI_DEBUG_SERVICES: yes\n  script: make\n');
    expect(ev.findings.map((f) => f.fix)).toEqual([
      { description: 'set CI_DEBUG_TRACE to "false"', location: { file: '.gitlab-ci.yml', line: 2, column: 1, endLine: 2, endColumn: 39 }, replacement: '  CI_DEBUG_TRACE: "false"   # temporary' },
      { description: 'set CI_DEBUG_SERVICES to "false"', location: { file: '.gitlab-ci.yml', line: 6, column: 1, endLine: 6, endColumn: 27 }, replacement: '    CI_DEBUG_SERVICES: "false"' },
    ]);
  });
});
