import type { TextMemo } from '../line-facts.js';
import { get } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import type { RunnerTier } from '../deploy.js';
import type { RuleReport } from '../../findings/finding.js';
import { defineRule } from '../types.js';
import { commandIndex, memoByText, programName, segments, unquote, wordText } from './_shell.js';
import { imageName, isDindImage } from './privileged-outside-build-tier.js';
import { locateInLine } from './_script-facts.js';

const ENGINES = new Set(['docker', 'podman', 'nerdctl']);
/** Options of `docker run`/`create` that take no value (anything else starting with `-` takes the next word, unless written `--opt=value`). */
const NO_VALUE = new Set([
  '-d', '--detach', '-i', '--interactive', '-t', '--tty', '--rm', '--privileged', '--init', '--read-only', '-P', '--publish-all',
  '--no-healthcheck', '--oom-kill-disable', '-q', '--quiet', '--sig-proxy', '--help', '--replace', '--tls-verify',
]);
const HOST_PATHS = /^(\/|\/var\/run\/docker\.sock|\/run\/docker\.sock|\/var\/run|\/run|\/run\/podman\/podman\.sock|\/var\/run\/containerd\/containerd\.sock|\/run\/containerd\/containerd\.sock|\/proc|\/sys|\/dev|\/etc|\/root|\/var\/lib\/docker|\/home)$/;

export interface EscapeHit {
  index: number;
  length: number;
  /** What opens the way out, e.g. `--privileged`, `-v /var/run/docker.sock`. */
  what: string;
  engine: string;
  sub: string;
}

/** The host path of a `-v`/`--volume` value (`/src:/dst[:ro]`) or a `--mount` value (`type=bind,source=/src,…`). */
function hostPath(opt: string, value: string): string | undefined {
  if (opt === '--mount') {
    const m = /(?:^|,)(?:source|src)=([^,]+)/.exec(value);
    return m && /(?:^|,)type=bind(?:,|$)/.test(value) ? m[1] : undefined;
  }
  const src = value.replace(/:.*$/s, '');
  return src.startsWith('/') ? src : undefined;
}

/** Judge one option of `docker run` (with its value): a way onto the host, or undefined. */
function escapeOf(opt: string, value: string | undefined): string | undefined {
  const v = value ?? '';
  switch (opt) {
    case '--privileged':
      return value === undefined || value === 'true' ? '--privileged' : undefined;
    case '-v':
    case '--volume':
    case '--mount': {
      const p = hostPath(opt, v);
      if (p === undefined) return undefined;
      const norm = p.replace(/\/+$/, '') || '/';
      return HOST_PATHS.test(norm) ? `${opt} ${norm}` : undefined;
    }
    case '--pid':
    case '--network':
    case '--net':
    case '--ipc':
    case '--userns':
    case '--uts':
      return v === 'host' ? `${opt}=host` : undefined;
    case '--cap-add':
      return /^(CAP_)?(SYS_ADMIN|ALL|SYS_PTRACE|SYS_MODULE|DAC_READ_SEARCH)$/i.test(v) ? `--cap-add=${v}` : undefined;
    case '--security-opt':
      return /^(seccomp|apparmor|label)[=:](unconfined|disable)$/.test(v) ? `--security-opt ${v}` : undefined;
    case '--device':
      return /^\/dev\/(sd|nvme|xvd|mem|kmem)/.test(v) ? `--device ${v}` : undefined;
    default:
      return undefined;
  }
}

/**
 * `docker run`/`docker create`/`docker container run`, `podman run`, `nerdctl run` with
 * host-escaping options. Memoised by text (pipelines repeat script lines through anchors and
 * `extends`); the result is shared: read only.
 */
export const findDockerEscapes: TextMemo<readonly EscapeHit[]> = memoByText(dockerEscapes);

