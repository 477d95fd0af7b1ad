import { get } from '../../model/node.js';
import { defineRule } from '../types.js';
import { replaceScalar, untrustedPhrase } from './_trust-text.js';

/**
 * `trigger:forward:pipeline_variables: true` (`doc/ci/yaml/_index.md#triggerforward`) passes
 * the variables the pipeline was started with (UI/API, trigger tokens, scheduled pipeline
 * variables, upstream forwards) into the downstream pipeline, where they override its YAML
 * variables (variable precedence, `doc/ci/variables/_index.md#cicd-variable-precedence`).
 */
export default defineRule({
  meta: {
    id: 'trigger-forwards-variables',
    kind: 'pipeline',
    title: 'Trigger job reachable from untrusted contexts forwards pipeline variables downstream',
    defaultSeverity: 'warning',
    principle: 'Values an untrusted pipeline starter chose must not flow into another pipeline, where they override its configuration.',
    fix: 'Remove `forward:pipeline_variables: true` (pass the needed values explicitly in `variables:`), or restrict the trigger job to protected refs.',
    messages: {
      forwards: 'Trigger job `{{job}}` forwards pipeline variables downstream and {{untrusted}}: whoever starts such a pipeline can override the downstream pipeline\'s variables.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const v = get(job.node, 'trigger', 'forward', 'pipeline_variables');
        if (v?.kind !== 'scalar' || v.value !== true) return;
        const trust = ctx.trust(job);
        if (trust.untrusted.length === 0) return;
        ctx.report({
          at: v.loc,
          job: job.name,
          keyPath: ['trigger', 'forward', 'pipeline_variables'],
          messageId: 'forwards', data: { job: job.name, untrusted: untrustedPhrase(trust) },
          fix: replaceScalar(ctx, v.loc, 'false', 'Do not forward pipeline variables'),
        });
      },
    };
  },
});
