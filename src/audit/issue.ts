/**
 * `--issue PROJECT`: one GitLab issue per audited group, created once and edited afterwards. The
 * issue is found by the hidden marker in its description among the issues this token's user
 * opened (GET /projects/:id/issues?author_id=&search=), and an edit is skipped when nothing but
 * the run id, time and call counts changed (Renovate's `ensureComment`).
 */
import type { GitLabOrgApi } from '../gitlab/org.js';
import { auditMarker } from './render-markdown.js';
import type { AuditReport } from './types.js';

export interface IssueOutcome {
  action: 'created' | 'updated' | 'unchanged';
  iid: number;
  webUrl: string | null;
}

/** The description without what changes on every run. */
function stableBody(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('Run `') && !l.startsWith('<sub>'))
    .join('\n');
}

function auditIssueTitle(r: AuditReport): string {
  return `tierguard audit: ${r.group} (${r.summary.problems.errors} errors, ${r.summary.problems.warnings} warnings)`;
}

export async function upsertAuditIssue(org: GitLabOrgApi, project: string, report: AuditReport, body: string): Promise<IssueOutcome> {
  const marker = auditMarker(report.group);
  if (!body.includes(marker)) throw new Error('the issue body must carry the audit marker');
  const me = await org.currentUser();
  const title = auditIssueTitle(report);
  const found = (await org.findIssues(project, 'tierguard:audit', me.id)).find((i) => i.authorId === me.id && i.description.includes(marker));
  if (found) {
    if (found.title === title && stableBody(found.description) === stableBody(body)) return { action: 'unchanged', iid: found.iid, webUrl: found.webUrl };
    const updated = await org.updateIssue(project, found.iid, title, body);
    return { action: 'updated', iid: updated.iid, webUrl: updated.webUrl };
  }
  const created = await org.createIssue(project, title, body);
  return { action: 'created', iid: created.iid, webUrl: created.webUrl };
}
