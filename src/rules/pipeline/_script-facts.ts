/**
 * Facts about what job scripts do with their output and their credentials, shared by the
 * trust-boundary rules of the second wave (`secret-printed-to-log`, `job-token-misuse`,
 * `artifact-exposure`, `rules-regex-unanchored`): where a command's stdout goes (the job log,
 * a file, another program), which files a job publishes as artifacts, and whether a job
 * handles credentials at all. Everything works on the shared shell tokeniser (`_shell.ts`).
 */
import type { SourceLocation } from '../../model/location.js';
import { entry, get, str, type YNode } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import type { Policy } from '../../policy/types.js';
import { globToRegExp, matchesNamePatterns } from '../../util/glob.js';
import { BoundedMemo } from '../../util/bounded-memo.js';
import type { RuleContext, ScriptLine } from '../types.js';
import { commandIndex, locateInScalar, programName, quoteStates, unquote, varRefs, type VarRef, type Segment, type Word } from './_shell.js';
import { flatMap } from '../../util/array.js';

// ---------------------------------------------------------------------------------------------
// Credential-like variable names

/** Names the policy patterns catch that are not credentials (`*AUTH*` matches `GIT_AUTHOR_NAME`). */
const NOT_A_CREDENTIAL = /AUTHOR|_(URL|URI|HOST|HOSTNAME|PORT|USER|USERNAME|LOGIN|NAME|ID|ENABLED|DISABLED|TYPE|METHOD|MODE|SCOPE|SCOPES|EXPIRES|EXPIRY|EXPIRES_AT|LENGTH|VERSION|HEADER|ENDPOINT|REGION|PROVIDER)$/;
/** Names that are paths to credential files (file-type CI/CD variables): printing the name prints a path. */
const PATH_NAME = /_(FILE|PATH|DIR|LOCATION)$/;
/** Well-known variables that hold the path of a credential file. */
const CREDENTIAL_FILE_NAMES = new Set(['KUBECONFIG', 'GOOGLE_APPLICATION_CREDENTIALS', 'DOCKER_CONFIG', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'NPM_CONFIG_USERCONFIG', 'PIP_CONFIG_FILE', 'SSH_KEY_FILE', 'GPG_PRIVATE_KEY_FILE', 'VAULT_TOKEN_FILE']);

/** The job token and its alias (`CI_REGISTRY_PASSWORD` is the job token, `doc/ci/variables/predefined_variables.md`). */
export const JOB_TOKEN_NAMES = new Set(['CI_JOB_TOKEN', 'CI_REGISTRY_PASSWORD']);

export interface CredentialNames {
  /**
   * A name the policy's `secretVariables` patterns match, predefined `CI_*` variables included:
   * what a name written in the configuration says about its value (hardcoded-credential,
   * debug-trace-enabled).
   */
  secretLike(name: string): boolean;
  /**
   * A name the policy's `secretVariables` patterns match, predefined `CI_*` variables excluded:
   * what a job reads from CI/CD settings under a credential-like name (`value` and `file`
   * narrow it down).
   */
  named(name: string): boolean;
  /** A variable whose value is a credential (policy patterns, predefined `CI_*` excluded). */
  value(name: string): boolean;
  /** A variable whose value is the path of a credential file (`$KUBECONFIG`, `$GCP_KEY_FILE`). */
  file(name: string): boolean;
}

/** One per policy: the rules that ask share the answers (and jobUsesSecrets' memo). */
export function credentialNames(policy: Policy): CredentialNames {
  let names = namesByPolicy.get(policy);
  if (!names) namesByPolicy.set(policy, (names = namesFor(policy)));
  return names;
}
const namesByPolicy = new WeakMap<Policy, CredentialNames>();

function namesFor(policy: Policy): CredentialNames {
  // Each answer tests every pattern twice; the same names come back in every pipeline a policy
  // judges. Names are YAML an MR author writes: bounded.
  const cache = new BoundedMemo<boolean>(20_000, 1_000_000);
  const secretLike = (name: string): boolean => {
    let v = cache.get(name);
    if (v === undefined) cache.set(name, (v = matchesNamePatterns(name, policy.secretVariables)));
    return v;
  };
  const policyMatch = (name: string): boolean => !name.startsWith('CI_') && secretLike(name);
  return {
    secretLike,
    named: policyMatch,
    value: (name) => name === 'CI_DEPLOY_PASSWORD' || (policyMatch(name) && !CREDENTIAL_FILE_NAMES.has(name) && !NOT_A_CREDENTIAL.test(name.toUpperCase()) && !PATH_NAME.test(name.toUpperCase())),
    file: (name) => CREDENTIAL_FILE_NAMES.has(name) || (policyMatch(name) && PATH_NAME.test(name.toUpperCase()) && !/_DIR$/.test(name.toUpperCase())),
  };
}

