import type { SourceLocation } from '../../model/location.js';
import { get, str } from '../../model/node.js';
import type { Job } from '../../model/pipeline.js';
import { defineRule, type ContextId, type ScriptLine, TRUSTED_CONTEXTS, UNTRUSTED_CONTEXTS } from '../types.js';
import { commandIndex, programName, segments, unquote } from './_shell.js';
import { codeList } from './_trust-text.js';

/** `tcp://host[:port]` (also `ssh://`): the daemon address, without a path. */
const REMOTE = /^\s*(tcp|ssh):\/\/([^/\s:]+)(?::(\d+))?/;

interface DaemonUse {
  address: string;
  host: string;
  at: SourceLocation;
  where: string;
}

/** Host names that are the job's own containers: its services' aliases and default names. */
function ownHosts(job: Job): Set<string> {
  const out = serviceHosts(job);
  for (const h of ['docker', 'dind', 'docker-dind']) out.add(h);
  return out;
}

/** The job's service containers' host names (aliases and default names) and localhost. */
export function serviceHosts(job: Job): Set<string> {
  const out = new Set(['localhost', '127.0.0.1']);
  const services = get(job.node, 'services');
  if (services?.kind !== 'seq') return out;
  for (const s of services.items) {
    const name = str(s.kind === 'map' ? get(s, 'name') : s) ?? '';
    // Default aliases (`doc/ci/services/_index.md#accessing-the-services`): the image path
    // without tag, `/` replaced by `__` and by `-`.
    const path = name.replace(/@.*$/s, '').replace(/:[^/]*$/, '');
    out.add(path.replace(/\//g, '__'));
    out.add(path.replace(/\//g, '-'));
    for (const a of (str(get(s, 'alias')) ?? '').split(/[,\s]+/)) if (a) out.add(a);
  }
  return out;
}

/** A remote daemon address (REMOTE: scheme, host, optional port). */
function remoteAddress(value: string): { address: string; host: string } | undefined {
  const m = REMOTE.exec(value);
  if (!m) return undefined;
  const [, scheme = '', host = '', port] = m; // scheme and host are required groups
  return { address: `${scheme}://${host}${port ? ':' + port : ''}`, host };
}

/**
 * Whether a script line can hold a word that unquotes to `DOCKER_HOST=…` (`DOCKER_"HOST"=…`):
 * words start outside quotes, so the unquoted line holds every word's unquoted text. A line
 * without it is not read word by word (most lines of most jobs).
 */
function mayAssignDockerHost(text: string): boolean {
  return text.includes('DOCKER_HOST=') || unquote(text).includes('DOCKER_HOST=');
}

/**
 * The remote Docker daemon a job drives: `DOCKER_HOST` in its variables (when it runs
 * `docker`, or sets it itself) or exported by its script, pointing at a host that is not one of
 * the job's own service containers.
 */
function remoteDaemon(job: Job, lines: readonly ScriptLine[], locate: (line: ScriptLine, i: number, n: number) => SourceLocation): DaemonUse | undefined {
  // Worked out only for an address found (most jobs have none).
  let own: Set<string> | undefined;
  const isOwn = (host: string) => (own ??= ownHosts(job)).has(host);
  const usesDocker = () => lines.some((l) => segments.of(l).some((s) => /^(docker|docker-compose|buildx|earthly)$/.test(programName(s.words[commandIndex(s.words)]))));
  const dh = job.variables.get('DOCKER_HOST');
  if (dh) {
    const d = remoteAddress(dh.value);
    if (d && !isOwn(d.host) && (job.jobVariables.has('DOCKER_HOST') || usesDocker())) return { ...d, at: dh.valueLoc, where: 'variable' };
  }
  for (const line of lines) {
    if (!mayAssignDockerHost(line.text)) continue;
    for (const seg of segments.of(line)) {
      for (const w of seg.words) {
        const x = unquote(w.raw);
        const d = x.startsWith('DOCKER_HOST=') ? remoteAddress(x.slice('DOCKER_HOST='.length)) : undefined;
        if (d && !isOwn(d.host)) return { ...d, at: locate(line, w.start, w.end - w.start), where: 'script' };
      }
    }
  }
  return undefined;
}

/**
 * A Docker daemon is root on its host and keeps images, build cache and running containers.
 * When jobs of merge request or unprotected-ref pipelines reach the same remote daemon
 * (`DOCKER_HOST: tcp://…`) as protected pipelines, the untrusted job can replace the images,
 * poison the build cache and read the containers of the trusted ones — TLS or not, since
 * every job holds the same client certificate.
 */
export default defineRule({
  meta: {
    id: 'docker-daemon-shared',
    kind: 'pipeline',
    title: 'One remote Docker daemon serves untrusted and trusted pipelines',
    defaultSeverity: 'error',
    principle: 'Trust tiers do not share state: a daemon used by merge request pipelines must not also build or run what protected pipelines ship.',
    fix: 'Give each job its own daemon (a `docker:<version>-dind` service with TLS on a build-tier runner) or daemonless builds (BuildKit rootless, Kaniko, Buildah); if a shared daemon is unavoidable, use separate daemons for protected and unprotected refs.',
    messages: {
      sharedDaemon: 'DOCKER_HOST {{address}} is one Docker daemon shared by untrusted ({{untrusted}}) and trusted ({{trusted}}) pipelines: merge request code can replace the images protected pipelines build and run.',
    },
  },
  create(ctx) {
    return {
      pipeline(p) {
        const byAddress = new Map<string, { uses: { job: Job; use: DaemonUse }[]; untrusted: Set<ContextId>; trusted: Set<ContextId> }>();
        for (const job of p.jobs) {
          if (job.kind === 'bridge') continue;
          const use = remoteDaemon(job, ctx.scriptLines(job), ctx.locateInScript);
          if (!use) continue;
          const trust = ctx.trust(job);
          const g = byAddress.get(use.address) ?? { uses: [], untrusted: new Set(), trusted: new Set() };
          g.uses.push({ job, use });
          for (const c of trust.untrusted) g.untrusted.add(c);
          for (const c of trust.trusted) g.trusted.add(c);
          byAddress.set(use.address, g);
        }
        for (const [address, g] of byAddress) {
          if (g.untrusted.size === 0 || g.trusted.size === 0) continue;
          const seen = new Set<string>();
          const untrusted = UNTRUSTED_CONTEXTS.filter((c) => g.untrusted.has(c));
          const trusted = TRUSTED_CONTEXTS.filter((c) => g.trusted.has(c));
          for (const { job, use } of g.uses) {
            const k = `${use.at.file}:${use.at.line}:${use.at.column}`;
            if (seen.has(k)) continue;
            seen.add(k);
            const jobs = g.uses.map((u) => u.job.name);
            ctx.report({
              at: use.at,
              job: job.name,
              keyPath: use.where === 'variable' ? ['variables', 'DOCKER_HOST'] : ['script', 'DOCKER_HOST'],
              details: { jobs },
              messageId: 'sharedDaemon',
              data: { address, untrusted: codeList(untrusted), trusted: codeList(trusted) },
            });
          }
        }
      },
    };
  },
});
