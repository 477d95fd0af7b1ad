/**
 * The audit as one self-contained HTML file (no script, no external resource: a Content
 * Security Policy forbids any): summary cards, the trust map (projects → runners → the trust
 * tiers each runner serves, as inline SVG), per-group bars, problems with evidence, the plan and
 * the inventory.
 */
import type { AuditReport } from './types.js';

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const COLORS = {
  prod: '#c62828',
  staging: '#ef6c00',
  privileged: '#6a1b9a',
  secret: '#1565c0',
  untrusted: '#9e9e9e',
  ok: '#2e7d32',
  warn: '#f9a825',
};

type Reach = 'prod' | 'staging' | 'privileged' | 'secret' | 'untrusted';
const RANK: Reach[] = ['prod', 'staging', 'privileged', 'secret', 'untrusted'];

const MAX_PROJECTS = 60;
const MAX_RUNNERS = 40;

/** The trust map: projects (left) → runners (middle) → trust tiers served (right). */
function trustMapSvg(r: AuditReport): string {
  const jobsOf = new Map(r.projects.map((p) => [p.path, new Map(p.jobs.map((j) => [j.name, j]))]));
  const edges = new Map<string, Reach>();
  const projectWeight = new Map<string, number>();
  for (const x of r.runners) {
    for (const pl of x.placements) {
      const j = jobsOf.get(pl.project)?.get(pl.job);
      if (!j) continue;
      const reach: Reach = j.deploy?.tier === 'production' ? 'prod' : j.deploy ? 'staging' : j.privileged ? 'privileged' : j.secrets.length ? 'secret' : 'untrusted';
      const key = `${pl.project}\u0000${x.id}`;
      const prev = edges.get(key);
      if (!prev || RANK.indexOf(reach) < RANK.indexOf(prev)) edges.set(key, reach);
      projectWeight.set(pl.project, (projectWeight.get(pl.project) ?? 0) + 1);
    }
  }
  const problemsOf = new Map<number, string>();
  for (const p of r.problems) if (p.runner !== undefined && problemsOf.get(p.runner) !== 'error') problemsOf.set(p.runner, p.severity);
  const runners = [...r.runners].sort((a, b) => (problemsOf.has(b.id) ? 1 : 0) - (problemsOf.has(a.id) ? 1 : 0) || b.placements.length - a.placements.length || a.id - b.id).slice(0, MAX_RUNNERS);
  const projects = [...projectWeight.keys()].sort((a, b) => projectWeight.get(b)! - projectWeight.get(a)! || a.localeCompare(b)).slice(0, MAX_PROJECTS).sort();
  const rowH = 22;
  const top = 40;
  const height = top + Math.max(projects.length, runners.length, 4) * rowH + 30;
  const width = 1000;
  const px = 10;
  const pw = 300;
  const rx = 470;
  const rw = 260;
  const tx = 760;
  const tiers: Array<{ key: string; label: string }> = [
    { key: 'mr', label: 'MRs' },
    { key: 'untrusted', label: 'unprotected' },
    { key: 'trusted', label: 'protected' },
    { key: 'deploy', label: 'deploys' },
  ];
  const py = (i: number) => top + i * rowH + rowH / 2;
  const ry = (i: number) => top + i * rowH * (Math.max(projects.length, runners.length) / Math.max(1, runners.length)) + rowH / 2;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" id="trust-map" role="img" aria-label="Trust map: which projects reach which runners, and which trust tiers each runner serves" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<text x="${px}" y="20" font-weight="bold">Projects</text><text x="${rx}" y="20" font-weight="bold">Runners</text><text x="${tx}" y="20" font-weight="bold">Trust tiers served</text>`);
  tiers.forEach((t, i) => out.push(`<text x="${tx + i * 58 + 24}" y="34" font-size="10" text-anchor="middle">${esc(t.label)}</text>`));
  const pIndex = new Map(projects.map((p, i) => [p, i]));
  const rIndex = new Map(runners.map((x, i) => [x.id, i]));
  for (const [key, reach] of edges) {
    const [project = '', id] = key.split('\u0000');
    const pi = pIndex.get(project);
    const ri = rIndex.get(Number(id));
    if (pi === undefined || ri === undefined) continue;
    const y1 = py(pi);
    const y2 = ry(ri);
    const x1 = px + pw;
    const x2 = rx;
    out.push(`<path class="edge edge-${reach}" d="M${x1},${y1} C${x1 + 80},${y1} ${x2 - 80},${y2} ${x2},${y2}" fill="none" stroke="${COLORS[reach]}" stroke-width="${reach === 'untrusted' ? 1 : 2}" stroke-opacity="0.7"><title>${esc(project)} → runner #${id}: ${reach}</title></path>`);
  }
  projects.forEach((p, i) => {
    out.push(`<g class="project"><rect x="${px}" y="${py(i) - 9}" width="${pw}" height="18" rx="3" fill="#f5f5f5" stroke="#bdbdbd"/><text x="${px + 6}" y="${py(i) + 4}">${esc(p.length > 44 ? '…' + p.slice(-43) : p)}</text></g>`);
  });
  runners.forEach((x, i) => {
    const sev = problemsOf.get(x.id);
    const stroke = sev === 'error' ? COLORS.prod : sev === 'warning' ? COLORS.warn : COLORS.ok;
    const label = `#${x.id} ${x.description ?? ''} (${x.kind}${x.accessLevel === 'ref_protected' ? ', protected' : ''})`;
    out.push(`<g class="runner" data-runner="${x.id}"><rect x="${rx}" y="${ry(i) - 9}" width="${rw}" height="18" rx="3" fill="#fff" stroke="${stroke}" stroke-width="${sev ? 2.5 : 1}"/><text x="${rx + 6}" y="${ry(i) + 4}">${esc(label.length > 40 ? label.slice(0, 39) + '…' : label)}</text><title>${esc(label)}: ${x.assessment.declaredTier} → ${x.assessment.proposedTier}</title></g>`);
    const a = x.assessment.reach;
    const served = {
      mr: a.mr > 0,
      untrusted: a.untrusted > 0 || (x.accessLevel !== 'ref_protected' && !x.paused),
      trusted: x.placements.some((pl) => pl.contexts.some((c) => c === 'default-branch' || c === 'protected-branch' || c === 'protected-tag' || c === 'schedule')),
      deploy: a.deployProduction + a.deployStaging > 0,
    };
    tiers.forEach((t, k) => {
      const on = served[t.key as keyof typeof served];
      const fill = !on ? '#eeeeee' : t.key === 'deploy' ? COLORS.prod : t.key === 'trusted' ? COLORS.secret : t.key === 'mr' ? COLORS.staging : COLORS.untrusted;
      out.push(`<rect class="tier${on ? ' on' : ''}" x="${tx + k * 58 + 4}" y="${ry(i) - 8}" width="40" height="16" rx="2" fill="${fill}"><title>${esc(t.label)}: ${on ? 'yes' : 'no'}</title></rect>`);
    });
  });
  const legendY = height - 12;
  const legend: Array<[Reach, string]> = [
    ['prod', 'production deploy'],
    ['staging', 'staging deploy'],
    ['privileged', 'privileged build'],
    ['secret', 'uses secrets'],
    ['untrusted', 'other jobs'],
  ];
  legend.forEach(([k, l], i) => out.push(`<rect x="${px + i * 150}" y="${legendY - 9}" width="12" height="12" fill="${COLORS[k]}"/><text x="${px + i * 150 + 16}" y="${legendY + 1}">${esc(l)}</text>`));
  out.push('</svg>');
  return out.join('');
}

