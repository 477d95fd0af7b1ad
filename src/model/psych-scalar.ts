/**
 * Plain (unquoted, untagged) YAML scalars as GitLab reads them: Ruby's Psych, YAML 1.1, through
 * `YAML.safe_load` with only `Symbol` (and `!reference`) permitted
 * (`lib/gitlab/config/loader/yaml.rb`, `lib/gitlab/ci/config/yaml/loader.rb`). This mirrors
 * `Psych::ScalarScanner#tokenize` (`ruby/psych` `lib/psych/scalar_scanner.rb`, legacy integers:
 * GitLab does not ask for `strict_integer`), which differs from the `yaml` package's YAML 1.1
 * schema in ways a rule can see:
 * - a float needs a `.` and an exponent needs its sign: `1e3` and `1.5e3` are strings, `1.5e+3` is
 *   1500.0; a float prints as Ruby prints it (`1.0`, `1.0e+20`), so `VERSION: 1.0` is `"1.0"` to
 *   `$VERSION == "1.0"`, not `"1"`;
 * - integers may hold commas (`1,000` is 1000) but `08` and `09` are strings;
 * - a sexagesimal number has at most three parts and is read as hours, minutes, seconds
 *   (`1:30` is 5400);
 * - booleans and null in any case (`yEs`, `NULL`), but `y` and `n` are strings;
 * - `:name` is a Symbol (its name, when GitLab reads it as text);
 * - a date or a time is a `Date` or `Time`, classes `safe_load` refuses: GitLab rejects the whole
 *   file ("Tried to load unspecified class: Date").
 * Ruby's regular expressions anchor `^` and `$` at line breaks: the `m` flag below where a text
 * can hold one (only the first branch sees such texts).
 */

/** What a plain scalar is: a value, with Ruby's `to_s` of it where JavaScript's `String()` differs. */
export type PsychScalar =
  | { value: string | boolean | null; text?: undefined }
  | { value: number; text?: string }
  /** A `Date` or `Time`: GitLab's loader refuses the file. */
  | { refused: 'Date' | 'Time' };

const TIME = /^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|[ \t\n\v\f\r]+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:[ \t\n\v\f\r]*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$/;
const DATE = /^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$/;
const FLOAT = /^[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?$/;
const INTEGER_LEGACY = /^(?:[-+]?0b[_,]*[0-1][0-1_,]*|[-+]?0[_,]*[0-7][0-7_,]*|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[_,]*[0-9a-fA-F][0-9a-fA-F_,]*)$/;
/** `^[^\d.:-]?[[:alpha:]_\s!@#$%\^&*(){}<>|/\\~;=]+`: text that starts like a word (Ruby's `\s`, `[[:alpha:]]`). */
const WORDLIKE = /^[^0-9.:-]?[\p{Alphabetic}_ \t\n\v\f\r!@#$%^&*(){}<>|/\\~;=]+/mu;
const SEXAGESIMAL_INT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}$/;
const SEXAGESIMAL_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}\.[0-9_]*$/;

/** A plain scalar Psych leaves a string. */
const asString = (value: string): PsychScalar => ({ value });

