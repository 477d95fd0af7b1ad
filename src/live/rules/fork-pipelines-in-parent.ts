import { codeList } from '../../rules/pipeline/_trust-text.js';
import { allJobs, rootLocation, SETTINGS_KEY } from '../jobs.js';
import { NEEDS, SkipCheck, defineLiveRule } from '../types.js';

/**
 * `ci_allow_fork_pipelines_to_run_in_parent_project` (project_ci_cd_settings, on by default,
 * doc/ci/pipelines/merge_request_pipelines.md "Run pipelines in the parent project"): a member
 * can run a fork's MR pipeline in the parent project, where the fork's YAML gets the parent's
 * runners and unprotected variables.
 */
export default defineLiveRule({
  meta: {
    id: 'fork-pipelines-in-parent',
    kind: 'live',
    title: 'Fork merge request pipelines may run in the parent project',
    defaultSeverity: 'warning',
    principle: "Code from a fork runs with the fork's resources, not the parent project's runners and variables.",
    fix: 'Turn off `ci_allow_fork_pipelines_to_run_in_parent_project` (`PUT /projects/:id ci_allow_fork_pipelines_to_run_in_parent_project=false`) unless the project reviews every fork MR before running it, and keep secrets Protected.',
    messages: {
      forkPipelines: 'Project setting `ci_allow_fork_pipelines_to_run_in_parent_project` is on: fork merge request pipelines run here with this project\'s runners and unprotected variables (jobs such as {{list}}).',
    },
  },
  async run(ctx) {
    const { evaluation } = ctx;
    const forkJobs = allJobs(evaluation)
      .filter(({ trust: t }) => !t || t.byContext['mr-fork']?.runs !== 'no')
      .map((x) => x.job);
    if (forkJobs.length === 0) return;
    const settings = await ctx.load('settings');
    if (settings.allowForkPipelinesInParent === null) throw new SkipCheck(NEEDS.settings, 'the token cannot see the project CI/CD settings');
    if (!settings.allowForkPipelinesInParent) return;
    const names = forkJobs.slice(0, 3).map((j) => j.name);
    ctx.report({
      at: rootLocation(evaluation),
      keyPath: [SETTINGS_KEY, 'ci_allow_fork_pipelines_to_run_in_parent_project'],
      related: forkJobs.slice(0, 3).map((j) => ({ location: j.keyLoc, message: `\`${j.name}\` runs in fork merge request pipelines` })),
      messageId: 'forkPipelines', data: { list: codeList(names) },
    });
  },
});