/** Per (sub)group: projects with errors, with warnings only, clean — stacked bars. */
function groupBarsSvg(r: AuditReport): string {
  const worst = new Map<string, 'error' | 'warning'>();
  const mark = (project: string | undefined, sev: 'error' | 'warning') => {
    if (!project) return;
    if (worst.get(project) !== 'error') worst.set(project, sev);
  };
  for (const p of r.problems) {
    mark(p.project, p.severity);
    for (const e of p.evidence) if (e.project) mark(e.project, p.severity);
  }
  const groups = new Map<string, { error: number; warning: number; clean: number }>();
  for (const p of r.projects) {
    const g = groups.get(p.namespace) ?? { error: 0, warning: 0, clean: 0 };
    const w = worst.get(p.path);
    if (w === 'error') g.error++;
    else if (w === 'warning') g.warning++;
    else g.clean++;
    groups.set(p.namespace, g);
  }
  const rows = [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(0, 50);
  const max = Math.max(1, ...rows.map(([, g]) => g.error + g.warning + g.clean));
  const barW = 560;
  const h = 30 + rows.length * 26;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" id="group-bars" role="img" aria-label="Projects per group by worst problem" viewBox="0 0 900 ${h}" width="900" height="${h}" font-family="system-ui, sans-serif" font-size="12">`];
  rows.forEach(([name, g], i) => {
    const y = 10 + i * 26;
    out.push(`<text x="0" y="${y + 13}">${esc(name.length > 36 ? '…' + name.slice(-35) : name)}</text>`);
    let x = 260;
    for (const [k, color] of [
      ['error', COLORS.prod],
      ['warning', COLORS.warn],
      ['clean', COLORS.ok],
    ] as const) {
      const n = g[k];
      if (!n) continue;
      const w = (n / max) * barW;
      out.push(`<rect class="bar bar-${k}" x="${x}" y="${y}" width="${w}" height="18" fill="${color}"><title>${esc(name)}: ${n} project(s) ${k === 'clean' ? 'without problems' : `with ${k}s`}</title></rect>`);
      if (w > 18) out.push(`<text x="${x + w / 2}" y="${y + 13}" text-anchor="middle" fill="#fff">${n}</text>`);
      x += w;
    }
  });
  out.push('</svg>');
  return out.join('');
}

export function renderAuditHtml(r: AuditReport): string {
  const s = r.summary;
  const card = (label: string, value: string | number, cls = '') => `<div class="card ${cls}"><div class="v">${esc(value)}</div><div class="l">${esc(label)}</div></div>`;
  const problems = r.problems
    .map(
      (p) =>
        `<li class="problem ${p.severity}"><span class="sev">${esc(p.severity)}</span> <code>${esc(p.kind)}</code> ${esc(p.message)}<ul>${p.evidence
          .map((e) => `<li>${esc([e.project, e.job, e.context && `(${e.context})`, e.file && `${e.file}${e.line ? `:${e.line}` : ''}`].filter(Boolean).join(' '))}${e.project || e.file ? ': ' : ''}${esc(e.detail)}</li>`)
          .join('')}</ul></li>`,
    )
    .join('');
  const runnerPlan = r.plan.runners
    .map((rp) => `<tr><td>#${rp.runner} ${esc(rp.description ?? '')}</td><td>${esc(rp.tier)}</td><td>${rp.changes.map((c) => `<code>${esc(c.setting)}</code> ${esc(JSON.stringify(c.from))} → <b>${esc(JSON.stringify(c.to))}</b>${c.where === 'config' ? ' (config)' : ''}`).join('<br>') || 'move the jobs (see projects)'}</td></tr>`)
    .join('');
  const projectPlan = r.plan.projects
    .map(
      (pp) =>
        `<li><code>${esc(pp.project)}</code><ul>${pp.actions
          .map((a) => {
            switch (a.kind) {
              case 'retag':
                return `<li>re-tag <code>${esc(a.job)}</code>: ${esc(a.from.join(', ') || 'none')} → <b>${esc(a.to.join(', '))}</b> — ${esc(a.why)}</li>`;
              case 'rerule':
                return `<li>re-rule <code>${esc(a.job)}</code>: ${esc(a.why)}; ${esc(a.suggestion)}</li>`;
              case 'protect-environment':
                return `<li>protect environment <code>${esc(a.environment)}</code> (${esc(a.job)})</li>`;
              default:
                return `<li>protect ${a.kind === 'protect-tag' ? 'tags' : 'branch'} <code>${esc(a.ref)}</code> (${esc(a.job)})</li>`;
            }
          })
          .join('')}</ul></li>`,
    )
    .join('');
  const inventory = r.runners
    .map(
      (x) =>
        `<tr><td>#${x.id} ${esc(x.description ?? '')}</td><td>${esc(x.kind)}</td><td>${esc(x.tags.join(', ') || '—')}</td><td>${x.runUntagged ? 'yes' : 'no'}</td><td>${x.accessLevel === 'ref_protected' ? 'yes' : 'no'}</td><td>${esc(x.config?.executor ?? '?')}${x.config?.privileged ? ', privileged' : ''}</td><td>${esc(x.assessment.declaredTier)} → ${esc(x.assessment.proposedTier)}</td><td>${x.assessment.projects}</td><td>${x.assessment.jobs}</td></tr>`,
    )
    .join('');
  const progress = r.progress
    ? `<p class="progress">Since ${esc(r.progress.baseline.generatedAt)}: <b>${r.progress.resolved.length}</b> resolved, <b>${r.progress.added.length}</b> new, ${r.progress.remaining} remaining.</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tierguard audit: ${esc(r.group)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#212121;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e0e0e0;padding-bottom:4px}
.meta{color:#616161;font-size:13px}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #e0e0e0;border-radius:6px;padding:10px 16px;min-width:120px}.card .v{font-size:22px;font-weight:600}.card .l{font-size:12px;color:#616161}
.card.bad .v{color:${COLORS.prod}}.card.good .v{color:${COLORS.ok}}
ul.problems{padding-left:18px}li.problem{margin-bottom:8px}.sev{font-weight:600;text-transform:uppercase;font-size:11px}
li.error .sev{color:${COLORS.prod}}li.warning .sev{color:${COLORS.staging}}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
code{background:#f5f5f5;padding:0 3px;border-radius:3px}svg{max-width:100%;height:auto}
</style></head><body>
<h1>tierguard audit: <code>${esc(r.group)}</code></h1>
<div class="meta">Run ${esc(r.runId)} · ${esc(r.generatedAt)} · tierguard ${esc(r.tool.version)} · ${r.stats.gitlabCalls} GitLab calls</div>
<div class="cards">${card('projects audited', `${s.projects.audited}/${s.projects.total}`)}${card('runners', s.runners.total)}${card('jobs', s.jobs)}${card('errors', s.problems.errors, s.problems.errors ? 'bad' : 'good')}${card('warnings', s.problems.warnings)}</div>
${progress}
<h2>Trust map</h2>
<p class="meta">Lines: which projects' jobs can land on which runner (colour: the most sensitive kind of job). Right: the trust tiers each runner serves; a runner outlined in red mixes tiers.</p>
${trustMapSvg(r)}
<h2>Projects per group</h2>
${groupBarsSvg(r)}
<h2>Problems (${r.problems.length})</h2>
${r.problems.length ? `<ul class="problems">${problems}</ul>` : '<p>None: every runner serves one trust tier, and every deploy job is protected.</p>'}
<h2>Rollout plan</h2>
${runnerPlan ? `<table><tr><th>runner</th><th>tier</th><th>changes</th></tr>${runnerPlan}</table>` : '<p>No runner settings to change.</p>'}
${projectPlan ? `<ul>${projectPlan}</ul>` : ''}
${r.plan.exceptions.length ? `<h3>Privileged builds to review</h3><ul>${r.plan.exceptions.map((e) => `<li>runner #${e.runner} ${esc(e.description ?? '')}: ${esc(e.why)} (${e.jobs.map((j) => esc(`${j.project} ${j.job}`)).join(', ') || 'no job today'})</li>`).join('')}</ul>` : ''}
<h2>Runner inventory</h2>
<table><tr><th>runner</th><th>kind</th><th>tags</th><th>untagged</th><th>protected</th><th>executor</th><th>tier (hint → proposed)</th><th>projects</th><th>jobs</th></tr>${inventory}</table>
${r.skipped.length ? `<h2>Not visible to this token</h2><ul>${r.skipped.map((x) => `<li>${esc(x.what)}: ${esc(x.reason)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
