import { get, str, type YNode } from '../../model/node.js';
import { defineRule } from '../types.js';
import { codeList, replaceScalar, untrustedPhrase } from './_trust-text.js';

/**
 * GitLab keeps separate caches for protected and unprotected refs (`-protected` /
 * `-non_protected` key suffixes, `app/models/ci/build.rb` `cache_for_protected_refs` / the
 * runner's cache key) unless `cache:unprotect: true` (`doc/ci/yaml/_index.md#cacheunprotect`).
 */
export default defineRule({
  meta: {
    id: 'cache-unprotect',
    kind: 'pipeline',
    title: '`cache:unprotect: true` shares a cache between protected and unprotected refs',
    defaultSeverity: 'error',
    principle: 'Trusted pipelines must never consume state written by untrusted ones; a shared cache lets a merge request poison what a protected pipeline builds or deploys.',
    fix: 'Remove `unprotect: true` (or set it to `false`) so protected refs keep their own cache.',
    messages: {
      deployJob: 'Deploy job `{{job}}`{{environment}} sets `cache:unprotect: true`{{key}}: its cache is shared with every unprotected ref that uses the same key.',
      mixedContexts: 'Job `{{job}}` sets `cache:unprotect: true`{{key}}, runs in trusted contexts {{trusted}} and {{untrusted}}: those pipelines read and write the same cache.',
    },
  },
  create(ctx) {
    return {
      job(job) {
        const cache = get(job.node, 'cache');
        if (!cache) return;
        const items: { node: YNode; index?: number }[] = cache.kind === 'seq' ? cache.items.map((node, index) => ({ node, index })) : [{ node: cache }];
        const flagged = items.filter((i) => {
          const u = get(i.node, 'unprotect');
          return u?.kind === 'scalar' && (u.value === true || u.value === 'true');
        });
        if (flagged.length === 0) return;
        const deploy = ctx.deploy(job);
        const trust = ctx.trust(job);
        const mixed = trust.trusted.length > 0 && trust.untrusted.length > 0;
        if (!deploy && !mixed) return;
        const why: { messageId: string; data: Record<string, string> } = deploy
          ? { messageId: 'deployJob', data: { environment: deploy.environmentName ? ` (environment \`${deploy.environmentName}\`)` : '' } }
          : { messageId: 'mixedContexts', data: { trusted: codeList(trust.trusted), untrusted: untrustedPhrase(trust) } };
        for (const { node, index } of flagged) {
          const u = get(node, 'unprotect')!;
          const key = str(get(node, 'key'));
          ctx.report({
            at: u.loc,
            job: job.name,
            keyPath: index === undefined ? ['cache', 'unprotect'] : ['cache', String(index), 'unprotect'],
            messageId: why.messageId,
            data: { job: job.name, key: key ? ` (key \`${key}\`)` : '', ...why.data },
            fix: replaceScalar(ctx, u.loc, 'false', 'Keep protected and unprotected caches apart'),
          });
        }
      },
    };
  },
});