function dockerEscapes(text: string): EscapeHit[] {
  const out: EscapeHit[] = [];
  for (const seg of segments(text)) {
    const ci = commandIndex(seg.words);
    const engine = programName(seg.words[ci]);
    if (!ENGINES.has(engine)) continue;
    let i = ci + 1;
    // Global options before the subcommand (`docker --host tcp://x run`, `podman --remote run`).
    while (i < seg.words.length && wordText(seg.words[i]).startsWith('-')) {
      const o = wordText(seg.words[i]);
      i += !o.includes('=') && /^(-H|--host|--context|-c|--config|--log-level|-l|--url|--connection)$/.test(o) ? 2 : 1;
    }
    let sub = unquote(seg.words[i]?.raw ?? '');
    if (sub === 'container') sub = unquote(seg.words[++i]?.raw ?? '');
    if (sub !== 'run' && sub !== 'create') continue;
    for (i = i + 1; i < seg.words.length; i++) {
      const w = seg.words[i]!; // i < seg.words.length
      const raw = unquote(w.raw);
      if (!raw.startsWith('-') || raw === '--') break; // the image: options end here
      let opt = raw;
      let value: string | undefined;
      let end = w.end;
      const eq = raw.indexOf('=');
      if (raw.startsWith('--') && eq > 0) {
        opt = raw.slice(0, eq);
        value = raw.slice(eq + 1);
      } else if (!raw.startsWith('--') && raw.length > 2 && /^-[vp]/.test(raw)) {
        // `-v/:/host` written without a space.
        opt = raw.slice(0, 2);
        value = raw.slice(2);
      } else {
        const next = seg.words[i + 1];
        if (next && !NO_VALUE.has(raw) && !/^-[a-zA-Z]{2,}$/.test(raw)) {
          value = unquote(next.raw);
          end = next.end;
          i++;
        }
      }
      const what = escapeOf(opt, value);
      if (what) out.push({ index: w.start, length: end - w.start, what, engine, sub });
    }
  }
  return out;
}

/**
 * Whether the job's container engine is a Docker-in-Docker service (or image): then host paths
 * and namespaces in `docker run` are those of the dind container, and the privileged dind
 * itself is the way onto the host, which `privileged-outside-build-tier` reports.
 */
function usesDind(job: Job): boolean {
  const image = imageName(get(job.node, 'image'));
  if (image && isDindImage(image.name)) return true;
  const services = get(job.node, 'services');
  if (services?.kind === 'seq' && services.items.some((s) => isDindImage(imageName(s)?.name ?? ''))) return true;
  return /^tcp:\/\/(docker|docker-dind|dind)(:\d+)?\/?$/.test(job.variables.get('DOCKER_HOST')?.value.trim() ?? '');
}

const TIER_TEXT: Record<RunnerTier, string> = {
  'deploy-production': 'the production deploy tier',
  'deploy-staging': 'the staging deploy tier',
  build: 'the build tier',
  general: 'the general tier',
  unknown: 'no tier the policy knows',
};

/**
 * A container started with `--privileged`, the host's root or Docker socket mounted, or the
 * host's PID/network namespace is not isolated from the machine it runs on: through it a job
 * owns the runner host, its other jobs, cached credentials and, with the socket, every
 * container on it. Such commands belong to build-tier runners only, like Docker-in-Docker
 * (`privileged-outside-build-tier`); see Docker's `docker run` reference, "Runtime privilege
 * and Linux capabilities".
 */
export default defineRule({
  meta: {
    id: 'docker-run-escape',
    kind: 'pipeline',
    title: '`docker run` with options that reach the runner host, outside the build tier',
    defaultSeverity: 'error',
    principle: 'A job stays inside its container: host namespaces, the host filesystem and the container daemon belong to build-tier runners only.',
    fix: 'Drop the option (mount only the project directory, use the default network and namespaces, add single capabilities), or route the job to the build tier with its tags (`tags: [ci-build]` by default).',
    messages: {
      escape: '`{{engine}} {{sub}}` in job `{{job}}` uses `{{what}}`, a way out of the container onto the runner host, but {{route}}, not to the build tier.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        const found = new Map<string, RuleReport>();
        for (const job of p.jobs) {
          const tier = ctx.tagTier(job.tags);
          if (tier === 'build' || usesDind(job)) continue;
          const route = job.tags.length === 0 ? 'it has no tags (any runner that takes untagged jobs may run it)' : `its tags (${job.tags.join(', ')}) route to ${TIER_TEXT[tier]}`;
          for (const line of ctx.scriptLines(job)) {
            for (const h of findDockerEscapes.of(line)) {
              const at = locateInLine(ctx, line, h.index, h.length);
              const k = `${at.file}:${at.line}:${at.column}`;
              if (found.has(k)) continue;
              found.set(k, {
                at,
                job: job.name,
                keyPath: [line.key, String(line.index)],
                discriminator: h.what,
                messageId: 'escape', data: { engine: h.engine, sub: h.sub, job: job.name, what: h.what, route },
              });
            }
          }
        }
        for (const r of found.values()) ctx.report(r);
      },
    };
  },
});
