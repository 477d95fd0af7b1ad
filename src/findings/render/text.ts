import { summarize, type Finding } from '../finding.js';
import type { SourceLocation } from '../../model/location.js';
import type { SourceFiles } from '../sources.js';
import { ordered, suppressionLabel } from './common.js';
import type { RenderInput } from './types.js';

/**
 * Compiler-like text (gcc / actionlint style):
 *
 *     .gitlab-ci.yml:12:5: error: deploy job can run in merge requests [deploy-unprotected-ref]
 *        12 |     environment: production
 *           |     ^~~~~~~~~~~
 *       .gitlab-ci.yml:8:7: note: this rule lets merge request pipelines run it
 *       fix: add `if: $CI_COMMIT_REF_PROTECTED == "true"` to the job's rules
 *     1 error (1 blocking), 0 warnings, 0 suppressed
 */
export function renderText(input: RenderInput): string {
  const c = palette(input.color === true);
  const { sources } = input;
  const clean = (s: string) => escapeControls(sources.maskText(s));
  const out: string[] = [];

  for (const f of ordered(input.findings)) {
    const word = f.suppressed ? 'note' : f.severity;
    const colour = f.suppressed ? c.note : f.severity === 'error' ? c.error : c.warning;
    let message = clean(f.message);
    if (f.suppressed) {
      message += ` (suppressed by ${suppressionLabel(f.suppressed)}: ${clean(f.suppressed.reason)})`;
    }
    out.push(
      `${c.bold(clean(locationText(f.location)))}: ${colour(word)}: ${message} ${c.dim(`[${clean(f.ruleId)}]`)}`,
    );
    out.push(...snippet(sources, f.location, c));
    for (const r of f.related ?? []) {
      out.push(`  ${c.bold(clean(locationText(r.location)))}: ${c.note('note')}: ${clean(r.message)}`);
    }
    if (f.fix) out.push(`  ${c.fix('fix')}: ${clean(f.fix.description)}`);
  }

  for (const d of input.diagnostics ?? []) out.push(`${c.note('note')}: ${clean(d)}`);
  out.push(summaryLine(input.findings));
  return out.join('\n') + '\n';
}

/** `N errors (M blocking), K warnings, S suppressed`, or `no findings`. */
export function summaryLine(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings';
  const s = summarize(findings);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(s.errors, 'error')} (${s.blocking} blocking), ${plural(s.warnings, 'warning')}, ${s.suppressed} suppressed`;
}

function locationText(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** The (masked) source line under a gutter and a caret line marking the range's columns. */
function snippet(sources: SourceFiles, loc: SourceLocation, c: Palette): string[] {
  const raw = sources.line(loc.file, loc.line);
  if (raw === undefined) return [];
  const src = escapeControls(raw, true);
  const num = String(loc.line);
  const width = Math.max(4, num.length);
  const marks = caret(src, loc);
  return [
    ` ${num.padStart(width)} | ${src}`,
    ` ${' '.repeat(width)} | ${marks.padding}${c.caret(marks.marks)}`,
  ];
}

/**
 * The caret for a range on `line`: padding copies tabs from the source (so the caret lines up
 * whatever the terminal's tab width) and turns every other character into a space; `^` marks
 * the first column and `~` the rest of the range. A range continuing on later lines is marked
 * to the end of the first line's text. Columns are clamped to the (masked) line, so a masked
 * secret that is shorter than the original value never pushes the caret past the text.
 */
export function caret(src: string, loc: SourceLocation): { padding: string; marks: string } {
  const start = Math.min(Math.max(loc.column - 1, 0), src.length);
  let end: number;
  if (loc.endLine > loc.line) end = src.trimEnd().length;
  else if (loc.endLine < loc.line) end = start + 1;
  else end = Math.min(loc.endColumn - 1, src.length);
  if (end <= start) end = start + 1;
  const padding = src.slice(0, start).replace(/[^\t]/g, ' ');
  return { padding, marks: '^' + '~'.repeat(end - start - 1) };
}

/**
 * Terminal-safe text: C0/C1 controls (ESC, CR, …) and bidi overrides from untrusted YAML
 * cannot drive the terminal or reorder what a reviewer sees. In source lines each is replaced
 * by one character (keeping caret columns aligned) and tabs are kept; in messages they are
 * shown as `\xNN` / `\uNNNN` escapes.
 */
export function escapeControls(text: string, keepColumns = false): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\t/g, (ch) => {
    if (ch === '\t') return keepColumns ? '\t' : ' ';
    if (keepColumns) return '\ufffd';
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

type Paint = (s: string) => string;
interface Palette {
  bold: Paint;
  dim: Paint;
  error: Paint;
  warning: Paint;
  note: Paint;
  caret: Paint;
  fix: Paint;
}

function palette(color: boolean): Palette {
  const sgr = (code: string): Paint => (color ? (s) => `\u001b[${code}m${s}\u001b[0m` : (s) => s);
  return {
    bold: sgr('1'),
    dim: sgr('2'),
    error: sgr('1;31'),
    warning: sgr('1;33'),
    note: sgr('1;36'),
    caret: sgr('1;32'),
    fix: sgr('32'),
  };
}
