/**
 * fnmatch-style patterns as GitLab uses them for protected ref names and tierguard policy
 * patterns: `*` matches any run of characters (including `/`), `?` one character; matching
 * is case-sensitive and anchored. (Protected branch wildcards:
 * `app/models/protected_ref.rb` → `RefMatcher`, which turns `*` into `.*?`.)
 */
import { BoundedMemo } from './bounded-memo.js';

// Patterns come from policies and from GitLab's protected refs of every project an audit reads.
const cache = new BoundedMemo<RegExp>(10_000, 1_000_000);

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  re = new RegExp('^' + globBody(pattern) + '$');
  cache.set(pattern, re);
  return re;
}

/** The regular expression source of one pattern, unanchored. */
function globBody(pattern: string): string {
  // Every special character escaped but `*` and `?` (not in the class), which then become `.*` and `.`.
  return pattern.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
}

export function matchesAny(value: string, patterns: readonly string[]): boolean {
  for (const p of patterns) if (globToRegExp(p).test(value)) return true;
  return false;
}

/**
 * Credential-like variable names (policy `secretVariables`): a name matches when it (or its
 * upper-case form) matches a pattern and no `!pattern` exclusion (`!*PUBLIC_KEY`, `!*CACHE_KEY*`).
 */
export function matchesNamePatterns(name: string, patterns: readonly string[]): boolean {
  let m = namePatterns.get(patterns);
  if (!m) namePatterns.set(patterns, (m = compileNamePatterns(patterns)));
  const up = name.toUpperCase();
  return (m.include.test(name) || m.include.test(up)) && !(m.exclude.test(name) || m.exclude.test(up));
}

/**
 * A pattern list as two expressions, its patterns and its `!` exclusions, each the alternation
 * of the patterns (one test of a name instead of one per pattern). Kept by the list itself: a
 * policy's lists are built once (src/policy/merge.ts makes new ones) and never changed.
 */
const namePatterns = new WeakMap<readonly string[], { include: RegExp; exclude: RegExp }>();
function compileNamePatterns(patterns: readonly string[]): { include: RegExp; exclude: RegExp } {
  const any = (ps: string[]) => (ps.length === 0 ? /(?!)/ : new RegExp(`^(?:${ps.map(globBody).join('|')})$`));
  return {
    include: any(patterns.filter((p) => !p.startsWith('!'))),
    exclude: any(patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1))),
  };
}