/** The value Psych gives a plain scalar's text. */
export function psychScalar(s: string): PsychScalar {
  if (s === '') return { value: null };
  if (WORDLIKE.test(s) || s.includes('\n')) {
    // Ruby counts characters (code points), not UTF-16 units: a surrogate pair is one.
    if (s.length > 5 && (s.length > 10 || s.length - (s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0) > 5)) return asString(s);
    if (/^[^ytonf~]/im.test(s)) return asString(s);
    if (s === '~' || /^null$/im.test(s)) return { value: null };
    if (/^(?:yes|true|on)$/im.test(s)) return { value: true };
    if (/^(?:no|false|off)$/im.test(s)) return { value: false };
    return asString(s);
  }
  if (TIME.test(s)) return { refused: 'Time' };
  if (DATE.test(s)) return { refused: 'Date' };
  if (/^\+?\.inf$/i.test(s)) return number(Infinity);
  if (/^-\.inf$/i.test(s)) return number(-Infinity);
  if (/^\.nan$/i.test(s)) return number(NaN);
  if (/^:./.test(s)) {
    const quoted = /^:(["'])(.*)\1/.exec(s);
    return asString(quoted ? quoted[2]!.replace(/^:/, '') : s.slice(1));
  }
  if (SEXAGESIMAL_INT.test(s)) {
    // Psych weighs the parts as if there were three (`1:30` is 1 h 30 min), signs per part.
    if (s.length > MAX_EXACT_DIGITS) return asWritten(s);
    let total = 0n;
    s.split(':').forEach((n, e) => (total += BigInt(rubyToI(n)) * 60n ** BigInt(Math.abs(e - 2))));
    return integer(total);
  }
  if (SEXAGESIMAL_FLOAT.test(s)) {
    let total = 0;
    s.split(':').forEach((n, e) => (total += rubyToF(n) * 60 ** Math.abs(e - 2)));
    return number(total);
  }
  if (FLOAT.test(s)) {
    if (/^[-+]?\.$/.test(s)) return asString(s);
    // `Float(string.delete(',_').gsub(/\.([Ee]|$)/, '\1'))`
    const f = rubyFloat(s.replace(/[,_]/g, '').replace(/\.([Ee]|$)/, '$1'));
    return f === undefined ? asString(s) : number(f);
  }
  if (INTEGER_LEGACY.test(s)) {
    const t = s.replace(/[,_]/g, '');
    return t.length > MAX_EXACT_DIGITS ? asWritten(t) : integer(rubyInteger(t));
  }
  return asString(s);
}

/**
 * Integers are exact (BigInt) up to this many characters. Past it, converting between bases takes
 * time that grows faster than the text (about a second for 2 million digits, and a CI file may be
 * 2 MB): such a number keeps its value as a double and its text as written, commas and
 * underscores removed, instead of Ruby's `to_s`. No real configuration writes one.
 */
const MAX_EXACT_DIGITS = 400;

function asWritten(t: string): PsychScalar {
  // A double of a decimal text (Infinity past 1e308); NaN for another base or hours:minutes.
  return { value: /^[-+]?(?:0|[1-9][0-9]*)$/.test(t) ? Number(t) : NaN, text: t };
}

/** `Integer(text)` for what INTEGER_LEGACY matched (commas and underscores removed): `0b`, `0x`, a leading `0` is octal. */
function rubyInteger(t: string): bigint {
  const negative = t.startsWith('-');
  const body = t.replace(/^[-+]/, '');
  const v = body.startsWith('0b') ? BigInt(body) : body.startsWith('0x') ? BigInt(body) : body.length > 1 && body.startsWith('0') ? BigInt('0o' + body.slice(1)) : BigInt(body);
  return negative ? -v : v;
}

/** `String#to_i` of a part Psych's sexagesimal patterns matched: its leading integer, underscores between digits. */
function rubyToI(t: string): string {
  const m = /^[-+]?[0-9]+(?:_[0-9]+)*/.exec(t);
  return m ? m[0].replace(/_/g, '') : '0';
}

/** `String#to_f` of such a part (digits, underscores between digits, at most one `.`). */
function rubyToF(t: string): number {
  const m = /^[-+]?[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?/.exec(t);
  return m ? Number(m[0].replace(/_/g, '')) : 0;
}

/** `Float(text)` for the digits FLOAT leaves (`1.5`, `.5`, `1e+5`), or undefined where Ruby raises. */
function rubyFloat(t: string): number | undefined {
  return /^[-+]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(t) ? Number(t) : undefined;
}

function number(x: number): PsychScalar {
  const text = rubyFloatToS(x);
  return text === String(x) ? { value: x } : { value: x, text };
}

function integer(x: bigint): PsychScalar {
  const value = Number(x);
  const text = x.toString();
  return text === String(value) ? { value } : { value, text };
}

/**
 * Ruby's `Float#to_s` (`numeric.c`, `flo_to_s`): the shortest digits that read back, as
 * `1234.5`, `1.0` (a whole number keeps `.0`), `0.0001`; from 10^16 up and below 10^-4 as
 * `1.0e+16`, `1.5e-05`; `Infinity`, `-Infinity`, `NaN`.
 */
export function rubyFloatToS(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // The shortest round-trip digits and the decimal exponent, from JavaScript's own shortest form.
  const [mantissa = '', exp = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const decpt = Number(exp) + 1; // the value is 0.DIGITS × 10^decpt
  if (decpt > 0 && decpt <= 16) {
    if (digits.length <= decpt) return `${sign}${digits.padEnd(decpt, '0')}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  if (decpt <= 0 && decpt > -4) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  const e = decpt - 1;
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}
