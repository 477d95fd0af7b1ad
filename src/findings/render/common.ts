import { sortFindings, type Finding, type Suppression } from '../finding.js';
import type { SourceFiles } from '../sources.js';
import { blank } from '../../util/table.js';

/**
 * A sorted copy: every format lists findings in the same order (file, line, column, rule, as
 * sortFindings), with ties broken by the rest of the finding so the output — and the Code
 * Quality fingerprint suffixes — do not depend on the order rules reported in.
 */
export function ordered(findings: readonly Finding[]): Finding[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const tieKey = (f: Finding) =>
    [f.fingerprint, f.suppressed ? `1${f.suppressed.kind}${f.suppressed.reason}` : '0', f.message, f.job ?? ''].join('\u0000');
  return sortFindings(
    [...findings].sort(
      (a, b) =>
        a.location.endLine - b.location.endLine ||
        a.location.endColumn - b.location.endColumn ||
        cmp(tieKey(a), tieKey(b)),
    ),
  );
}

/** A suppressed finding is kept and counted but never blocks, whatever the producer set. */
export function isBlocking(f: Finding): boolean {
  return f.blocking && !f.suppressed;
}

export function suppressionLabel(s: Suppression): string {
  return s.kind === 'exception' ? 'exception' : 'inline comment';
}

/** Repository-relative path with forward slashes and no leading `./`. */
export function relativePath(file: string): string {
  let p = file.replace(/\\/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}

/**
 * A URI reference for a file: relative paths stay relative (each segment percent-encoded so
 * `#`, `?`, spaces cannot change its meaning), absolute paths become `file://` URIs.
 */
export function fileUri(file: string): string {
  const p = relativePath(file);
  const encode = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  if (/^[A-Za-z]:\//.test(p)) return `file:///${p.slice(0, 2)}${encode(p.slice(2))}`;
  if (p.startsWith('/')) return `file://${encode(p)}`;
  return encode(p);
}

/** Every string inside a JSON-like value passed through `sources.maskText` (last defence). */
export function maskDeep<T>(value: T, sources: SourceFiles): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return sources.maskText(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out = blank<unknown>();
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
