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

/**
 * Credential-like variable names (policy `secretVariables`): a name matches when it (or its
 * upper-case form) matches a pattern and no `!pattern` exclusion (`!*PUBLIC_KEY`, `!*CACHE_KEY*`).
 */
export function matchesNamePatterns(name: string, patterns: readonly string[]): boolean {
  const up = name.toUpperCase();
  let hit = false;
  for (const p of patterns) {
    if (p.startsWith('!')) continue;
    if (globToRegExp(p).test(name) || globToRegExp(p).test(up)) {
      hit = true;
      break;
    }
  }
  if (!hit) return false;
  for (const p of patterns) if (p.startsWith('!') && (globToRegExp(p.slice(1)).test(name) || globToRegExp(p.slice(1)).test(up))) return false;
  return true;
}
