import { table } from '../../util/table.js';
import { defineRule } from '../types.js';
import type { SourceLocation } from '../../model/location.js';
import { get } from '../../model/node.js';
import type { Job, Pipeline } from '../../model/pipeline.js';
import { scriptLinesOf } from '../engine.js';
import { findKnownTokens, findPrivateKeys, findUrlPasswords, isPlaceholder, looksLikeSecretValue, type SecretHit } from './_secrets.js';
import { commandIndex, locateInScalar, memoByText, programName, scriptSites, segments, unquote, variableSites, varRefs, type Word } from './_shell.js';
import { serviceHosts } from './docker-daemon-shared.js';
import { credentialNames } from './_script-facts.js';

/** `export NAME=value`, `NAME="value"`, `NAME='value'` in a script. */
const ASSIGNMENT = /(^|[\s;&|(])(?:export\s+|declare\s+(?:-x\s+)?|local\s+)?([A-Za-z_]\w*)=(?:"([^"$`\\\n]*)"|'([^'\n]*)'|([^\s;&|'"`$()]+))/g;
/** Credential-carrying options and headers: `--password X`, `--token=X`, `PRIVATE-TOKEN: X`, `Authorization: Bearer X`. */
const OPTION = /(?:--(?:password|passwd|token|api-key|apikey|secret|client-secret|access-token)(?:=|\s+)|\b(?:PRIVATE-TOKEN|JOB-TOKEN|X-API-Key|Authorization):\s*(?:Bearer\s+|token\s+|Basic\s+)?)(["']?)([^\s"'$;|&()]+)/gi;
/** `docker login … -p X`. */
const DOCKER_LOGIN_P = /\bdocker\s+login\b[^\n;|&]*?\s-p\s*(["']?)([^\s"'$;|&()]+)/g;

/** `"auth": "<base64 of user:password>"` in Docker's auth JSON (`DOCKER_AUTH_CONFIG`, `~/.docker/config.json`). */
const DOCKER_AUTH = /"auth"\s*:\s*"([A-Za-z0-9+/]{8,}={0,2})"/g;

function dockerAuthHits(text: string): SecretHit[] {
  const out: SecretHit[] = [];
  DOCKER_AUTH.lastIndex = 0;
  for (let m = DOCKER_AUTH.exec(text); m; m = DOCKER_AUTH.exec(text)) {
    const auth = m[1]!;
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    if (!/^[^:\s]+:\S+$/.test(decoded) || isPlaceholder(decoded)) continue;
    out.push({ index: m.index + m[0].length - 1 - auth.length, length: auth.length, label: 'Docker registry auth (base64 user:password in "auth")' });
  }
  return out;
}

/**
 * A value under a credential-like name that is a credential: high entropy, or a long hex
 * string (40 hex is a commit id elsewhere, but under `*TOKEN*`/`*SECRET*` it is a token)
 * unless the name says it is a digest.
 */
function credentialValue(name: string, value: string): boolean {
  if (looksLikeSecretValue(value)) return true;
  const v = value.trim();
  return /^[0-9a-f]{32,}$/i.test(v) && !/SHA|DIGEST|COMMIT|HASH|CHECKSUM|REVISION/i.test(name) && new Set(v).size >= 8;
}

/** Database and cache clients' password options: `sqlcmd -P x`, `mysql -px`, `redis-cli -a x`, `--password x`. */
const PASSWORD_CLIENTS = table<{ opts: string[]; attached?: string; host: string[] }>({
  sqlcmd: { opts: ['-P'], host: ['-S'] },
  bcp: { opts: ['-P'], host: ['-S'] },
  mysql: { opts: [], attached: '-p', host: ['-h', '--host'] },
  mysqldump: { opts: [], attached: '-p', host: ['-h', '--host'] },
  mysqladmin: { opts: [], attached: '-p', host: ['-h', '--host'] },
  mariadb: { opts: [], attached: '-p', host: ['-h', '--host'] },
  'mariadb-dump': { opts: [], attached: '-p', host: ['-h', '--host'] },
  mongo: { opts: ['-p'], host: ['--host', '-h'] },
  mongosh: { opts: ['-p'], host: ['--host', '-h'] },
  'redis-cli': { opts: ['-a'], host: ['-h'] },
});

interface PasswordHit extends SecretHit {
  /** The host the password goes to (`localhost` when none is named). */
  host: string;
}

/**
 * Literal passwords given to database clients or as `--password`, with the host they go to
 * (memoised by text: whether that host is one of the job's own containers is the caller's).
 */
const passwordOptionHits = memoByText((text: string): readonly PasswordHit[] => {
  const out: PasswordHit[] = [];
  for (const seg of segments(text)) {
    const w = seg.words;
    const ci = commandIndex(w);
    const prog = programName(w[ci]);
    const spec = PASSWORD_CLIENTS[prog];
    let host: string | undefined;
    const found: { word: Word; value: string; offset: number }[] = [];
    for (let i = ci + 1; i < w.length; i++) {
      const word = w[i]!; // i < w.length
      const next = w[i + 1];
      const x = unquote(word.raw);
      if (spec?.host.includes(x) && next) host = unquote(next.raw);
      else if (x.startsWith('--host=')) host = x.slice(7);
      if ((spec?.opts.includes(x) || x === '--password') && next) {
        found.push({ word: next, value: unquote(next.raw), offset: 0 });
        i++;
      } else if (x.startsWith('--password=')) found.push({ word, value: x.slice(11), offset: '--password='.length });
      else if (spec?.attached && x.startsWith(spec.attached) && x.length > spec.attached.length && !x.startsWith('--')) found.push({ word, value: x.slice(spec.attached.length), offset: spec.attached.length });
    }
    if (found.length === 0) continue;
    const h = (host ?? 'localhost').replace(/^tcp:/, '').replace(/[,:].*$/s, '');
    for (const f of found) {
      const v = f.value;
      if (v.length < 4 || /[$%`]/.test(v) || isPlaceholder(v) || v.startsWith('-')) continue;
      const rawIdx = f.word.raw.indexOf(v, f.offset);
      if (rawIdx < 0) continue;
      out.push({ index: f.word.start + rawIdx, length: v.length, label: `literal password passed to \`${prog || 'a command'}\``, host: h });
    }
  }
  return out;
});

/** A password goes to one of the job's own containers (or the job itself). */
function localHost(host: string, ownHosts: ReadonlySet<string>): boolean {
  return ownHosts.has(host) || host === 'localhost' || host === '127.0.0.1' || host === '.';
}

function overlaps(hits: readonly SecretHit[], index: number, length: number): boolean {
  return hits.some((h) => index < h.index + h.length && h.index < index + length);
}

/** Known formats, key blocks and URL passwords anywhere in `text` (shared: copy before adding). */
const formatHits = memoByText((text: string): readonly SecretHit[] => {
  const hits: SecretHit[] = [...findPrivateKeys(text)];
  for (const h of [...findKnownTokens(text), ...findUrlPasswords(text), ...dockerAuthHits(text)]) if (!overlaps(hits, h.index, h.length)) hits.push(h);
  return hits;
});

/** A value assigned to a name in a script line (`export NAME=value`), `index` where the value starts. */
interface Assignment {
  name: string;
  value: string;
  index: number;
}

/**
 * What one script line could hold, worked out once per text (pipelines repeat lines through
 * anchors and `extends`): known formats, assignments whose value could be a credential under
 * some name, high-entropy option values and passwords given to clients. Most lines hold none:
 * they are passed over.
 */
interface LineCandidates {
  format: readonly SecretHit[];
  assignments: readonly Assignment[];
  options: readonly SecretHit[];
  passwords: readonly PasswordHit[];
}
const lineCandidates = memoByText((text: string): LineCandidates | undefined => {
  const assignments: Assignment[] = [];
  ASSIGNMENT.lastIndex = 0;
  for (let m = ASSIGNMENT.exec(text); m; m = ASSIGNMENT.exec(text)) {
    const value = m[3] ?? m[4] ?? m[5] ?? '';
    // A credential under some name (no name says "digest"): the name decides the rest.
    if (!credentialValue('', value)) continue;
    assignments.push({ name: m[2]!, value, index: m.index + m[0].length - value.length - (m[5] === undefined ? 1 : 0) });
  }
  const options: SecretHit[] = [];
  for (const re of [OPTION, DOCKER_LOGIN_P]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const value = m[2]!;
      if (looksLikeSecretValue(value)) options.push({ index: m.index + m[0].length - value.length, length: value.length, label: 'high-entropy credential passed on the command line' });
    }
  }
  const format = formatHits(text);
  const passwords = passwordOptionHits(text);
  if (format.length === 0 && assignments.length === 0 && options.length === 0 && passwords.length === 0) return undefined;
  return { format, assignments, options, passwords };
});

/**
 * A literal credential written in the CI configuration is readable by everyone who can read
 * the repository, its forks and every MR's diff, and it stays in git history. The value is
 * never echoed: findings point at its exact range and register it as a secret so every output
 * masks it.
 */
export default defineRule({
  meta: {
    id: 'hardcoded-credential',
    kind: 'pipeline',
    title: 'A literal credential is written in the CI configuration',
    defaultSeverity: 'error',
    principle:
      'Credentials belong to the trusted tier: stored as masked, protected CI/CD variables or in a secrets manager, never in a file every branch, fork and MR author can read.',
    fix: 'Revoke and rotate the credential now (it stays in git history), store the new one as a masked and protected CI/CD variable (or fetch it with `secrets:`), and reference it by name.',
    messages: {
      serviceOnly: '{{where}} {{variable}} holds a literal {{label}} used only for the job\'s own service containers; keep it out of the file anyway (value masked).',
      literal: '{{where}} {{variable}} holds a literal {{label}}: everyone who can read the repository has it; revoke it and use a masked CI/CD variable (value masked).',
      serviceOnlyInScript: '`{{key}}`{{ofJob}} contains a {{label}} for a database the job runs itself; use a variable anyway (value masked).',
      literalInScript: '`{{key}}`{{ofJob}} contains a {{literal}}{{label}}: it is visible in the repository and in job logs; use a masked CI/CD variable (value masked).',
    },
  },
  create(ctx) {
    const secretName = credentialNames(ctx.policy).secretLike;
    return {
      pipeline(p) {
        for (const site of variableSites(p)) {
          const { def } = site;
          if (!def.value) continue;
          let hits = formatHits(def.value);
          let byName = false;
          if (hits.length === 0 && secretName(def.name) && credentialValue(def.name, def.value)) {
            const start = def.value.length - def.value.trimStart().length;
            hits = [{ index: start, length: def.value.trim().length, label: 'high-entropy value under a secret-looking name' }];
            byName = true;
          }
          // A secret (not a known token format) for a throwaway service container the job
          // starts itself — `services:` variables, or a job variable the script only uses
          // against one of its services — protects nothing outside the job: a warning.
          const local = hits.length > 0 && (byName || hits.every((h) => /password embedded in a URL/.test(h.label))) && serviceOnly(p, site.job, site.keyPath, def.name, def.valueLoc);
          hits.forEach((h, i) => {
            const at = locateInScalar(p, def.valueLoc, def.value, h.index, h.length);
            ctx.report({
              at,
              secret: at,
              job: site.job,
              keyPath: site.keyPath,
              discriminator: String(i),
              severity: local ? 'warning' : undefined,
              ...(local ? { messageId: 'serviceOnly', data: { where: site.where, variable: def.name, label: h.label } } : { messageId: 'literal', data: { where: site.where, variable: def.name, label: h.label } }),
            });
          });
        }
        // The service hosts of each job, looked up once per job rather than once per line.
        const hosts = new Map<string | undefined, ReadonlySet<string>>();
        const hostsOf = (name: string | undefined): ReadonlySet<string> => {
          let h = hosts.get(name);
          if (!h) {
            const job = name ? p.jobs.find((j) => j.name === name) : undefined;
            hosts.set(name, (h = job ? serviceHosts(job) : new Set()));
          }
          return h;
        };
        for (const site of scriptSites(p)) {
          const text = site.line.text;
          const found = lineCandidates.of(site.line);
          if (!found) continue;
          const hits = [...found.format];
          const named = (index: number, length: number, label: string) => {
            if (!overlaps(hits, index, length)) hits.push({ index, length, label });
          };
          for (const a of found.assignments) if (secretName(a.name) && credentialValue(a.name, a.value)) named(a.index, a.value.length, `high-entropy value assigned to ${a.name}`);
          for (const o of found.options) named(o.index, o.length, o.label);
          const localAt = new Set<number>();
          for (const h of found.passwords) {
            if (overlaps(hits, h.index, h.length)) continue;
            hits.push(h);
            if (localHost(h.host, hostsOf(site.job))) localAt.add(h.index);
          }
          hits.sort((a, b) => a.index - b.index);
          hits.forEach((h, i) => {
            // Raw positions (ctx.locateInScript reads masked lines: a second secret on the same
            // line would shift), same result otherwise.
            const at = locateInScalar(p, site.line.loc, text, h.index, h.length);
            ctx.report({
              at,
              secret: at,
              job: site.job,
              keyPath: site.keyPath,
              discriminator: String(i),
              severity: localAt.has(h.index) ? 'warning' : undefined,
              ...(localAt.has(h.index) ? { messageId: 'serviceOnlyInScript', data: { key: site.line.key, ofJob: site.job ? ` of job \`${site.job}\`` : '', label: h.label } } : { messageId: 'literalInScript', data: { key: site.line.key, ofJob: site.job ? ` of job \`${site.job}\`` : '', literal: h.label.startsWith('literal') ? '' : 'literal ', label: h.label } }),
            });
          });
        }
      },
    };
  },
});

/**
 * Whether a variable serves only the job's own service containers: it is written under
 * `services:`, or the job(s) it reaches have services and every script line that reads it also
 * names one of their hosts (`http://keycloak:8080`).
 */
function serviceOnly(p: Pipeline, job: string | undefined, keyPath: readonly string[], name: string, valueLoc: SourceLocation): boolean {
  if (keyPath.includes('services')) return true;
  const same = (a: SourceLocation | undefined) => !!a && a.file === valueLoc.file && a.line === valueLoc.line && a.column === valueLoc.column;
  const jobs: Job[] = job ? p.jobs.filter((j) => j.name === job) : p.jobs.filter((j) => same(j.variables.get(name)?.valueLoc));
  if (jobs.length === 0) return false;
  return jobs.every((j) => {
    const hosts = serviceHosts(j);
    if (!get(j.node, 'services')) return false;
    const users = scriptLinesOf(j.node).filter((l) => varRefs.of(l).some((r) => r.name === name));
    return users.every((l) => [...hosts].some((h) => h !== 'localhost' && new RegExp(`(^|[/@\\s'"=])${h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+|[/\\s'"]|$)`).test(l.text)));
  });
}
