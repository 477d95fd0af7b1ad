import { get, str } from '../../model/node.js';
import { defineRule } from '../types.js';
import { locateInScalar } from './_shell.js';

/** A tag-like ref (`v1.2.3`, `1.2`, `v2`, `refs/tags/…`) or a commit sha. */
export function isPinnedRef(ref: string): boolean {
  const r = ref.trim();
  if (/^refs\/tags\//.test(r)) return true;
  if (/^[0-9a-f]{7,40}$/.test(r)) return true;
  return /^v?\d+(\.\d+)*([-+.][0-9A-Za-z.-]*)?$/.test(r);
}

/** A component version (`1.2.3`, `1.2`, `1`, `v1.2.3`, a sha) other than `~latest`. */
export function isPinnedComponentVersion(version: string): boolean {
  if (version === '~latest') return false;
  return /^v?\d+(\.\d+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version) || /^[0-9a-f]{7,40}$/.test(version);
}

/**
 * `include:project` without `ref` follows the other project's default branch (HEAD,
 * `external/file/project.rb`); a branch ref follows every push to it; a component at
 * `~latest` or a branch changes whenever its project publishes. Whoever can push there can
 * change this pipeline without an MR here.
 */
export default defineRule({
  meta: {
    id: 'unpinned-include',
    kind: 'pipeline',
    title: 'Included configuration is not pinned to a tag or commit',
    defaultSeverity: 'warning',
    principle: 'What runs in this project’s pipelines changes only through a reviewed change in this project.',
    fix: 'Pin `include:project` with `ref:` set to a tag (`v1.4.0`) or a full commit sha, and components to a released version (`@1.4.0`) instead of `~latest` or a branch.',
    messages: {
      projectWithoutRef: '`include:project` {{project}} has no `ref`: it follows that project\'s default branch, so any push there changes this pipeline; pin a tag or commit SHA.',
      projectBranchRef: '`include:project` {{project}} uses {{what}}, not a tag or commit SHA: any push to it changes this pipeline.',
      componentWithoutVersion: '`include:component` {{address}} has no version: pin it to a released version.',
      componentFloating: '`include:component` {{address}} is at {{version}}: every new release or push changes this pipeline; pin a released version.',
    },
  },
  create(ctx) {
    return {
      include(inc) {
        if (inc.status === 'excluded' || inc.node.kind !== 'map') return;
        if (inc.kind === 'project') {
          const refNode = get(inc.node, 'ref');
          const ref = str(refNode);
          const projectNode = get(inc.node, 'project') ?? inc.node;
          if (ref === undefined) {
            ctx.report({
              at: projectNode.loc,
              keyPath: ['include', 'project'],
              discriminator: inc.project,
              messageId: 'projectWithoutRef', data: { project: inc.project ?? '' },
            });
          } else if (!isPinnedRef(ref)) {
            const what = /\$/.test(ref) ? `a variable ref (\`${ref}\`)` : `the branch-like ref \`${ref}\``;
            ctx.report({
              at: refNode!.loc,
              keyPath: ['include', 'ref'],
              discriminator: inc.project,
              messageId: 'projectBranchRef', data: { project: inc.project ?? '', what },
            });
          }
        } else if (inc.kind === 'component') {
          const node = get(inc.node, 'component');
          const address = str(node);
          if (!node || address === undefined) return;
          const at = address.lastIndexOf('@');
          const version = at >= 0 ? address.slice(at + 1) : '';
          if (at >= 0 && isPinnedComponentVersion(version)) return;
          const loc = at >= 0 ? locateInScalar(ctx.pipeline, node.loc, address, at, address.length - at) : node.loc;
          ctx.report({
            at: loc,
            keyPath: ['include', 'component'],
            discriminator: at >= 0 ? address.slice(0, at) : address,
            ...(at < 0 ? { messageId: 'componentWithoutVersion', data: { address } } : { messageId: 'componentFloating', data: { address: address.slice(0, at), version: version === '~latest' ? '`~latest`' : `the branch-like version \`${version}\`` } }),
          });
        }
      },
    };
  },
});
