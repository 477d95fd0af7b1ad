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
      invalid: '{{problem}}',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        for (const d of p.diagnostics) {
          if (d.kind !== 'invalid') continue;
          ctx.report({ at: d.location, messageId: 'invalid', data: { problem: d.message }, job: d.job, keyPath: d.keyPath, discriminator: d.message });
        }
      },
    };
  },
});
