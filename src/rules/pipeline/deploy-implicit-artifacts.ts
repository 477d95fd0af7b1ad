import { entry } from '../../model/node.js';
import { defineRule } from '../types.js';

/**
 * Without `needs:` or `dependencies:`, a job downloads the artifacts of every job in earlier
 * stages (`doc/ci/yaml/_index.md#dependencies`: "By default, all artifacts from previous
 * stages are passed to each job").
 */
export default defineRule({
  meta: {
    id: 'deploy-implicit-artifacts',
    kind: 'pipeline',
    title: 'Deploy job implicitly downloads every earlier-stage artifact',
    defaultSeverity: 'warning',
    principle: 'A deploy should consume exactly the artifacts it means to ship; implicit downloads let any earlier job (including ones added later) slip files into the deploy workspace.',
    fix: 'List the jobs whose artifacts the deploy needs with `needs:` or `dependencies:` (an empty list for none).',
    messages: {
      implicitArtifacts: 'Deploy job `{{job}}` has neither `needs:` nor `dependencies:`, so it downloads the artifacts of every job in earlier stages and deploys with whatever they contain.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        if (job.kind === 'bridge') return;
        const deploy = ctx.deploy(job);
        if (!deploy) return;
        if (entry(job.node, 'needs') || entry(job.node, 'dependencies')) return;
        ctx.report({
          at: job.keyLoc,
          job: job.name,
          keyPath: ['dependencies'],
          messageId: 'implicitArtifacts', data: { job: job.name },
        });
      },
    };
  },
});
