/**
 * fnmatch-style patterns as GitLab uses them for protected ref names and tierguard policy
 * patterns: `*` matches any run of characters (including `/`), `?` one character; matching
 * is case-sensitive and anchored. (Protected branch wildcards:
 * `app/models/protected_ref.rb` → `RefMatcher`, which turns `*` into `.*?`.)
 */
const cache = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let src = '^';
  for (const ch of pattern) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  re = new RegExp(src + '$');
  cache.set(pattern, re);
  return re;
}

export function matchesAny(value: string, patterns: readonly string[]): boolean {
  for (const p of patterns) if (globToRegExp(p).test(value)) return true;
  return false;
}
