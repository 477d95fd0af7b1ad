import type { SourceLocation } from '../../model/location.js';
import { get, type YNode } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import { defineRule } from '../types.js';
import { imageName, imageParts } from './privileged-outside-build-tier.js';

/**
 * Why an image reference floats: no tag (Docker pulls `latest`) or `:latest`. A name built
 * from variables (`$CI_REGISTRY_IMAGE/app:$TAG`) is only judged on what is literal: `:latest`,
 * or nothing after the last `/` that could be a tag.
 */
export function floatingTag(name: string): 'no-tag' | 'latest' | undefined {
  const n = name.trim();
  if (!n || n.includes('@sha256:')) return undefined;
  const { tag } = imageParts(n);
  if (tag === 'latest') return 'latest';
  if (n.includes('$')) {
    if (!n.includes('/')) return undefined;
    const last = n.slice(n.lastIndexOf('/') + 1);
    return last.includes(':') || last.includes('$') ? undefined : 'no-tag';
  }
  return tag === undefined ? 'no-tag' : undefined;
}

/** Whether a deploy job's image is pinned by content. Variable names are not judged. */
function hasDigest(name: string): boolean {
  return name.includes('@sha256:') || name.includes('$');
}

interface Use {
  at: SourceLocation;
  name: string;
  keyPath: string[];
  jobs: string[];
  what: 'image' | 'service';
}

/**
 * An image without a tag or at `:latest` changes whenever someone pushes to that repository:
 * the job runs code nobody reviewed. Deploy jobs hold production credentials, so their images
 * must be pinned by digest (a tag can be re-pushed).
 */
export default defineRule({
  meta: {
    id: 'unpinned-image',
    kind: 'pipeline',
    title: 'Image or service without a pinned tag (deploy jobs: without a digest)',
    defaultSeverity: 'warning',
    principle: 'What runs in a job changes only through a reviewed change; deploy jobs run only content-addressed images.',
    fix: 'Use an explicit version tag (`node:20.11-alpine`); in deploy jobs pin the digest (`image: registry/tool:1.4@sha256:…`) and update it through merge requests (Renovate can).',
    messages: {
      deployWithoutDigest: 'Deploy job `{{job}}`{{tier}} uses {{what}} `{{image}}` {{how}}: a re-pushed tag changes what runs with deploy credentials; pin `@sha256:…`.',
      floating: '{{what}} `{{name}}` {{state}}: whatever is pushed there next runs in {{jobWord}} {{jobs}}; pin a version tag.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        const floating = new Map<string, Use & { kind: 'no-tag' | 'latest' }>();
        const images = (job: Job): { node: YNode; name: string; keyPath: string[]; what: 'image' | 'service' }[] => {
          const out: { node: YNode; name: string; keyPath: string[]; what: 'image' | 'service' }[] = [];
          const image = imageName(get(job.node, 'image'));
          if (image) out.push({ node: image.node, name: image.name, keyPath: ['image'], what: 'image' });
          const services = get(job.node, 'services');
          if (services?.kind === 'seq') {
            services.items.forEach((s, i) => {
              const svc = imageName(s);
              if (svc) out.push({ node: svc.node, name: svc.name, keyPath: ['services', String(i)], what: 'service' });
            });
          }
          return out;
        };
        for (const job of p.jobs) {
          const deploy = ctx.deploy(job);
          for (const img of images(job)) {
            if (deploy && !hasDigest(img.name)) {
              const kind = floatingTag(img.name);
              const how = kind === 'no-tag' ? 'without a tag or digest' : kind === 'latest' ? 'at `:latest` without a digest' : 'by tag, without a digest';
              ctx.report({
                at: img.node.loc,
                job: job.name,
                keyPath: img.keyPath,
                discriminator: 'digest:' + img.name,
                messageId: 'deployWithoutDigest', data: { job: job.name, tier: deploy.tier ? ` (${deploy.tier})` : '', what: img.what, image: img.name, how },
              });
              continue;
            }
            const kind = floatingTag(img.name);
            if (!kind) continue;
            const key = `${img.node.loc.file}:${img.node.loc.line}:${img.node.loc.column}`;
            const use = floating.get(key);
            if (use) use.jobs.push(job.name);
            else floating.set(key, { at: img.node.loc, name: img.name, keyPath: img.keyPath, jobs: [job.name], what: img.what, kind });
          }
        }
        for (const u of floating.values()) {
          const jobs = u.jobs.length > 3 ? `${u.jobs.slice(0, 3).map((j) => `\`${j}\``).join(', ')} and ${u.jobs.length - 3} more` : u.jobs.map((j) => `\`${j}\``).join(', ');
          ctx.report({
            at: u.at,
            job: u.jobs[0],
            keyPath: u.keyPath,
            discriminator: u.name,
            messageId: 'floating', data: { what: u.what, name: u.name, state: u.kind === 'latest' ? 'is at `:latest`' : 'has no tag (pulls `latest`)', jobWord: u.jobs.length > 1 ? 'jobs' : 'job', jobs },
          });
        }
      },
    };
  },
});
