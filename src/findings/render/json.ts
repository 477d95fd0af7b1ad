import { summarize } from '../finding.js';
import { isBlocking, maskDeep, ordered, toJson } from './common.js';
import type { RenderInput } from './types.js';

interface JsonFinding {
  ruleId: string;
  severity: 'error' | 'warning';
  blocking: boolean;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  job: string | null;
  fingerprint: string;
  /** Present only when the rule gives them: small facts behind the message (full variable lists). */
  details?: Record<string, string | string[]>;
  /** Present only on a finding silenced by a policy exception or an inline comment. */
  suppressed?: { kind: 'exception' | 'inline'; reason: string };
}

interface JsonReport {
  findings: JsonFinding[];
  /** `errors` / `warnings` exclude suppressed findings, which are counted in `suppressed`. */
  summary: { errors: number; warnings: number; blocking: number; suppressed: number };
}

/** The CLI's JSON shape (SPEC "CLI"), every string masked, 2-space indent, trailing newline. */
export function renderJson(input: RenderInput): string {
  const s = summarize(input.findings);
  const report: JsonReport = {
    findings: ordered(input.findings).map((f) => {
      const item: JsonFinding = {
        ruleId: f.ruleId,
        severity: f.severity,
        blocking: isBlocking(f),
        message: f.message,
        file: f.location.file,
        line: f.location.line,
        column: f.location.column,
        endLine: f.location.endLine,
        endColumn: f.location.endColumn,
        job: f.job ?? null,
        fingerprint: f.fingerprint,
      };
      if (f.details) item.details = f.details;
      if (f.suppressed) item.suppressed = { kind: f.suppressed.kind, reason: f.suppressed.reason };
      return item;
    }),
    summary: { errors: s.errors, warnings: s.warnings, blocking: s.blocking, suppressed: s.suppressed },
  };
  return toJson(maskDeep(report, input.sources));
}
