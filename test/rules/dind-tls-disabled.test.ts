import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/dind-tls-disabled.js';
import { checkRule } from './harness.js';

describe('dind-tls-disabled', () => {
  it('flags an empty DOCKER_TLS_CERTDIR and port 2375, in variables and scripts', async () => {
    await checkRule(rule, {
      valid: [
        'variables:\n  DOCKER_TLS_CERTDIR: "/certs"\n  DOCKER_HOST: tcp://docker:2376\nbuild:\n  script: docker build .\n',
        'build:\n  script:\n    - export DOCKER_HOST=tcp://docker:23750\n    - echo DOCKER_TLS_CERTDIR=/certs\n',
      ],
      invalid: [
        {
          name: 'global and job variables, map form',
          code: 'variables:\n  DOCKER_TLS_CERTDIR: ""\nbuild:\n  variables:\n    DOCKER_HOST:\n      value: tcp://docker:2375\n  script: docker build .\n',
          errors: [
            // One daemon, one finding: the DOCKER_HOST of the same job is not reported again.
            { line: 2, column: 23, severity: 'warning', message: /^Global variable DOCKER_TLS_CERTDIR is empty: the dind daemon then serves on port 2375/ },
          ],
        },
        {
          name: 'DOCKER_HOST on 2375 with TLS settings left alone: reported',
          code: 'build:\n  services: [docker:24-dind]\n  variables:\n    DOCKER_HOST: tcp://docker:2375\n  script: docker build .\n',
          errors: [{ line: 4, column: 18, job: 'build', message: /^Variable of job `build` DOCKER_HOST uses port 2375/ }],
        },
        {
          name: 'two daemons in two jobs: one finding each',
          code: 'a:\n  variables:\n    DOCKER_TLS_CERTDIR: ""\n    DOCKER_HOST: tcp://docker:2375\n  script: docker build .\nb:\n  variables:\n    DOCKER_TLS_CERTDIR: ""\n    DOCKER_HOST: tcp://docker:2375\n  script: docker build .\n',
          errors: [{ line: 3, column: 25, job: 'a' }, { line: 8, column: 25, job: 'b' }],
        },
        {
          name: 'script export',
          code: 'build:\n  script:\n    - export DOCKER_HOST=tcp://docker:2375\n    - DOCKER_TLS_CERTDIR="" ./run.sh\n',
          errors: [{ line: 4, column: 7, job: 'build', message: /empties DOCKER_TLS_CERTDIR/ }],
        },
        {
          name: 'script export of port 2375 alone',
          code: 'build:\n  script:\n    - export DOCKER_HOST=tcp://docker:2375\n    - docker build .\n',
          errors: [{ line: 3, column: 14, job: 'build', message: /`script` of job `build` sets DOCKER_HOST to port 2375/ }],
        },
      ],
    });
  });
});
