import { hasVariableRef, type VarRefOptions } from '../../model/var-refs.js';
/**
 * Credential detectors. Token formats follow the vendors' documentation: GitLab
 * `doc/security/tokens/_index.md` ("Token prefixes"), GitHub, AWS, Slack, Stripe, Google, npm,
 * PyPI, Docker Hub. Every hit is a range in the scanned text, so the caller can point at and
 * mask exactly the secret and nothing is ever copied into a message.
 */

export interface SecretHit {
  index: number;
  length: number;
  /** For messages, never the value: "GitLab personal access token (glpat-…)". */
  label: string;
}

interface TokenPattern {
  re: RegExp;
  label: string;
}

/** Known token formats. The prefix is part of the match so a hit is always the whole token. */
export const TOKENS: readonly TokenPattern[] = [
  { re: /glpat-[0-9A-Za-z_.-]{20,}/g, label: 'GitLab personal, project or group access token (glpat-…)' },
  { re: /glrt-[0-9A-Za-z_.-]{20,}/g, label: 'GitLab runner authentication token (glrt-…)' },
  { re: /GR1348941[0-9A-Za-z_-]{20,}/g, label: 'GitLab runner registration token (GR1348941…)' },
  { re: /gldt-[0-9A-Za-z_-]{20,}/g, label: 'GitLab deploy token (gldt-…)' },
  { re: /glptt-[0-9A-Za-z_-]{20,}/g, label: 'GitLab pipeline trigger token (glptt-…)' },
  { re: /glcbt-[0-9A-Za-z_-]{20,}/g, label: 'GitLab CI/CD job token (glcbt-…)' },
  { re: /glft-[0-9A-Za-z_-]{20,}/g, label: 'GitLab feed token (glft-…)' },
  { re: /glimt-[0-9A-Za-z_-]{20,}/g, label: 'GitLab incoming mail token (glimt-…)' },
  { re: /glagent-[0-9A-Za-z_-]{40,}/g, label: 'GitLab agent for Kubernetes token (glagent-…)' },
  { re: /glsoat-[0-9A-Za-z_-]{20,}/g, label: 'GitLab SCIM token (glsoat-…)' },
  { re: /gloas-[0-9A-Za-z_-]{20,}/g, label: 'GitLab OAuth application secret (gloas-…)' },
  { re: /\bgh[pousr]_[0-9A-Za-z]{36,}/g, label: 'GitHub token (ghp_…)' },
  { re: /\bgithub_pat_[0-9A-Za-z_]{22,}/g, label: 'GitHub fine-grained personal access token (github_pat_…)' },
  { re: /\bxox[baprs]-[0-9A-Za-z-]{10,}/g, label: 'Slack token (xox…-)' },
  { re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, label: 'AWS access key id (AKIA…)' },
  { re: /\b[sr]k_live_[0-9A-Za-z]{20,}/g, label: 'Stripe live secret key (sk_live_…)' },
  { re: /\bAIza[0-9A-Za-z_-]{35}/g, label: 'Google API key (AIza…)' },
  { re: /\bnpm_[0-9A-Za-z]{36}\b/g, label: 'npm access token (npm_…)' },
  { re: /\bpypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}/g, label: 'PyPI API token (pypi-…)' },
  { re: /\bdckr_pat_[0-9A-Za-z_-]{20,}/g, label: 'Docker Hub access token (dckr_pat_…)' },
  { re: /\bhooks\.slack\.com\/services\/T[0-9A-Za-z]+\/B[0-9A-Za-z]+\/[0-9A-Za-z]{20,}/g, label: 'Slack incoming webhook URL' },
];

const PLACEHOLDER = /x{6,}|X{6,}|\*{4,}|0{10,}|EXAMPLE|example|placeholder|PLACEHOLDER|changeme|CHANGEME|REPLACE|your[-_]?(token|key)|<[^>]*>|\.\.\./;

/** Obvious placeholders (`glpat-xxxxxxxxxxxxxxxxxxxx`, AWS's documented `AKIA…EXAMPLE`). */
export function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER.test(value)) return true;
  return new Set(value).size < 6;
}

/**
 * Every token format as one expression, to pass over the texts that hold none (nearly all of
 * them) with one scan instead of one per format: it matches a text exactly when some format
 * does (an alternation of the same expressions, each in a group of its own; they have no flags
 * but `g`, which a test checks, and no backreferences). Per distinct script line of CMake's
 * pipeline: about a tenth of the time of the formats one by one, without optimisation.
 */
const ANY_TOKEN = new RegExp(TOKENS.map((t) => `(?:${t.re.source})`).join('|'));

