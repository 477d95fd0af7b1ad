import { ruleOptions } from '../../findings/rule-meta.js';
import type { Job } from '../../model/pipeline.js';
import type { RuleReport } from '../../findings/finding.js';
import { defineRule } from '../types.js';
import { locateInLine, artifactsOf, expandedRefs, followOutput, inArtifactPath, JOB_TOKEN_NAMES, pipeReader, uploadedPaths } from './_script-facts.js';
import { commandIndex, programName, segments, unquote, type Segment } from './_shell.js';
import { flatMap } from '../../util/array.js';
import { memoByText } from '../line-facts.js';

/**
 * Predefined variables that name this GitLab instance, its API, registry or dependency proxy
 * (`doc/ci/variables/predefined_variables.md`): the job token is meant for these.
 */
const INSTANCE_VARIABLES = new Set([
  'CI_SERVER_HOST', 'CI_SERVER_FQDN', 'CI_SERVER_URL', 'CI_API_V4_URL', 'CI_API_GRAPHQL_URL', 'CI_REGISTRY', 'CI_REGISTRY_IMAGE',
  'CI_PROJECT_URL', 'CI_REPOSITORY_URL', 'CI_SERVER_SHELL_SSH_HOST', 'CI_DEPENDENCY_PROXY_SERVER', 'CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX',
  'CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX', 'CI_TEMPLATE_REGISTRY_HOST', 'CI_PAGES_URL', 'CI_SERVER_PROTOCOL',
]);
/** Variable names that hold a URL or a host. */
const PLACE_NAME = /URL|URI|HOST|REGISTRY|SERVER|ENDPOINT|REMOTE|WEBHOOK|HOOK|DOMAIN|ADDR/i;
const PRINTERS = new Set(['echo', 'printf', 'print', 'write-host', 'write-output']);
const LOGIN_TOOLS = new Set(['docker', 'podman', 'buildah', 'helm', 'crane', 'skopeo', 'nerdctl', 'oras', 'regctl']);

const options = ruleOptions(
  {
    /** Host names of this GitLab instance and its registry, for scripts that write them literally. */
    instanceHosts: ['gitlab.com', 'registry.gitlab.com'],
  },
  (z) => z.object({ instanceHosts: z.array(z.string()) }),
);

export interface TokenHit {
  index: number;
  length: number;
  kind: 'host' | 'print' | 'artifact';
  /** The destination host, variable or artifact path. */
  target: string;
}

