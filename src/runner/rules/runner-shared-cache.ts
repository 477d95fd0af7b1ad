import { describeRunner, type RunnerRule } from '../model.js';

/**
 * `[runners.cache] Shared = true`: the distributed cache path is not prefixed with the runner
 * token, so every runner using the bucket reads and writes the same cache keys
 * (gitlab-runner `cache/cache.go` `getCacheObjectName`).
 */
export const runnerSharedCache: RunnerRule = {
  meta: {
    id: 'runner-shared-cache',
    kind: 'runner',
    title: 'Distributed cache shared across runners',
    defaultSeverity: 'warning',
    principle:
      'Caches must not cross trust zones: a cache shared across runners lets a job on a general-tier runner poison what a build or deploy runner restores.',
    fix: 'Set `Shared = false` (the default), and give each trust tier its own bucket or path.',
    messages: {
      sharedCache: '{{runner}} shares its distributed cache with every runner on the same storage (`Shared = true`): caches cross trust tiers; set `Shared = false`.',
    },
  },
  check(runner, ctx) {
    if (ctx.get(['cache', 'Shared']) !== true) return;
    ctx.report({
      at: ctx.at(['cache', 'Shared']),
      keyPath: ['cache', 'Shared'],
      messageId: 'sharedCache', data: { runner: describeRunner(runner) },
    });
  },
};