/** Known token formats inside `text`. */
export function findKnownTokens(text: string): SecretHit[] {
  if (!ANY_TOKEN.test(text)) return [];
  const out: SecretHit[] = [];
  for (const t of TOKENS) {
    t.re.lastIndex = 0;
    for (let m = t.re.exec(text); m; m = t.re.exec(text)) {
      if (isPlaceholder(m[0])) continue;
      if (out.some((h) => m.index < h.index + h.length && h.index < m.index + m[0].length)) continue;
      out.push({ index: m.index, length: m[0].length, label: t.label });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

const KEY_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/g;

/** `-----BEGIN … PRIVATE KEY-----` blocks, to their END line (or the end of the text). */
export function findPrivateKeys(text: string): SecretHit[] {
  const out: SecretHit[] = [];
  KEY_BEGIN.lastIndex = 0;
  for (let m = KEY_BEGIN.exec(text); m; m = KEY_BEGIN.exec(text)) {
    const endRe = /-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/g;
    endRe.lastIndex = m.index + m[0].length;
    const end = endRe.exec(text);
    const stop = end ? end.index + end[0].length : text.length;
    const body = text.slice(m.index + m[0].length, end ? end.index : text.length).replace(/\\n|\s/g, '');
    // A header with no key material (docs, a `grep` pattern) is not a key.
    if (body.length < 16 || isPlaceholder(body)) {
      KEY_BEGIN.lastIndex = m.index + m[0].length;
      continue;
    }
    const kind = (m[1] ?? '').trim();
    out.push({ index: m.index, length: stop - m.index, label: `${kind ? kind + ' ' : ''}private key block (-----BEGIN … PRIVATE KEY-----)` });
    KEY_BEGIN.lastIndex = stop;
  }
  return out;
}

/** A value that references another variable: `$X`, `${X}` (or an unclosed `${X`), `$env:X`, `%X%`. */
function isVariableReference(value: string): boolean {
  return hasVariableRef(value, SECRET_VALUE_REFS);
}
const SECRET_VALUE_REFS: VarRefOptions = { openBrace: true, percent: 'word' };

const URL_CREDS = /\b([a-z][a-z0-9+.-]*):\/\/([^\s:@/'"]+):([^\s@/'"]+)@([^\s/'"@:]+)/gi;

/** `scheme://user:password@host`: the password part (unless it is a variable reference). */
export function findUrlPasswords(text: string): SecretHit[] {
  const out: SecretHit[] = [];
  URL_CREDS.lastIndex = 0;
  for (let m = URL_CREDS.exec(text); m; m = URL_CREDS.exec(text)) {
    const [, scheme = '', user = '', password = '', hostPart = ''] = m; // all groups are required
    if (isVariableReference(password) || isPlaceholder(password) || password.length < 3) continue;
    // A job's own service container (`postgres://postgres:postgres@postgres/test`, localhost)
    // is created for the job and gone after it: its password protects nothing.
    const host = hostPart.toLowerCase();
    if (!host.includes('.') || host === '127.0.0.1' || host.endsWith('.localhost')) continue;
    const index = m.index + scheme.length + 3 + user.length + 1;
    out.push({ index, length: password.length, label: 'password embedded in a URL (scheme://user:password@host)' });
  }
  return out;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (!s) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const MIN_SECRET_LENGTH = 16;
const MIN_SECRET_ENTROPY = 3.5;

/**
 * Whether a literal value under a secret-looking name looks like a random credential: long
 * enough, high entropy, one word, and not a reference, path, plain URL, email, digest or
 * version.
 */
export function looksLikeSecretValue(value: string): boolean {
  const v = value.trim();
  if (v.length < MIN_SECRET_LENGTH || /\s/.test(v)) return false;
  if (isVariableReference(v) || isPlaceholder(v)) return false;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return false; // a URL (with credentials: findUrlPasswords)
  if (/^(\.{0,2}\/|~\/)/.test(v)) return false; // a path
  if (/^[\w.-]+(\/[\w.-]+)+\/?$/.test(v) && v.split('/').every((s) => s.length < 16)) return false; // relative path
  if (/^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$/.test(v)) return false; // an email address
  if (/^(sha\d+:)?[0-9a-f]+$/i.test(v) && [7, 8, 12, 40, 64].includes(v.replace(/^sha\d+:/i, '').length)) return false; // sha / digest
  if (/^sha\d+:[0-9a-f]+$/i.test(v)) return false;
  if (/^v?\d+(\.\d+)+([-+][\w.-]+)?$/.test(v)) return false; // a version
  if (/^[A-Za-z_][\w.-]*\.(ya?ml|json|toml|txt|pem|crt|key|env|sh|cfg|conf|ini)$/i.test(v)) return false; // a file name
  // Random credentials mix character classes; `testing-password` or `mysql_strong_password`
  // are words (weak, but a service-container test password, not a leaked credential).
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(v)).length;
  if (classes < 2 && v.length < 32) return false;
  return shannonEntropy(v) >= MIN_SECRET_ENTROPY;
}