/** Where a URL-like word points: `https://u:p@host/…`, `//host/:_authToken`, `${CI_API_V4_URL}/…`, `$REGISTRY`. */
function destinationOf(word: string): string | undefined {
  const m = /(?:[a-z][a-z0-9+.-]*:)?\/\/(?:[^@/\s]*@)?([^/\s?#'"]+)/i.exec(word);
  if (m) return m[1]!.replace(/:\d+$/, '');
  // `${CI_API_V4_URL}/projects/…`, `$CI_REGISTRY`, `"$UPLOAD_URL"`: a variable that names a place.
  const v = /^\$\{?([A-Za-z_]\w*)\}?(\/|:\d|$)/.exec(word);
  const name = v?.[1];
  if (name !== undefined && !JOB_TOKEN_NAMES.has(name) && (v?.[2] || INSTANCE_VARIABLES.has(name) || PLACE_NAME.test(name))) return '$' + name;
  return undefined;
}

/** The registry of `docker login … REGISTRY` and the like: the last positional argument after `login`. */
function loginRegistry(seg: Segment, ci: number): string | undefined {
  const words = seg.words.slice(ci + 1).map((w) => unquote(w.raw));
  const li = words.findIndex((w) => w === 'login');
  if (li < 0) return undefined;
  const positional: string[] = [];
  for (let i = li + 1; i < words.length; i++) {
    const w = words[i]!; // i < words.length
    if (/^(\d|&)?[<>]/.test(w)) break;
    if (w.startsWith('-')) {
      if (!w.includes('=') && /^-(u|p|-username|-password|-password-file|-cert-file|-key-file|-ca-file)$/.test(w)) i++;
      continue;
    }
    positional.push(w);
  }
  return positional.at(-1);
}

/**
 * The registry a `docker|podman|helm|… login` segment sends its password to (`$NAME` for a
 * variable); with `fromStdin`, only a login that reads the password with `--password-stdin`.
 */
function loginDestination(seg: Segment, fromStdin: boolean): string | undefined {
  const ci = commandIndex(seg.words);
  if (!LOGIN_TOOLS.has(programName(seg.words[ci]).toLowerCase())) return undefined;
  if (fromStdin && !seg.words.some((w) => unquote(w.raw) === '--password-stdin')) return undefined;
  return loginRegistry(seg, ci)?.replace(/^\$\{?(\w+)\}?$/, '$$$1');
}

/**
 * Whether a script text has a command that references a job-token variable (most lines have
 * none), known per text. Every name in JOB_TOKEN_NAMES contains CI_: a text without it has none.
 */
const usesJobToken = memoByText((text: string): boolean => text.includes('CI_') && segments(text).some((seg) => seg.words.some((w) => expandedRefs(w.raw).some((r) => JOB_TOKEN_NAMES.has(r.name)))));

/**
 * Find job-token uses in one script item: sent to `host` destinations judged by `allowed`,
 * printed, or written into a file the job uploads as an artifact.
 */
export function findTokenMisuse(text: string, allowed: (dest: string) => boolean | undefined, artifactPaths: readonly string[] = []): TokenHit[] {
  const out: TokenHit[] = [];
  if (!usesJobToken(text)) return out;
  const segs = segments(text);
  segs.forEach((seg, i) => {
    const refs = flatMap(seg.words, (w) => expandedRefs(w.raw).filter((r) => JOB_TOKEN_NAMES.has(r.name)).map((r) => ({ ...r, index: w.start + r.index, word: w })));
    const [tok] = refs;
    if (!tok) return;
    const ci = commandIndex(seg.words);
    const prog = programName(seg.words[ci]).toLowerCase();
    const o = followOutput(segs, i);
    if (PRINTERS.has(prog) && o.log) out.push({ index: tok.index, length: tok.length, kind: 'print', target: 'the job log' });
    for (const f of o.files) {
      const a = inArtifactPath(f.target, artifactPaths);
      if (a) out.push({ index: tok.index, length: tok.length, kind: 'artifact', target: a });
    }
    // The destination: a URL carrying the token itself, else the first URL-like argument, else
    // a `login` command's registry.
    const words = seg.words.slice(ci + 1);
    // The first destination that can be judged decides.
    const candidates: string[] = [];
    const own = refs.map((r) => r.word).find((w) => /\/\/[^/\s]*@/.test(unquote(w.raw)));
    const ownDest = own && destinationOf(unquote(own.raw));
    if (ownDest) candidates.push(ownDest);
    else {
      for (const w of words) {
        const d = destinationOf(unquote(w.raw).replace(/^--?[\w-]+=/, ''));
        if (d) candidates.push(d);
      }
      const registry = loginDestination(seg, false);
      if (registry) candidates.push(registry);
      // `echo "$CI_JOB_TOKEN" | docker login --password-stdin REGISTRY`: the login that reads it.
      const reader = pipeReader(segs, i);
      const piped = reader === undefined ? undefined : loginDestination(segs[reader]!, true);
      if (piped) candidates.push(piped);
    }
    for (const dest of candidates) {
      const verdict = allowed(dest);
      if (verdict === undefined) continue;
      if (!verdict) out.push({ index: tok.index, length: tok.length, kind: 'host', target: dest });
      break;
    }
  });
  return out;
}

/**
 * `CI_JOB_TOKEN` carries the permissions of the user who started the pipeline on this GitLab
 * instance (API, registry, packages, other projects on the job-token allowlist). It is meant
 * for this instance only (`doc/ci/jobs/ci_job_token.md`); sent to another host, printed or
 * uploaded, it lets whoever receives it act as that user until the job ends.
 */
export default defineRule({
  meta: {
    id: 'job-token-misuse',
    kind: 'pipeline',
    title: '`CI_JOB_TOKEN` is sent to another host, printed or written into an artifact',
    defaultSeverity: 'error',
    principle: "The job token acts as the pipeline's user on this GitLab instance: it never leaves the instance, the job's process or its logs.",
    fix: 'Use the job token only with `$CI_SERVER_HOST`, `$CI_API_V4_URL` and `$CI_REGISTRY`; for other services use a dedicated, narrowly scoped Protected and Masked CI/CD variable; never print it or write it into files under artifact paths.',
    options,
    messages: {
      host: '{{where}} sends `CI_JOB_TOKEN` to `{{target}}`, which is not this GitLab instance: that host can act as the pipeline\'s user until the job ends.',
      print: '{{where}} prints `CI_JOB_TOKEN` to the job log: masking only hides the exact value, and the token acts as the pipeline\'s user.',
      artifact: '{{where}} writes `CI_JOB_TOKEN` into `{{target}}`, which the job uploads as an artifact: anyone who can download it can act as the pipeline\'s user while the job runs.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        const found = new Map<string, RuleReport>();
        for (const job of p.jobs) {
          // What the job uploads and where it may send the token, read for a job whose lines use it.
          let judge: { allowed: (dest: string) => boolean | undefined; artifactPaths: string[] } | undefined;
          for (const line of ctx.scriptLines(job)) {
            if (!usesJobToken.of(line)) continue;
            if (!judge) {
              const a = artifactsOf(job);
              judge = { allowed: hostJudge(job, ctx.options.instanceHosts), artifactPaths: uploadedPaths(a) };
            }
            for (const h of findTokenMisuse(line.text, judge.allowed, judge.artifactPaths)) {
              const at = locateInLine(ctx, line, h.index, h.length);
              const k = `${at.file}:${at.line}:${at.column}:${h.kind}`;
              if (found.has(k)) continue;
              found.set(k, { at, job: job.name, keyPath: [line.key, String(line.index)], discriminator: `${h.kind}|${h.target}`, ...message(job, line.key, h) });
            }
          }
        }
        for (const r of found.values()) ctx.report(r);
      },
    };
  },
});

function message(job: Job, key: string, h: TokenHit): Pick<RuleReport, 'messageId' | 'data'> {
  const where = `\`${key}\` of job \`${job.name}\``;
  switch (h.kind) {
    case 'host':
      return { messageId: 'host', data: { where, target: h.target } };
    case 'print':
      return { messageId: 'print', data: { where } };
    default:
      return { messageId: 'artifact', data: { where, target: h.target } };
  }
}

/**
 * Whether a destination is this instance: an instance variable (also through a YAML variable
 * that expands to one), or a listed host. `undefined`: cannot tell (a variable set elsewhere).
 */
function hostJudge(job: Job, instanceHosts: readonly string[]): (dest: string) => boolean | undefined {
  const resolve = (dest: string, depth: number): boolean | undefined => {
    if (dest.startsWith('$')) {
      const name = dest.slice(1);
      if (INSTANCE_VARIABLES.has(name)) return true;
      const def = job.variables.get(name);
      if (!def || depth > 3) return undefined;
      const inner = destinationOf(def.value.trim());
      return inner ? resolve(inner, depth + 1) : undefined;
    }
    const host = dest.toLowerCase();
    if (host.includes('$')) return undefined;
    if (instanceHosts.some((h) => h.toLowerCase() === host)) return true;
    if (host === 'localhost' || host === '127.0.0.1' || !host.includes('.')) return undefined;
    return false;
  };
  return (dest) => resolve(dest, 0);
}