/**
 * Whether a job handles credentials: it requests `id_tokens:` or `secrets:`, or its scripts
 * or variable values reference a credential-like variable that the YAML does not define
 * itself (a CI/CD setting). The job token every job has does not count.
 */
export function jobUsesSecrets(ctx: RuleContext<unknown>, job: Job, names: CredentialNames): { at: SourceLocation; what: string } | undefined {
  // Several rules ask about the same job: answered once per job and set of names.
  let byJob = usesSecrets.get(names);
  if (!byJob) usesSecrets.set(names, (byJob = new WeakMap()));
  let hit = byJob.get(job);
  if (hit === undefined) byJob.set(job, (hit = secretUse(ctx, job, names) ?? null));
  return hit ?? undefined;
}
const usesSecrets = new WeakMap<CredentialNames, WeakMap<Job, { at: SourceLocation; what: string } | null>>();

function secretUse(ctx: RuleContext<unknown>, job: Job, names: CredentialNames): { at: SourceLocation; what: string } | undefined {
  for (const k of ['id_tokens', 'secrets'] as const) {
    const e = entry(job.node, k);
    if (e && !(e.value.kind === 'scalar' && e.value.value === null)) return { at: e.keyLoc, what: `\`${k}:\`` };
  }
  for (const line of ctx.scriptLines(job)) {
    const r = varRefs.of(line).find((x) => (names.value(x.name) || names.file(x.name)) && !job.variables.has(x.name));
    if (r) return { at: ctx.locateInScript(line, r.index, r.length), what: `\`$${r.name}\`` };
  }
  for (const def of job.variables.values()) {
    if (!def.expand) continue;
    const r = varRefs(def.value).find((x) => x.name !== def.name && (names.value(x.name) || names.file(x.name)) && !job.variables.has(x.name));
    if (r) return { at: def.valueLoc, what: `\`$${r.name}\`` };
  }
  return undefined;
}

/**
 * Variable references the shell expands in a word: not those inside single quotes
 * (`echo '//host/:_authToken=${CI_JOB_TOKEN}' >> .npmrc` writes the reference, which the
 * reading tool expands later). Offsets are relative to the word.
 */
export function expandedRefs(raw: string): VarRef[] {
  const refs = varRefs(raw);
  if (refs.length === 0 || !raw.includes("'")) return refs;
  const q = quoteStates(raw);
  return refs.filter((r) => q[r.index] !== 'single');
}

// ---------------------------------------------------------------------------------------------
// Where a command's output goes

interface FileWrite {
  /** The target as written, unquoted. */
  target: string;
  word: Word;
  /** The segment index that writes. */
  seg: number;
}

/** Targets that are not files: the log itself, or nowhere. */
const NOT_A_FILE = /^(\/dev\/(stdout|stderr|null|tty)|&\d|-)$/;

/** The file a segment's stdout is redirected to (`> f`, `>> f`, `1> f`, `&> f`); `>&2` stays in the log. */
function stdoutRedirect(seg: Segment): { target: string; word: Word } | undefined {
  for (const [i, redirect] of seg.words.entries()) {
    const m = /^(1|&)?>>?(.*)$/.exec(unquote(redirect.raw));
    if (!m) continue;
    let target = m[2] ?? '';
    let word = redirect;
    if (target.startsWith('|')) target = target.slice(1);
    const next = seg.words[i + 1];
    if (!target && next) {
      word = next;
      target = unquote(word.raw);
    }
    if (!target || target.startsWith('&')) continue;
    return { target, word };
  }
  return undefined;
}

/** Programs that pass (a transform of) their input on to stdout. */
const PASS_THROUGH = new Set(['base64', 'xxd', 'od', 'hexdump', 'rev', 'tee', 'cat', 'sort', 'uniq', 'tr', 'sed', 'awk', 'cut', 'head', 'tail', 'fold', 'column', 'jq', 'yq']);

export interface OutputPath {
  /** The output reaches the job log. */
  log: boolean;
  /** Files it is written to on the way (redirects and `tee`). */
  files: FileWrite[];
}

