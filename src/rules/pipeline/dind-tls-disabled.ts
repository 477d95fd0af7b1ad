import { defineRule } from '../types.js';
import type { SourceLocation } from '../../model/location.js';
import { locateInScalar, scriptSites, variableSites, type ScriptSite, type VariableSite } from './_shell.js';

const PLAIN_PORT = /^\s*tcp:\/\/[^/\s]*:2375(?![0-9])/;
const SCRIPT_HOST = /\bDOCKER_HOST=(["']?)tcp:\/\/[^\s"'/]*:2375(?![0-9])/g;
const SCRIPT_CERTDIR = /\bDOCKER_TLS_CERTDIR=(""|''|(?=[\s;&|]|$))/g;

/**
 * The `docker:dind` image generates TLS certificates under `DOCKER_TLS_CERTDIR` and serves on
 * 2376; an empty `DOCKER_TLS_CERTDIR` makes it listen on 2375 without TLS or authentication
 * (docker-library `dockerd-entrypoint.sh`). Anything that can reach the service — other
 * services of the job, other containers on the network — then drives a privileged daemon.
 */
export default defineRule({
  meta: {
    id: 'dind-tls-disabled',
    kind: 'pipeline',
    title: 'Docker-in-Docker without TLS',
    defaultSeverity: 'warning',
    principle: 'A privileged Docker daemon is root on the runner: only the job that owns it may talk to it, authenticated.',
    fix: 'Keep TLS on: `DOCKER_TLS_CERTDIR: "/certs"` (the dind default), `DOCKER_HOST: tcp://docker:2376` and `DOCKER_TLS_VERIFY: 1` with `DOCKER_CERT_PATH: "$DOCKER_TLS_CERTDIR/client"`.',
    messages: {
      certdirEmpty: '{{where}} DOCKER_TLS_CERTDIR is empty: the dind daemon then serves on port 2375 without TLS or authentication, so anything that reaches it drives a privileged daemon.',
      certdirEmptiedInScript: '`{{key}}`{{ofJob}} empties DOCKER_TLS_CERTDIR, which turns TLS off for the dind daemon; keep it at `/certs`.',
      plainPort: '{{where}} DOCKER_HOST uses port 2375, the Docker API without TLS or authentication; use port 2376 with TLS.',
      plainPortInScript: '`{{key}}`{{ofJob}} sets DOCKER_HOST to port 2375, the Docker API without TLS or authentication; use port 2376 with TLS.',
    },
  },
  create(ctx) {
    const sameLoc = (a: SourceLocation | undefined, b: SourceLocation) => !!a && a.file === b.file && a.line === b.line && a.column === b.column;
    return {
      pipeline(p) {
        // One finding per daemon: an empty DOCKER_TLS_CERTDIR and a DOCKER_HOST on port 2375
        // are two sides of the same unauthenticated daemon, so the DOCKER_HOST finding is left
        // out for jobs whose TLS-off setting is already reported.
        const reportedJobs = new Set<string>();
        const jobsOfVariable = (site: VariableSite): string[] =>
          site.job ? [site.job] : p.jobs.filter((j) => sameLoc(j.variables.get(site.def.name)?.valueLoc, site.def.valueLoc)).map((j) => j.name);
        const jobsOfScript = (site: ScriptSite): string[] =>
          site.job ? [site.job] : p.jobs.filter((j) => ctx.scriptLines(j).some((l) => sameLoc(l.loc, site.line.loc))).map((j) => j.name);
        const covered = (jobs: string[]) => jobs.length > 0 && jobs.every((j) => reportedJobs.has(j));
        const sites = variableSites(p);
        const scripts = scriptSites(p);
        for (const site of sites) {
          const { def } = site;
          if (def.name !== 'DOCKER_TLS_CERTDIR' || def.value.trim() !== '') continue;
          for (const j of jobsOfVariable(site)) reportedJobs.add(j);
          ctx.report({
            at: def.valueLoc,
            job: site.job,
            keyPath: site.keyPath,
            messageId: 'certdirEmpty', data: { where: site.where },
          });
        }
        for (const site of scripts) {
          const text = site.line.text;
          SCRIPT_CERTDIR.lastIndex = 0;
          for (let m = SCRIPT_CERTDIR.exec(text); m; m = SCRIPT_CERTDIR.exec(text)) {
            for (const j of jobsOfScript(site)) reportedJobs.add(j);
            ctx.report({
              at: locateInScalar(p, site.line.loc, text, m.index, m[0].length),
              job: site.job,
              keyPath: site.keyPath,
              discriminator: 'certdir',
              messageId: 'certdirEmptiedInScript', data: { key: site.line.key, ofJob: site.job ? ` of job \`${site.job}\`` : '' },
            });
            if (m[0].length === 0) SCRIPT_CERTDIR.lastIndex++;
          }
        }
        for (const site of sites) {
          const { def } = site;
          if (def.name !== 'DOCKER_HOST' || !PLAIN_PORT.test(def.value) || covered(jobsOfVariable(site))) continue;
          const m = PLAIN_PORT.exec(def.value)!;
          const start = m[0].length - m[0].trimStart().length;
          ctx.report({
            at: locateInScalar(p, def.valueLoc, def.value, start, m[0].length - start),
            job: site.job,
            keyPath: site.keyPath,
            messageId: 'plainPort', data: { where: site.where },
          });
        }
        for (const site of scripts) {
          const text = site.line.text;
          SCRIPT_HOST.lastIndex = 0;
          // Which jobs run the line is asked only of lines that set DOCKER_HOST (it walks every job).
          let skip: boolean | undefined;
          for (let m = SCRIPT_HOST.exec(text); m; m = SCRIPT_HOST.exec(text)) {
            skip ??= covered(jobsOfScript(site));
            if (skip) break;
            ctx.report({
              at: locateInScalar(p, site.line.loc, text, m.index, m[0].length),
              job: site.job,
              keyPath: site.keyPath,
              discriminator: 'host',
              messageId: 'plainPortInScript', data: { key: site.line.key, ofJob: site.job ? ` of job \`${site.job}\`` : '' },
            });
          }
        }
      },
    };
  },
});
