/**
 * The job × trust-context table of the CLI (`tierguard lint --contexts`, `tierguard jobs
 * --contexts`): a renderer of the contexts' verdicts, kept out of the contexts themselves.
 */
import { CONTEXT_IDS, CONTEXT_TRUSTED, type ContextId } from '../contexts/contexts.js';
import type { Outcome } from '../contexts/reach.js';

function cellMark(o: Outcome | undefined): string {
  if (!o || o.runs === 'no') return '·';
  const manual = o.when === 'manual';
  if (o.runs === 'yes') return manual ? 'M' : '✓';
  return manual ? 'M?' : '?';
}

/** A fixed-width job × context table: ✓ runs, ? may run, · does not, M manual. */
export function renderContextTable(rows: { job: string; reach: Partial<Record<ContextId, Outcome>> }[]): string {
  const headers = ['job', ...CONTEXT_IDS.map((id) => (CONTEXT_TRUSTED[id] ? id : `${id}*`))];
  const body = rows.map((r) => [r.job, ...CONTEXT_IDS.map((id) => cellMark(r.reach[id]))]);
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => Array.from(b[i] ?? '').length)));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - Array.from(s).length));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const b of body) out.push(line(b));
  out.push('');
  out.push('✓ runs  ? may run (unknown)  · does not run  M manual  * untrusted context');
  return out.join('\n') + '\n';
}

