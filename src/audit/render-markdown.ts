/**
 * The audit as Markdown that fits a GitLab issue: summary, problems with evidence, the plan
 * (runners, projects, privileged exceptions), progress against the baseline, the inventory, and
 * what the token could not see. A hidden marker names the group, so `--issue` finds and edits the
 * same issue on every run (like the MR summary note).
 */
import type { AuditProblem, AuditReport, Evidence, ProjectAction, SettingChange } from './types.js';

/** GitLab's issue description limit is 1 048 576 characters (app/models/concerns/issuable.rb). */
const ISSUE_MAX = 1_000_000;

export function auditMarker(group: string): string {
  return `<!-- tierguard:audit group=${group.replace(/-->/g, '')} -->`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const tick = (s: string): string => '`' + s.replace(/`/g, "'") + '`';
const list = (xs: readonly string[]): string => (xs.length ? xs.map(tick).join(', ') : '—');
const fmt = (v: unknown): string => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

function evidenceLine(e: Evidence): string {
  const where = [e.project, e.job && tick(e.job), e.context && `(${e.context})`, e.file && `${e.file}${e.line ? `:${e.line}` : ''}`].filter(Boolean).join(' ');
  return `  - ${where ? `${where}: ` : ''}${e.detail}`;
}

function problemBlock(p: AuditProblem): string {
  return [`- **${p.severity}** \`${p.kind}\` — ${p.message}`, ...p.evidence.map(evidenceLine)].join('\n');
}

function changeText(c: SettingChange): string {
  return `${tick(c.setting)} ${fmt(c.from)} → **${fmt(c.to)}**${c.where === 'config' ? ' (config.toml)' : ''}`;
}

function actionText(a: ProjectAction): string {
  switch (a.kind) {
    case 'retag':
      return `re-tag ${tick(a.job)}: ${list(a.from)} → ${list(a.to)} (${a.why})`;
    case 'rerule':
      return `re-rule ${tick(a.job)}: ${a.why}; ${a.suggestion}`;
    case 'protect-environment':
      return `protect environment ${tick(a.environment)} (deployed by ${tick(a.job)}; ${a.why})`;
    case 'protect-branch':
    case 'protect-tag':
      return `protect ${a.kind === 'protect-tag' ? 'tags' : 'branch'} ${tick(a.ref)} (relied on by ${tick(a.job)}; ${a.why})`;
  }
}

export function renderAuditMarkdown(r: AuditReport, opts: { maxLength?: number } = {}): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(auditMarker(r.group));
  out.push(`## tierguard audit: ${tick(r.group)}`);
  out.push('');
  out.push(
    `${s.projects.total} projects (${s.projects.audited} audited, ${s.projects.noCi} without CI, ${s.projects.errors} unreadable) · ` +
      `${s.runners.total} runners (${s.runners.instance} instance, ${s.runners.group} group, ${s.runners.project} project) · ${s.jobs} jobs · ` +
      `**${s.problems.errors} errors, ${s.problems.warnings} warnings**`,
  );
  out.push('');
  out.push(`Run \`${r.runId}\`, ${r.generatedAt}, tierguard ${r.tool.version}.`);
  if (r.progress) {
    const p = r.progress;
    out.push('');
    out.push(`**Progress** since ${p.baseline.generatedAt}: ${p.resolved.length} resolved, ${p.added.length} new, ${p.remaining} remaining.`);
    for (const x of p.resolved.slice(0, 20)) out.push(`- resolved: \`${x.kind}\` — ${x.message}`);
    for (const x of p.added.slice(0, 20)) out.push(`- new: \`${x.kind}\` — ${x.message}`);
  }
  out.push('');
  out.push('### Problems');
  out.push('');
  if (r.problems.length === 0) out.push('None: every runner serves one trust tier, and every deploy job is protected.');
  for (const p of r.problems) out.push(problemBlock(p));
  out.push('');
  out.push('### Rollout plan');
  out.push('');
  if (r.plan.runners.length) {
    out.push('#### Runners');
    out.push('');
    out.push('| runner | tier it should serve | changes |');
    out.push('|---|---|---|');
    for (const rp of r.plan.runners) {
      out.push(`| #${rp.runner} ${cell(rp.description ?? '')} | ${rp.tier} | ${cell(rp.changes.map(changeText).join('; ') || 'none (move the jobs, see below)')} |`);
    }
    out.push('');
  }
  if (r.plan.projects.length) {
    out.push('#### Projects');
    out.push('');
    for (const pp of r.plan.projects) {
      out.push(`- ${tick(pp.project)}`);
      for (const a of pp.actions) out.push(`  - ${actionText(a)}`);
    }
    out.push('');
  }
  if (r.plan.exceptions.length) {
    out.push('#### Privileged builds to review');
    out.push('');
    for (const e of r.plan.exceptions) {
      out.push(`- runner #${e.runner} ${e.description ? tick(e.description) : ''}: ${e.why}`);
      for (const j of e.jobs.slice(0, 20)) out.push(`  - ${j.project} ${tick(j.job)} (${j.contexts.join(', ')})`);
    }
    out.push('');
  }
  if (!r.plan.runners.length && !r.plan.projects.length && !r.plan.exceptions.length) out.push('Nothing to change.\n');
  out.push('### Runner inventory');
  out.push('');
  out.push('| runner | kind | tags | untagged | protected | executor | tier (hint → proposed) | projects | jobs (MR / deploy) |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const x of r.runners) {
    const a = x.assessment;
    out.push(
      `| #${x.id} ${cell(x.description ?? '')}${x.paused ? ' (paused)' : ''}${x.detailsReadable ? '' : ' (details not readable)'} | ${x.kind} | ${cell(list(x.tags))} | ${x.runUntagged ? 'yes' : 'no'} | ${x.accessLevel === 'ref_protected' ? 'yes' : 'no'} | ${x.config?.executor ?? '?'}${x.config?.privileged ? ', privileged' : ''} | ${a.declaredTier} → ${a.proposedTier} | ${a.projects} | ${a.jobs} (${a.reach.mr} / ${a.reach.deployProduction + a.reach.deployStaging}) |`,
    );
  }
  out.push('');
  if (r.skipped.length) {
    out.push('### Not visible to this token');
    out.push('');
    for (const x of r.skipped.slice(0, 50)) out.push(`- ${x.what}: ${x.reason}`);
    if (r.skipped.length > 50) out.push(`- … and ${r.skipped.length - 50} more`);
    out.push('');
  }
  out.push(`<sub>${r.stats.gitlabCalls} GitLab calls (${r.stats.callsPerProject} per project), ${Math.round(r.stats.durationMs / 1000)} s.</sub>`);
  let text = out.join('\n') + '\n';
  const max = opts.maxLength ?? ISSUE_MAX;
  if (text.length > max) {
    const note = `\n\n… truncated at ${max} characters: the full report is in the JSON and HTML outputs.\n`;
    text = text.slice(0, max - note.length) + note;
  }
  return text;
}
