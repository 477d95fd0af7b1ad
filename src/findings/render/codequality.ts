import type { Finding } from '../finding.js';
import { isBlocking, maskDeep, ordered, relativePath, suppressionLabel, toJson } from './common.js';
import type { RenderInput } from './types.js';

/** Severity values GitLab accepts (doc/ci/testing/code_quality.md, "Implement a custom tool"). */
export type CodeQualitySeverity = 'info' | 'minor' | 'major' | 'critical' | 'blocker';

interface CodeQualityIssue {
  description: string;
  check_name: string;
  fingerprint: string;
  severity: CodeQualitySeverity;
  location: { path: string; lines: { begin: number; end: number } };
}

/**
 * blocking error → blocker, other error → critical, warning → minor; a suppressed finding is
 * kept (counted, not hidden) as `info`.
 */
export function codeQualitySeverity(f: Finding): CodeQualitySeverity {
  if (f.suppressed) return 'info';
  if (f.severity === 'error') return isBlocking(f) ? 'blocker' : 'critical';
  return 'minor';
}

/**
 * GitLab Code Quality report (`artifacts:reports:codequality`): a JSON array of Code Climate
 * issues using the subset GitLab reads — description, check_name, fingerprint, severity,
 * location.path, location.lines.begin (doc/ci/testing/code_quality.md). GitLab shows findings
 * with identical fingerprints as one entry, so a fingerprint that repeats in this report gets
 * a `-2`, `-3`… suffix (in the stable sort order, so re-runs keep the same suffixes).
 */
export function renderCodeQuality(input: RenderInput): string {
  const used = new Set<string>();
  const issues: CodeQualityIssue[] = ordered(input.findings).map((f) => {
    let fingerprint = f.fingerprint;
    for (let n = 2; used.has(fingerprint); n++) fingerprint = `${f.fingerprint}-${n}`;
    used.add(fingerprint);
    let description = f.job !== undefined ? `${f.message} (job ${f.job})` : f.message;
    if (f.suppressed) {
      description += ` (suppressed by ${suppressionLabel(f.suppressed)}: ${f.suppressed.reason})`;
    }
    return {
      description,
      check_name: f.ruleId,
      fingerprint,
      severity: codeQualitySeverity(f),
      location: {
        path: relativePath(f.location.file),
        lines: { begin: Math.max(1, f.location.line), end: Math.max(1, f.location.line, f.location.endLine) },
      },
    };
  });
  return toJson(maskDeep(issues, input.sources));
}
