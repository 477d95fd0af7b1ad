import { get } from '../../model/node.js';
import { allJobs, rootLocation, SETTINGS_KEY } from '../jobs.js';
import { NEEDS, SkipCheck, defineLiveRule } from '../types.js';

/**
 * `ci_separated_caches` (on by default, doc/ci/caching/_index.md "Cache key names"): GitLab
 * suffixes cache keys with `-protected` / `-non_protected` so unprotected refs cannot write a
 * cache that protected pipelines restore. Off, an MR job can poison what a deploy restores.
 */
export default defineLiveRule({
  meta: {
    id: 'separated-caches-disabled',
    kind: 'live',
    title: 'Protected and unprotected refs share caches',
    defaultSeverity: 'error',
    principle: 'Nothing written by an unprotected ref is restored into a protected pipeline.',
    fix: 'Turn on "Use separate caches for protected branches" (`PUT /projects/:id ci_separated_caches=true`).',
    messages: {
      sharedCaches: 'Project setting `ci_separated_caches` is off: protected and unprotected refs share caches (like that of `{{job}}`), so a merge request job can poison what protected pipelines restore.',
    },
  },
  async run(ctx) {
    const { evaluation } = ctx;
    const cached = allJobs(evaluation).map((x) => x.job).filter((j) => get(j.node, 'cache') !== undefined);
    if (cached.length === 0) return;
    const s = await ctx.load('settings');
    if (s.separatedCaches === null) throw new SkipCheck(NEEDS.settings, 'the token cannot see the project CI/CD settings');
    if (s.separatedCaches) return;
    const job = cached[0];
    ctx.report({
      at: get(job.node, 'cache')!.loc,
      job: job.name,
      keyPath: ['cache'],
      related: [{ location: rootLocation(evaluation), message: 'project setting `ci_separated_caches` is off' }],
      messageId: 'sharedCaches', data: { job: job.name },
    });
  },
});