/** Follow the stdout of `segs[i]` through the pipeline it starts: to the log, to files, or consumed. */
export function followOutput(segs: readonly Segment[], i: number): OutputPath {
  const files: FileWrite[] = [];
  for (const [k, seg] of segs.entries()) {
    if (k < i) continue;
    if (k > i) {
      const ci = commandIndex(seg.words);
      const prog = programName(seg.words[ci]);
      if (!PASS_THROUGH.has(prog)) return { log: false, files };
      if (prog === 'tee') {
        for (const w of seg.words.slice(ci + 1)) {
          const t = unquote(w.raw);
          if (!t.startsWith('-') && !NOT_A_FILE.test(t)) files.push({ target: t, word: w, seg: k });
        }
      }
    }
    const r = stdoutRedirect(seg);
    if (r) {
      if (/^\/dev\/(stdout|stderr|tty)$/.test(r.target)) return { log: true, files };
      if (!NOT_A_FILE.test(r.target)) files.push({ target: r.target, word: r.word, seg: k });
      return { log: false, files };
    }
    if (seg.op !== '|') return { log: true, files };
  }
  return { log: true, files };
}

/**
 * The command that reads the stdout of `segs[i]` through a pipe, past commands that pass it on
 * (`tr`, `base64`, `tee` …): its index, or undefined when the output goes elsewhere.
 */
export function pipeReader(segs: readonly Segment[], i: number): number | undefined {
  for (let k = i; k + 1 < segs.length; k++) {
    const seg = segs[k]!; // k + 1 < segs.length
    if (seg.op !== '|' || stdoutRedirect(seg)) return undefined;
    const next = segs[k + 1]!;
    if (!PASS_THROUGH.has(programName(next.words[commandIndex(next.words)]))) return k + 1;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Artifacts

export interface ArtifactSpec {
  /** `artifacts:paths` items with their nodes. */
  readonly paths: readonly { path: string; node: YNode }[];
  /** `artifacts:reports:dotenv` files. */
  readonly dotenv: readonly { path: string; node: YNode }[];
  readonly untracked?: YNode;
  readonly access?: { value: string; node: YNode };
  readonly node?: YNode;
}

/** Every file a job uploads by name: `artifacts:paths`, then its dotenv reports. */
export function uploadedPaths(a: ArtifactSpec): string[] {
  return [...a.paths.map((x) => x.path), ...a.dotenv.map((x) => x.path)];
}

/** A job's `artifacts:` as the rules read it (memoised per node and shared: read only). */
export function artifactsOf(job: Job): ArtifactSpec {
  let hit = artifactsCache.get(job.node);
  if (!hit) artifactsCache.set(job.node, (hit = readArtifacts(job)));
  return hit;
}
const artifactsCache = new WeakMap<YNode, ArtifactSpec>();

function readArtifacts(job: Job): ArtifactSpec {
  const a = get(job.node, 'artifacts');
  if (a?.kind !== 'map') return { paths: [], dotenv: [], node: a };
  const items = (n: YNode | undefined) => flatMap(n?.kind === 'seq' ? n.items : n ? [n] : [], (x) => (x.kind === 'seq' ? x.items : x));
  const named = (n: YNode | undefined) => flatMap(items(n), (x) => {
    const p = str(x);
    return p ? [{ path: p, node: x }] : [];
  });
  const u = get(a, 'untracked');
  const acc = get(a, 'access');
  const accValue = str(acc);
  return {
    paths: named(get(a, 'paths')),
    dotenv: named(get(a, 'reports', 'dotenv')),
    node: a,
    ...(u?.kind === 'scalar' && u.value === true ? { untracked: u } : {}),
    ...(acc && accValue ? { access: { value: accValue, node: acc } } : {}),
  };
}

/** A shell path as the artifact globs see it: relative to the project directory. */
function projectRelative(target: string): string | undefined {
  let t = target.replace(/^\$\{?CI_PROJECT_DIR\}?\/?/, '').replace(/^\.\//, '');
  if (t.startsWith('/') || t.startsWith('~') || t.includes('$')) return undefined;
  t = t.replace(/\/+$/, '');
  return t || undefined;
}

/**
 * Whether a file the script writes is uploaded by an artifact path: the same path, a file
 * under a listed directory, or a glob match (GitLab's `artifacts:paths` use doublestar globs;
 * `*` here spans `/`, a slight over-approximation).
 */
export function inArtifactPath(target: string, paths: readonly string[]): string | undefined {
  const t = projectRelative(target);
  if (!t) return undefined;
  for (const raw of paths) {
    const p = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    if (!p) continue;
    if (p === t || t.startsWith(p + '/')) return raw;
    if (/[*?]/.test(p) && globToRegExp(p.replace(/\*\*\/?/g, '*')).test(t)) return raw;
  }
  return undefined;
}


/**
 * Where `line.text.slice(index, index + length)` is written: exact also in plain scalars that
 * YAML folds over several lines (`- docker run\n    --privileged …`), where the engine's
 * line-based locator falls back to the item.
 */
export function locateInLine(ctx: RuleContext<unknown>, line: ScriptLine, index: number, length: number): SourceLocation {
  return locateInScalar(ctx.pipeline, line.loc, line.text, index, length);
}
