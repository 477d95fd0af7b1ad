/**
 * Every GitLab route tierguard calls, the least role GitLab requires for it, where GitLab
 * decides that, and what tierguard does without it. The README's token section is generated
 * from the same table (a test keeps them equal); the adapter methods in ./client.ts name the
 * same routes.
 *
 * Roles: GitLab access levels (Guest 10, Reporter 20, Developer 30, Maintainer 40, Owner 50),
 * decided in app/policies/project_policy.rb and group_policy.rb, enforced by lib/api/*.rb.
 */

type Role = 'any' | 'Guest' | 'Reporter' | 'Developer' | 'Maintainer' | 'group Owner' | 'administrator';

export interface RouteNeed {
  route: string;
  /** The least role on the project (or group) GitLab requires on a private project. */
  role: Role;
  /** GitLab source that decides it. */
  source: string;
  /** What tierguard uses it for. */
  use: string;
  /** What tierguard does when the token lacks the role. */
  without: string;
}

export const ROUTES: readonly RouteNeed[] = [
  { route: 'GET /user', role: 'any', source: 'lib/api/users.rb', use: "tierguard's own user (its events are ignored)", without: '401: the token is rejected; `/readyz` answers 503 and nothing is reviewed' },
  { route: 'GET /projects/:id', role: 'Guest', source: 'lib/api/projects.rb, lib/api/entities/project.rb', use: 'default branch, CI config path, visibility; CI/CD settings fields only for Maintainer (`admin_project`)', without: 'review fails closed with one `failed` status; missing CI settings skip the settings checks' },
  { route: 'GET /projects/:id/merge_requests/:iid', role: 'Reporter', source: 'lib/api/merge_requests.rb (`read_merge_request`)', use: 'head sha, diff refs, head pipeline, author', without: 'nothing can be reviewed (no status can be set either)' },
  { route: 'GET /projects/:id/merge_requests/:iid/changes', role: 'Reporter', source: 'lib/api/merge_requests.rb, lib/api/entities/merge_request_changes.rb', use: 'which files the MR changes, with the head sha they belong to and whether the list is whole (`changes_count`, `overflow`); deprecated for API v5, served by v4', without: 'review fails closed' },
  { route: 'GET /projects/:id/repository/files/:file_path/raw', role: 'Reporter', source: 'lib/api/files.rb (`authorize_read_code!`)', use: 'CI files and includes at the head and base sha, the project policy file', without: 'the file is *unverified* (`ci-config-unverified`, blocking)' },
  { route: 'GET /projects/:id/repository/tree', role: 'Reporter', source: 'lib/api/repositories.rb (`authorize_read_code!`)', use: '`include:local` wildcards', without: 'the wildcard include is unverified' },
  { route: 'GET /templates/gitlab_ci_ymls/:key', role: 'any', source: 'lib/api/templates.rb', use: '`include:template`', without: 'the template include is unverified' },
  { route: 'GET /projects/:id/members/all/:user_id', role: 'Guest', source: 'lib/api/members.rb (`read_project_member`)', use: "whether the MR author may read a project its pipeline includes (GitLab reads `include:project` as the pipeline's user)", without: 'the include is unverified and none of its content is shown' },
  { route: 'GET /projects/:id/protected_branches', role: 'Reporter', source: 'lib/api/protected_branches.rb (`authorize_read_code!`)', use: 'which branches are really protected', without: 'review fails closed' },
  { route: 'GET /projects/:id/protected_tags', role: 'Maintainer', source: 'lib/api/protected_tags.rb (`read_protected_tags`, enabled by `manage_protected_tags` in project_policy.rb)', use: 'which tag patterns are really protected', without: 'falls back to `GET /projects/:id/repository/tags` plus the policy tag patterns, says so in the summary; `protected-ref-assumed` for tags is skipped' },
  { route: 'GET /projects/:id/repository/tags', role: 'Reporter', source: 'lib/api/tags.rb (`authorize_read_code!`), lib/api/entities/tag.rb (`protected`)', use: 'fallback: existing tags that are protected', without: 'the policy tag patterns alone; said in the summary' },
  { route: 'GET /projects/:id/merge_requests/:iid/discussions', role: 'Reporter', source: 'lib/api/discussions.rb', use: "tierguard's earlier threads (no duplicates); not read while the MR has no user note", without: 'review fails closed' },
  { route: 'POST /projects/:id/merge_requests/:iid/discussions', role: 'Reporter', source: 'lib/api/discussions.rb (`create_note`)', use: 'inline findings', without: 'review fails closed' },
  { route: 'POST /projects/:id/merge_requests/:iid/discussions/:discussion_id/notes', role: 'Reporter', source: 'lib/api/discussions.rb (`create_note`)', use: 'reply when a finding is gone', without: 'review fails closed' },
  { route: 'PUT /projects/:id/merge_requests/:iid/discussions/:discussion_id', role: 'Developer', source: 'lib/api/discussions.rb, app/policies/note_policy.rb (`resolve_note`)', use: 'resolve threads of vanished findings', without: 'review fails closed' },
  { route: 'POST /projects/:id/merge_requests/:iid/notes', role: 'Reporter', source: 'lib/api/notes.rb (`create_note`)', use: 'the summary note', without: 'review fails closed' },
  { route: 'PUT /projects/:id/merge_requests/:iid/notes/:note_id', role: 'Reporter', source: 'lib/api/notes.rb (author may edit)', use: 'edit the summary in place', without: 'review fails closed' },
  { route: 'POST /projects/:id/statuses/:sha', role: 'Developer', source: 'lib/api/commit_statuses.rb (`create_commit_status`)', use: 'the `tierguard` commit status', without: 'nothing is posted (nothing can block the merge); an error-level log line says so' },
  { route: 'GET /projects/:id/external_status_checks', role: 'Maintainer', source: 'ee/lib/api/status_checks.rb (`admin_project`)', use: 'find the External Status Check named `tierguard` (Ultimate)', without: 'the status check is not answered (logged); the commit status still blocks' },
  { route: 'POST /projects/:id/merge_requests/:iid/status_check_responses', role: 'Developer', source: 'ee/lib/api/status_checks.rb', use: 'answer the External Status Check', without: 'not answered (logged)' },
  { route: 'GET /projects', role: 'any', source: 'lib/api/projects.rb (`membership=true&min_access_level=30`: the projects the user has a role in)', use: 'catch-up: the projects whose open MRs tierguard may review', without: 'only projects it got webhooks for are caught up' },
  { route: 'GET /projects/:id/merge_requests', role: 'Reporter', source: 'lib/api/merge_requests.rb (`read_merge_request`)', use: 'catch-up: open MRs updated within the lookback', without: 'that project is not caught up (logged)' },
  { route: 'GET /projects/:id/repository/commits/:sha/statuses', role: 'Reporter', source: 'lib/api/commit_statuses.rb (`read_commit_status`)', use: 'catch-up: does the head sha already have a final `tierguard` status', without: 'that project is not caught up (logged)' },
  { route: 'GET /projects/:id/runners, GET /runners/:id', role: 'Maintainer', source: 'lib/api/ci/runners.rb (`read_runners`)', use: 'live runner checks', without: 'runner checks reported as skipped (not verified)' },
  { route: 'GET /projects/:id/protected_environments', role: 'Maintainer', source: 'ee/lib/api/protected_environments.rb (`admin_protected_environments`)', use: 'live environment checks (Premium)', without: 'skipped (not verified)' },
  { route: 'GET /projects/:id/variables', role: 'Maintainer', source: 'lib/api/ci/variables.rb (`admin_cicd_variables`)', use: 'live variable checks (values are never read)', without: 'skipped (not verified)' },
  { route: 'GET /groups/:id/variables', role: 'group Owner', source: 'lib/api/ci/group_variables.rb, app/policies/group_policy.rb (`admin_cicd_variables` in the owner block)', use: 'group variables in the live variable checks', without: 'that part is skipped (not verified)' },
  // tierguard audit (src/gitlab/org.ts): a group-wide read, with the token of whoever runs it.
  { route: 'GET /groups/:id, GET /groups/:id/descendant_groups, GET /groups/:id/projects', role: 'Guest', source: 'lib/api/groups.rb (`read_group`)', use: 'audit: the projects of a group, recursively', without: 'the audit stops with the reason' },
  { route: 'GET /groups/:id/runners', role: 'group Owner', source: 'lib/api/ci/runners.rb (`read_group_runners` is in group_policy.rb\'s owner block)', use: 'audit: group runners', without: 'listed in the report as not read (403), never as "no runners"' },
  { route: 'GET /runners/all', role: 'administrator', source: 'lib/api/ci/runners.rb (administrators only)', use: 'audit: instance runners', without: 'instance runners listed as not read' },
  { route: 'GET /projects/:id/issues, POST /projects/:id/issues, PUT /projects/:id/issues/:issue_iid', role: 'Reporter', source: 'lib/api/issues.rb (`create_issue` Guest+, `update_issue` Reporter+ or author)', use: 'audit `--issue`: one report issue kept up to date', without: 'the audit exits with the reason; the report files are still written' },
];

/** The README's table (between `<!-- token-roles:start -->` and `<!-- token-roles:end -->`). */
function routesMarkdown(): string {
  const rows = ROUTES.map((r) => `| \`${r.route}\` | ${r.role} | ${r.use} | ${r.without} |`);
  return ['| GitLab route | least role | what for | without it |', '|---|---|---|---|', ...rows].join('\n');
}

const START = '<!-- token-roles:start (generated by `npm run docs:rules` from src/gitlab/routes.ts) -->';
const END = '<!-- token-roles:end -->';

/** The README with its token-roles table replaced by `table`. */
export function replaceRoutesTable(readme: string, table: string = routesMarkdown()): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README.md has no token-roles markers');
  return `${readme.slice(0, a + START.length)}\n${table}\n${readme.slice(b)}`;
}
