import { defineRule } from '../types.js';

/**
 * GitLab would refuse the configuration (YAML syntax, keyword shapes, missing includes,
 * include loops, GitLab's limits). The model collects these as diagnostics with GitLab's own
 * wording (`lib/gitlab/ci/config/**`); this rule reports them.
 */
export default defineRule({
  meta: {
    id: 'ci-config-invalid',
    kind: 'pipeline',
    title: 'GitLab would reject this CI configuration',
    defaultSeverity: 'error',
    principle: 'tierguard can only vouch for a pipeline it can read the way GitLab reads it; an invalid configuration is judged as failing closed.',
    fix: 'Fix the error GitLab reports (same wording as GitLab: run the CI Lint tool in the project to confirm).',
    messages: {
      invalid: 'GitLab would reject this configuration: {{problem}}.',
      // tierguard's own evaluation budget (src/rules/run.ts): the text says it all.
      tooComplex: '{{problem}}.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        for (const d of p.diagnostics) {
          if (d.kind !== 'invalid') continue;
          ctx.report({ at: d.location, messageId: d.keyPath[0] === 'tierguard-budget' ? 'tooComplex' : 'invalid', data: { problem: d.message.replace(/\.$/, '') }, job: d.job, keyPath: d.keyPath, discriminator: d.message });
        }
      },
    };
  },
});
