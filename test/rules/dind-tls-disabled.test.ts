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
            { line: 2, column: 23, severity: 'warning', message: /^global variable DOCKER_TLS_CERTDIR is empty: the dind daemon then serves on port 2375/ },
            { line: 6, column: 14, job: 'build', message: /^variable of job `build` DOCKER_HOST uses port 2375/ },
          ],
        },
        {
          name: 'script export',
          code: 'build:\n  script:\n    - export DOCKER_HOST=tcp://docker:2375\n    - DOCKER_TLS_CERTDIR="" ./run.sh\n',
          errors: [
            { line: 3, column: 14, job: 'build', message: /`script` of job `build` sets DOCKER_HOST to port 2375/ },
            { line: 4, column: 7, job: 'build', message: /empties DOCKER_TLS_CERTDIR/ },
          ],
        },
      ],
    });
  });
});
