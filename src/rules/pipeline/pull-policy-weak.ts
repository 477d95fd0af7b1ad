import { get, str, type YNode } from '../../model/node.js';
import { defineRule } from '../types.js';
import { replaceScalar } from './_trust-text.js';

const WEAK = new Set(['never', 'if-not-present']);

/**
 * `image:pull_policy` (`doc/ci/yaml/_index.md#imagepull_policy`): `always`, `if-not-present`,
 * `never`, or a list tried in order. With `if-not-present`/`never` the runner uses whatever
 * image with that name is already on the host, which an earlier job may have built or tagged.
 */
export default defineRule({
  meta: {
    id: 'pull-policy-weak',
    kind: 'pipeline',
    title: 'Deploy job may run a locally cached image (`pull_policy` never / if-not-present)',
    defaultSeverity: 'warning',
    principle: 'A deploy must run the image the registry serves, not one left on the runner host by an earlier job.',
    fix: 'Use `pull_policy: always` (or drop `pull_policy`) and pin the image by digest.',
    messages: {
      weakPullPolicy: 'Deploy job `{{job}}` allows `pull_policy: {{v}}`: the runner may use an image an earlier job built or tagged on its host instead of the registry\'s; use `always`.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const deploy = ctx.deploy(job);
        if (!deploy) return;
        const policy = get(job.node, 'image', 'pull_policy');
        if (!policy) return;
        const items: YNode[] = policy.kind === 'seq' ? policy.items : [policy];
        for (const it of items) {
          const v = str(it);
          if (!v || !WEAK.has(v)) continue;
          ctx.report({
            at: it.loc,
            job: job.name,
            keyPath: ['image', 'pull_policy'],
            discriminator: v,
            messageId: 'weakPullPolicy', data: { job: job.name, v },
            fix: policy.kind === 'scalar' ? replaceScalar(ctx, it.loc, 'always', 'Always pull the deploy image') : undefined,
          });
        }
      },
    };
  },
});
