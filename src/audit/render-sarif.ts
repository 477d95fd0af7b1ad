/**
 * SARIF per project: the project's pipeline findings and the audit problems that point into it
 * (a deploy job without a protected environment; a job that lands on a mixed-trust runner), one
 * SARIF 2.1.0 log each, built by the same renderer as `tierguard lint --format sarif`.
 */
import { fingerprintOf, type Finding } from '../findings/finding.js';
import { renderSarif } from '../findings/render/sarif.js';
import { SourceFiles } from '../findings/sources.js';
import type { RuleMeta } from '../findings/rule-meta.js';
import type { AuditReport } from './types.js';

/** `acme/platform/images` → `acme__platform__images.sarif` */
export function sarifFileName(project: string): string {
  return `${project.replace(/[^A-Za-z0-9._-]+/g, '__')}.sarif`;
}

function projectFindings(r: AuditReport, project: string): Finding[] {
  const p = r.projects.find((x) => x.path === project);
  if (!p) return [];
  const point = (file: string, line: number, column = 1) => ({ file, line, column, endLine: line, endColumn: column });
  const out: Finding[] = p.findings.map((f) => ({
    ruleId: f.ruleId,
    severity: f.severity,
    blocking: f.severity === 'error',
    message: f.message,
    location: point(f.file, f.line, f.column),
    ...(f.job ? { job: f.job } : {}),
    keyPath: [],
    fingerprint: f.fingerprint,
  }));
  for (const prob of r.problems) {
    const here = prob.evidence.filter((e) => e.project === project && e.file && e.line);
    for (const e of here) {
      const ruleId = `audit-${prob.kind}`;
      out.push({
        ruleId,
        severity: prob.severity,
        blocking: prob.severity === 'error',
        message: `${prob.message} (${e.detail})`,
        location: point(e.file!, e.line!),
        ...(e.job ? { job: e.job } : {}),
        keyPath: [],
        fingerprint: fingerprintOf({ ruleId, file: e.file!, job: e.job, keyPath: [], discriminator: prob.id }),
      });
    }
  }
  return out;
}

export function renderProjectSarifs(r: AuditReport, rules: readonly RuleMeta<unknown>[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of r.projects) {
    if (p.status !== 'audited') continue;
    const findings = projectFindings(r, p.path);
    const used = new Set(findings.map((f) => f.ruleId));
    out.set(p.path, renderSarif({ findings, sources: new SourceFiles(), rules: rules.filter((m) => used.has(m.id)), toolVersion: r.tool.version }));
  }
  return out;
}
