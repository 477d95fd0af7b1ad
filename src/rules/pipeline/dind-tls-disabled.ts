import { defineRule } from '../types.js';
import { locateInScalar, scriptSites, variableSites } from './_shell.js';

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
  },
  create(ctx) {
    return {
      pipeline(p) {
        for (const site of variableSites(p)) {
          const { def } = site;
          if (def.name === 'DOCKER_TLS_CERTDIR' && def.value.trim() === '') {
            ctx.report({
              at: def.valueLoc,
              job: site.job,
              keyPath: site.keyPath,
              message: `${site.where} DOCKER_TLS_CERTDIR is empty: the dind daemon then serves on port 2375 without TLS or authentication, so anything that reaches it drives a privileged daemon`,
            });
          } else if (def.name === 'DOCKER_HOST' && PLAIN_PORT.test(def.value)) {
            const m = PLAIN_PORT.exec(def.value)!;
            const start = m[0].length - m[0].trimStart().length;
            ctx.report({
              at: locateInScalar(p, def.valueLoc, def.value, start, m[0].length - start),
              job: site.job,
              keyPath: site.keyPath,
              message: `${site.where} DOCKER_HOST uses port 2375, the Docker API without TLS or authentication`,
            });
          }
        }
        for (const site of scriptSites(p)) {
          const text = site.line.text;
          for (const [re, what] of [
            [SCRIPT_HOST, 'sets DOCKER_HOST to port 2375, the Docker API without TLS or authentication'],
            [SCRIPT_CERTDIR, 'empties DOCKER_TLS_CERTDIR, which turns TLS off for the dind daemon'],
          ] as const) {
            re.lastIndex = 0;
            for (let m = re.exec(text); m; m = re.exec(text)) {
              ctx.report({
                at: locateInScalar(p, site.line.loc, text, m.index, m[0].length),
                job: site.job,
                keyPath: site.keyPath,
                discriminator: what,
                message: `\`${site.line.key}\`${site.job ? ` of job \`${site.job}\`` : ''} ${what}`,
              });
              if (m[0].length === 0) re.lastIndex++;
            }
          }
        }
      },
    };
  },
});
