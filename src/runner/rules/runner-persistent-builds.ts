import { describeRunner, isTable, usesDocker, usesKubernetes, type RunnerRule } from '../model.js';
import { isUnder, parseDockerVolume } from '../util.js';

/**
 * Builds or cache directories that outlive a job: host bind mounts or named volumes at
 * `/builds` / `/cache` (or the runner's `builds_dir` / `cache_dir`), Kubernetes `host_path`
 * or `pvc` volumes there, and — on a general-tier runner, which takes unprotected jobs — the
 * Docker executor's own `/cache` volume, which is kept per project across jobs unless
 * `disable_cache = true`: an MR job can poison what a protected pipeline restores (GitLab
 * issue 547332; gitlab-runner `executors/docker/internal/volumes/manager.go`).
 */
export const runnerPersistentBuilds: RunnerRule = {
  meta: {
    id: 'runner-persistent-builds',
    kind: 'runner',
    title: 'Builds or cache persisted across jobs',
    defaultSeverity: 'warning',
    principle:
      'Each job starts clean: a builds or cache directory that survives the job lets an untrusted job leave files that a later, trusted job picks up.',
    fix: 'Drop the host or named volume for `/builds` and `/cache`; use the distributed cache (separate for protected refs) and ephemeral volumes. On general-tier Docker runners set `disable_cache = true` or remove the `/cache` volume.',
    messages: {
      volume: '{{runner}}: `{{target}}` {{how}}; files from one job reach later jobs.',
      podVolume: '{{runner}}: `{{mount_path}}` is a {{kind}} shared across job pods; files from one job reach later jobs.',
    },
  },
  check(runner, ctx) {
    const dirs = ['/builds', '/cache'];
    for (const key of ['builds_dir', 'cache_dir']) {
      const d = ctx.get([key]);
      if (typeof d === 'string' && d.startsWith('/')) dirs.push(d);
    }
    if (usesDocker(runner)) {
      const volumes = ctx.get(['docker', 'volumes']);
      const localCacheKept = ctx.get(['docker', 'disable_cache']) !== true;
      if (Array.isArray(volumes)) {
        volumes.forEach((spec, i) => {
          if (typeof spec !== 'string') return;
          const v = parseDockerVolume(spec);
          if (!isUnder(v.target, dirs)) return;
          let how: string | undefined;
          if (v.kind === 'bind') how = `is bind-mounted from host path \`${v.source}\``;
          else if (v.kind === 'named') how = `is the named volume \`${v.source}\`, shared by every job on the runner`;
          else if (runner.tier === 'general' && localCacheKept)
            how = 'is a runner-kept volume reused by later jobs of the project, protected or not (GitLab issue 547332)';
          if (!how) return;
          ctx.report({
            at: ctx.at(['docker', 'volumes', i]),
            keyPath: ['docker', 'volumes'],
            discriminator: v.target,
            messageId: 'volume', data: { runner: describeRunner(runner), target: v.target, how },
          });
        });
      }
    }
    if (usesKubernetes(runner)) {
      const vols = ctx.get(['kubernetes', 'volumes']);
      if (isTable(vols)) {
        for (const kind of ['host_path', 'pvc']) {
          const list = vols[kind];
          if (!Array.isArray(list)) continue;
          list.forEach((vol: unknown, i) => {
            if (!isTable(vol) || typeof vol.mount_path !== 'string' || !isUnder(vol.mount_path, dirs)) return;
            ctx.report({
              at: ctx.at(['kubernetes', 'volumes', kind, i, 'mount_path']),
              keyPath: ['kubernetes', 'volumes', kind],
              discriminator: vol.mount_path,
              messageId: 'podVolume', data: { runner: describeRunner(runner), mount_path: vol.mount_path, kind: kind === 'pvc' ? 'persistent volume claim' : 'node host path' },
            });
          });
        }
      }
    }
  },
};
