import { rootLocation, SETTINGS_KEY } from '../jobs.js';
import { NEEDS, SkipCheck, defineLiveRule } from '../types.js';

/**
 * Pipeline variables (run pipeline form, API, triggers, schedules) override YAML variables and
 * decide `rules:if`. Who may set them: `ci_pipeline_variables_minimum_override_role`
 * (`no_one_allowed`, `developer`, `maintainer`, `owner`; app/models/project_ci_cd_setting.rb),
 * which only applies while `restrict_user_defined_variables` is on (lib/api/entities/project.rb
 * exposes both to Maintainers; the boolean is ignored from GitLab 18.3).
 */
export default defineLiveRule({
  meta: {
    id: 'pipeline-variables-unrestricted',
    kind: 'live',
    title: 'Anyone who can run a pipeline may override variables',
    defaultSeverity: 'warning',
    principle: 'The people who may steer a pipeline with variables are chosen in GitLab, not everyone with the Developer role.',
    fix: 'Set the minimum role for pipeline variables to Maintainer or "no one allowed" (`PUT /projects/:id ci_pipeline_variables_minimum_override_role=maintainer`, with `restrict_user_defined_variables=true` on older GitLab).',
    messages: {
      unrestricted: 'Project setting `restrict_user_defined_variables` is off: anyone who can run a pipeline (Developer role) may set pipeline variables that override the YAML and decide `rules:if`.',
      developerOverride: 'Project setting `ci_pipeline_variables_minimum_override_role` is `developer`: anyone who can run a pipeline may set variables that override the YAML and decide `rules:if`.',
    },
  },
  async run(ctx) {
    const s = await ctx.load('settings');
    const role = s.pipelineVariablesMinimumOverrideRole;
    const restrict = s.restrictUserDefinedVariables;
    if (role === null && restrict === null) throw new SkipCheck(NEEDS.settings, 'the token cannot see the project CI/CD settings');
    // With the boolean off, the role is disregarded and every developer may override (MR 149343).
    const unrestricted = restrict === false || role === 'developer';
    if (!unrestricted) return;
    ctx.report({
      at: rootLocation(ctx.evaluation),
      keyPath: [SETTINGS_KEY, 'ci_pipeline_variables_minimum_override_role'],
      ...(restrict === false ? { messageId: 'unrestricted' } : { messageId: 'developerOverride' }),
    });
  },
});
