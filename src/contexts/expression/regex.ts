/**
 * Regex translation (RE2 / Ruby syntax → JS) for `=~` / `!~`.
 *
 * GitLab builds these with `Gitlab::UntrustedRegexp::RubySyntax`
 * (`lib/gitlab/untrusted_regexp/ruby_syntax.rb`) and runs them on RE2
 * (`lib/gitlab/untrusted_regexp.rb`); `lib/gitlab/ci/pipeline/expression/lexeme/pattern.rb`
 * turns a variable's `/…/flags` value into one.
 */
import { BoundedMemo, YAML_TEXT_CHARS } from '../../util/bounded-memo.js';

import { table } from '../../util/table.js';

export type RegexTranslation = { ok: true; re: RegExp } | { ok: false; reason: string };

const POSIX_CLASSES = table<string>({
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\s',
  blank: ' \\t',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
});

const translateCache = new BoundedMemo<RegexTranslation>(5000, YAML_TEXT_CHARS);

/**
 * Translate a GitLab (RE2 via `Gitlab::UntrustedRegexp::RubySyntax`, flags prepended as
 * `(?flags)`) regex to a JS RegExp. Anything JS cannot express is reported, not thrown.
 */
export function translateRegex(source: string, flags: string): RegexTranslation {
  const key = `${flags}/${source}`;
  const hit = translateCache.get(key);
  if (hit) return hit;
  const r = doTranslate(source, flags);
  translateCache.set(key, r);
  return r;
}

function doTranslate(source: string, flagsIn: string): RegexTranslation {
  const flags = new Set(flagsIn.split('').filter(Boolean));
  let src = source;
  // Leading inline flag groups `(?i)`, `(?sm)` …
  for (;;) {
    const m = /^\(\?([imsU]+)\)/.exec(src);
    if (!m) break;
    for (const f of m[1] ?? '') flags.add(f);
    src = src.slice(m[0].length);
  }
  const ungreedy = flags.has('U');
  const multiline = flags.has('m');
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) return { ok: false, reason: 'trailing backslash' };
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 1;
        continue;
      }
      if (!inClass) {
        if (n === 'A') {
          out += multiline ? '(?<![\\s\\S])' : '^';
          i++;
          continue;
        }
        if (n === 'z') {
          out += multiline ? '(?![\\s\\S])' : '$';
          i++;
          continue;
        }
        if (n === 'Z') {
          out += '(?=\\n?(?![\\s\\S]))';
          i++;
          continue;
        }
      }
      if (n === 'h') {
        out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
        i++;
        continue;
      }
      if (n === 'p' || n === 'P') {
        // \pL → \p{L}
        if (src[i + 2] !== '{' && src[i + 2] !== undefined) {
          out += `\\${n}{${src[i + 2]}}`;
          i += 2;
          continue;
        }
      }
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
        if (m) {
          const cls = POSIX_CLASSES[m[2] ?? ''];
          if (!cls || m[1]) return { ok: false, reason: `POSIX class [:${m[1]}${m[2]}:]` };
          out += cls;
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      if (src[i + 2] === 'P' && src[i + 3] === '<') {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^\(\?[imsU-]+[:)]/.test(src.slice(i))) return { ok: false, reason: 'inline flag group inside the pattern' };
      out += c;
      continue;
    }
    if (ungreedy && (c === '*' || c === '+' || c === '?' || c === '{')) {
      let q = c;
      if (c === '{') {
        const m = /^\{\d+(,\d*)?\}/.exec(src.slice(i));
        if (!m) {
          out += c;
          continue;
        }
        q = m[0];
      } else if (c === '?' && !isQuantifierTarget(out)) {
        out += c;
        continue;
      }
      i += q.length - 1;
      if (src[i + 1] === '?') {
        out += q; // lazy in U mode → greedy
        i++;
      } else out += q + '?';
      continue;
    }
    out += c;
  }
  let jsFlags = '';
  if (flags.has('i')) jsFlags += 'i';
  if (flags.has('m')) jsFlags += 'm';
  if (flags.has('s')) jsFlags += 's';
  for (const f of flags) if (!'imsU'.includes(f)) return { ok: false, reason: `flag ${f}` };
  try {
    return { ok: true, re: new RegExp(out, jsFlags + 'u') };
  } catch {
    try {
      return { ok: true, re: new RegExp(out, jsFlags) };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }
}

