import { get } from '../../model/node.js';
import { defineRule } from '../types.js';

/** The URL for messages, without any `user:password@` part. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1');
}

/** The full commit sha a raw-file URL is pinned to, if any. */
export function commitPinned(url: string): string | undefined {
  const m = /\/-\/raw\/([0-9a-f]{40})\/|^https:\/\/raw\.githubusercontent\.com\/[^/]+\/[^/]+\/([0-9a-f]{40})\/|\/raw\/([0-9a-f]{40})\//.exec(url);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/**
 * `include:remote` (and a bare URL string, `entry/include.rb`) fetches configuration from
 * another server at pipeline creation. Without `integrity:` (`sha256-<base64>`, GitLab 17.9,
 * `lib/gitlab/ci/config/external/file/remote.rb`) whoever controls that server, its DNS or
 * the path to it decides what every job of this pipeline runs — including deploy jobs.
 */
export default defineRule({
  meta: {
    id: 'remote-include-without-integrity',
    kind: 'pipeline',
    title: '`include:remote` without `integrity:`',
    defaultSeverity: 'error',
    principle: 'Configuration that decides what runs on trusted runners must come from a source the project controls, or be pinned by content.',
    fix: 'Add `integrity: sha256-<base64 of the SHA-256 of the file>` (GitLab 17.9+; `curl -s URL | openssl dgst -sha256 -binary | base64`), or vendor the file and use `include:local` / `include:project` with a pinned `ref`.',
    messages: {
      pinnedWithoutIntegrity: '`include:remote` {{url}} is pinned to commit {{commit}} but has no `integrity:`: {{host}} could still serve other content; add `integrity:` or use `include:project` with that `ref`.',
      noIntegrity: '`include:remote` {{url}} has no `integrity:`: whoever controls {{host}} (or the network path to it) decides what this pipeline runs.',
    },
  },
  create(ctx) {
    return {
      include(inc) {
        if (inc.kind !== 'remote' || inc.integrity || inc.status === 'excluded') return;
        const node = inc.node.kind === 'map' ? (get(inc.node, 'remote') ?? inc.node) : inc.node;
        let host = '';
        try {
          host = new URL(inc.target).host;
        } catch {
          host = 'that server';
        }
        // A raw file URL pinned to a full commit sha (`/-/raw/<sha>/…` on a GitLab instance,
        // `raw.githubusercontent.com/o/r/<sha>/…`) names fixed content: only the server itself
        // could lie about it. That is no riskier than an unpinned `include:project` (a
        // warning), so it is a warning too; a branch or tag URL stays an error.
        const pinned = commitPinned(inc.target);
        ctx.report({
          at: node.loc,
          keyPath: ['include', 'remote'],
          discriminator: displayUrl(inc.target),
          severity: pinned ? 'warning' : undefined,
          ...(pinned ? { messageId: 'pinnedWithoutIntegrity', data: { url: displayUrl(inc.target), commit: pinned.slice(0, 12), host } } : { messageId: 'noIntegrity', data: { url: displayUrl(inc.target), host } }),
        });
      },
    };
  },
});
