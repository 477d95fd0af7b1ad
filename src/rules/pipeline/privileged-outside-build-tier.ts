import { get, str, type YNode } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import type { RunnerTier } from '../deploy.js';
import { defineRule } from '../types.js';
import { commandIndex, memoByText, programName, segments } from './_shell.js';

/** An image name's parts (see imageParts). Shared: read only. */
interface ImageParts {
  readonly path: string;
  readonly repo: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Split `registry:5000/group/docker:24-dind@sha256:…` into the last path segment's repo and tag.
 * Memoised by name, as are the answers below: every job's image and services are asked about by
 * several rules, and pipelines name a few images many times.
 */
export const imageParts: (name: string) => ImageParts = memoByText((name) => {
  const [beforeDigest = '', digest] = name.split('@', 2);
  const slash = beforeDigest.lastIndexOf('/');
  const last = beforeDigest.slice(slash + 1);
  const colon = last.indexOf(':');
  const repo = colon >= 0 ? last.slice(0, colon) : last;
  const tag = colon >= 0 ? last.slice(colon + 1) : undefined;
  return { path: beforeDigest.slice(0, slash + 1) + repo, repo, tag, digest };
});

/** `docker:dind`, `docker:24-dind`, `docker:24.0.5-dind-rootless`, `mirror/docker:dind`, `…/docker-dind`. */
export const isDindImage: (name: string) => boolean = memoByText((name) => {
  const { repo, tag } = imageParts(name.trim());
  return (repo === 'docker' && !!tag && /dind/.test(tag)) || /(^|[-_])dind($|[-_])/.test(repo);
});

/**
 * A service image that starts a Docker daemon: a dind image, or the official `docker` image
 * at a bare version or `latest` (`docker:29.6.2` is the dind variant; `docker:29-cli` is not:
 * docker-library/docker `versions.json`, the `dind` variant is tagged `<version>` too).
 */
export const isDaemonServiceImage: (name: string) => boolean = memoByText((name) => {
  const n = name.trim();
  if (isDindImage(n)) return true;
  const { path, repo, tag } = imageParts(n);
  if (repo !== 'docker' || !/(^|\/)docker$/.test(path)) return false;
  return tag === undefined || tag === 'latest' || tag === 'stable' || /^\d+(\.\d+)*(-rc\.?\d*)?$/.test(tag);
});

/** A `services:` item that runs a Docker daemon: a daemon image, or a variable image aliased `docker`. */
function isDaemonService(item: YNode): boolean {
  const svc = imageName(item);
  if (!svc) return false;
  if (isDaemonServiceImage(svc.name)) return true;
  const aliases = (str(get(item, 'alias')) ?? '').split(/[,\s]+/);
  return /^\$/.test(svc.name.trim()) && aliases.some((a) => /(^|[-_])docker($|[-_])|^dind$/.test(a));
}

/** Whether a job's scripts start the daemon themselves (`dockerd`, `dockerd-entrypoint.sh`). */
function startsDockerd(lines: readonly { text: string }[]): boolean {
  return lines.some((l) => segments.of(l).some((s) => /^dockerd(-entrypoint\.sh)?$/.test(programName(s.words[commandIndex(s.words)]))));
}

/** The image name of an `image:`/`services:` item (string or `{ name: … }`) and its node. */
export function imageName(node: YNode | undefined): { name: string; node: YNode } | undefined {
  if (!node) return undefined;
  const n = node.kind === 'map' ? get(node, 'name') : node;
  const name = str(n);
  return name !== undefined && n ? { name, node: n } : undefined;
}

const TIER_TEXT: Record<RunnerTier, string> = {
  'deploy-production': 'route to the production deploy tier',
  'deploy-staging': 'route to the staging deploy tier',
  build: 'route to the build tier',
  general: 'route to the general tier',
  unknown: 'route to no tier the policy knows',
};

/**
 * Docker-in-Docker needs `privileged = true` on the runner, which is root on the host.
 * Privileged runners belong to the build tier only (runner rule `runner-privileged`), so a
 * dind job must carry build-tier tags; elsewhere it either fails or, worse, finds a
 * privileged runner that also serves other trust levels.
 */
export default defineRule({
  meta: {
    id: 'privileged-outside-build-tier',
    kind: 'pipeline',
    title: 'Docker-in-Docker in a job that is not routed to the build tier',
    defaultSeverity: 'error',
    principle: 'Privileged containers are root on the runner host: only build-tier runners, which take no deploy jobs and no unrelated projects, may run them.',
    fix: 'Route the job to the build tier with its tags (`tags: [ci-build]` by default), or build without a privileged daemon (Kaniko, Buildah, BuildKit rootless).',
    messages: {
      dindHost: 'Job `{{job}}` talks to a Docker-in-Docker daemon (DOCKER_HOST {{host}}), which needs a privileged runner, but {{tags}}.',
      dindService: 'Job `{{job}}` runs Docker-in-Docker ({{what}}), which needs a privileged runner, but {{tags}}.',
    },
  },
  create(ctx) {
    const buildTags = () => (ctx.policy.tiers.build.length ? ` (${ctx.policy.tiers.build.join(', ')})` : '');
    const describeTags = (job: Job, tier: RunnerTier) =>
      job.tags.length === 0
        ? `it has no tags (any runner that takes untagged jobs may run it) instead of build-tier tags${buildTags()}`
        : `its tags (${job.tags.join(', ')}) ${TIER_TEXT[tier]}, not to the build tier${buildTags()}`;
    return {
      job(job) {
        const tier = ctx.tagTier(job.tags);
        if (tier === 'build') return;
        const hits: { node: YNode; keyPath: string[]; what: string }[] = [];
        const image = imageName(get(job.node, 'image'));
        // A dind *image* only runs a daemon when the script starts one: GitLab replaces the
        // image's command with the job script, so `dockerd-entrypoint.sh` never runs.
        if (image && isDindImage(image.name) && startsDockerd(ctx.scriptLines(job))) hits.push({ node: image.node, keyPath: ['image'], what: `image \`${image.name}\` running \`dockerd\`` });
        const services = get(job.node, 'services');
        const aliases = new Set<string>();
        if (services?.kind === 'seq') {
          services.items.forEach((s, i) => {
            const svc = imageName(s);
            if (!svc || !isDaemonService(s)) return;
            hits.push({ node: svc.node, keyPath: ['services', String(i)], what: `service \`${svc.name}\`` });
            // Default service aliases: the image path with `/` → `__` and `-`, and `docker`.
            for (const a of (str(get(s, 'alias')) ?? '').split(/[,\s]+/)) if (a) aliases.add(a);
          });
        }
        if (hits.length === 0) {
          // DOCKER_HOST pointing at a dind service: its own variable, or an inherited one the
          // job's scripts actually use.
          const dh = job.variables.get('DOCKER_HOST');
          const m = dh && /^tcp:\/\/([^:/]+)(?::(\d+))?/.exec(dh.value.trim());
          const pointsAtDind = !!m && (m[1] === 'docker' || m[1] === 'docker-dind' || aliases.has(m[1]!)) && (!m[2] || m[2] === '2375' || m[2] === '2376');
          const usesDocker = () =>
            ctx.scriptLines(job).some((l) => segments.of(l).some((s) => programName(s.words[commandIndex(s.words)]) === 'docker'));
          if (dh && pointsAtDind && (job.jobVariables.has('DOCKER_HOST') || usesDocker())) {
            ctx.report({
              at: dh.valueLoc,
              job: job.name,
              keyPath: ['variables', 'DOCKER_HOST'],
              messageId: 'dindHost', data: { job: job.name, host: m[0], tags: describeTags(job, tier) },
            });
          }
          return;
        }
        for (const h of hits) {
          ctx.report({
            at: h.node.loc,
            job: job.name,
            keyPath: h.keyPath,
            messageId: 'dindService', data: { job: job.name, what: h.what, tags: describeTags(job, tier) },
          });
        }
      },
    };
  },
});