function isQuantifierTarget(out: string): boolean {
  return out.length > 0 && !out.endsWith('(') && !out.endsWith('|');
}

function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * GitLab runs these regexes on RE2 (linear time); JS backtracks. A pattern with a quantified
 * group that itself contains a quantifier or an alternation (`(a+)+`, `(a|a)*`), a
 * backreference, or a huge repetition count could take exponential time on a crafted value,
 * and the YAML author controls both the pattern and the values.
 */
export function isRiskyRegex(source: string): boolean {
  if (/\\[1-9]|\\k</.test(source)) return true;
  if (/\{\s*\d{4,}/.test(source)) return true;
  const stack: { inner: boolean }[] = [];
  let inClass = false;
  let lastGroupInner = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    let closedGroup = false;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ inner: false });
    else if (c === ')') {
      lastGroupInner = stack.pop()?.inner ?? false;
      closedGroup = true;
      const outer = stack[stack.length - 1];
      if (lastGroupInner && outer) outer.inner = true;
    } else if (c === '|' || c === '*' || c === '+' || c === '{' || c === '?') {
      const group = stack[stack.length - 1];
      if (group && !(c === '?' && source[i - 1] === '(')) group.inner = true;
    }
    if (closedGroup && lastGroupInner && /[*+{]/.test(source[i + 1] ?? '')) return true;
  }
  return false;
}

/** Longest text a risky pattern is still run on (2^16 steps at worst). */
const RISKY_TEXT_LIMIT = 16;

/** Run a translated regex, or give up (`undefined`) when that could hang. */
export function safeRegexTest(re: RegExp, source: string, text: string): boolean | undefined {
  if (text.length > RISKY_TEXT_LIMIT && isRiskyRegex(source)) return undefined;
  return re.test(text);
}

/** Parse a variable's value as a regex if it has GitLab's `/…/flags` form (RubySyntax). */
export function regexFromValue(value: string): { source: string; flags: string } | undefined {
  // lexeme/pattern.rb build: gsub(%r{\\/}, '/') then RubySyntax %r{^/(?<regexp>.*)/(?<flags>[ismU]*)$}
  const m = /^\/(.*)\/([ismU]*)$/s.exec(value.replace(/\\\//g, '/'));
  return m ? { source: m[1] ?? '', flags: m[2] ?? '' } : undefined;
}

/**
 * When a regex is just an anchored literal (`/^main$/`, `/\Amain\z/`) or an anchored literal
 * prefix (`/^release\//`, `/^feature-.*$/`), say so: ref-name constraints can then decide it.
 */
export function literalShape(source: string, flags: string): { exact: string } | { prefix: string } | undefined {
  if (flags.includes('i') || flags.includes('m') || /^\(\?/.test(source) || hasTopLevelAlternation(source)) return undefined;
  let i: number;
  if (source.startsWith('^')) i = 1;
  else if (source.startsWith('\\A')) i = 2;
  else return undefined;
  let lit = '';
  for (; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === '\\') {
      const n = source[i + 1];
      if (n !== undefined && /[./\\\-_^$*+?()[\]{}|#:@=!~,&%'"<> ]/.test(n)) {
        lit += n;
        i++;
        continue;
      }
      break;
    }
    if ('.*+?()[]{}|^$'.includes(c)) break;
    lit += c;
  }
  const rest = source.slice(i);
  if (/^[*+?{]/.test(rest)) {
    // a quantifier applies to the last literal char
    return lit.length > 1 ? { prefix: lit.slice(0, -1) } : undefined;
  }
  if (rest === '$' || rest === '\\z') return { exact: lit };
  if (rest === '' || rest === '.*' || rest === '.*$' || rest === '.*\\z' || rest === '.+' || rest === '.+$') {
    return lit ? { prefix: lit } : undefined;
  }
  if (lit) return { prefix: lit }; // anything after the literal only narrows further
  return undefined;
}
