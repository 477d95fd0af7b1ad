import { describe, expect, it } from 'vitest';
import rule, { isDaemonServiceImage, isDindImage } from '../../src/rules/pipeline/privileged-outside-build-tier.js';
import { checkRule } from './harness.js';

describe('privileged-outside-build-tier', () => {
  it('recognises dind images', () => {
    for (const n of ['docker:dind', 'docker:24-dind', 'docker:24.0.5-dind-rootless', 'registry.example.com:5000/mirror/docker:dind', 'docker:dind@sha256:abc', 'example/docker-dind:1']) expect(isDindImage(n), n).toBe(true);
    for (const n of ['docker:24', 'docker', 'alpine:3.19', 'dindtools/x:1', 'docker:24-cli']) expect(isDindImage(n), n).toBe(false);
  });

  it('recognises daemon services: a bare docker:<version> is the dind variant', () => {
    for (const n of ['docker:29.6.2', 'docker', 'docker:latest', 'docker:24', 'mirror.gcr.io/library/docker:27.1', '${CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX}/docker:26', 'docker:dind']) expect(isDaemonServiceImage(n), n).toBe(true);
    for (const n of ['docker:24-cli', 'docker:27-windowsservercore', 'alpine:3.19', 'docker/compose:1.29', 'postgres:16']) expect(isDaemonServiceImage(n), n).toBe(false);
  });

  it('flags dind outside build-tier tags', async () => {
    await checkRule(rule, {
      valid: [
        'build:\n  image: docker:24\n  services:\n    - docker:24-dind\n  tags: [ci-build]\n  script: docker build .\n',
        'test:\n  image: node:20\n  tags: [ci-general]\n  script: npm test\n',
        // A dind image as the job image with a normal script starts no daemon.
        'test:\n  image: docker:dind\n  tags: [ci-general]\n  script: docker version || true\n',
        // A variable service image with another alias.
        'test:\n  services:\n    - name: $DB_IMAGE\n      alias: db\n  tags: [ci-general]\n  script: make test\n',
        // The docker CLI image as a service starts no daemon.
        'test:\n  services: [docker:27-cli]\n  tags: [ci-general]\n  script: make test\n',
        // Global DOCKER_HOST, job does not use docker.
        'variables:\n  DOCKER_HOST: tcp://docker:2376\nlint:\n  tags: [ci-general]\n  script: make lint\n',
      ],
      invalid: [
        {
          name: 'string service, general tags',
          code: 'build:\n  image: docker:24\n  services:\n    - docker:24-dind\n  tags: [ci-general]\n  script: docker build .\n',
          errors: [{ line: 4, column: 7, job: 'build', message: /^Job `build` runs Docker-in-Docker \(service `docker:24-dind`\).*its tags \(ci-general\) route to the general tier, not to the build tier \(ci-build\)/ }],
        },
        {
          name: 'map service from default, untagged, rootless',
          code: 'default:\n  services:\n    - name: docker:24.0.5-dind-rootless\n      alias: dockerd\nbuild:\n  script: docker build .\n',
          errors: [{ line: 3, column: 13, job: 'build', message: /has no tags \(any runner that takes untagged jobs may run it\)/ }],
        },
        {
          name: 'dind as the job image, deploy tags',
          code: 'release:\n  image:\n    name: docker:dind\n  tags: [ci-deploy-prod]\n  script: dockerd & sleep 5\n',
          errors: [{ line: 3, column: 11, job: 'release', message: /image `docker:dind`.*production deploy tier/ }],
        },
        {
          name: 'a bare docker:<version> service is dind',
          code: 'build:\n  image: docker:29.6.2\n  services: [docker:29.6.2]\n  tags: [ci-general]\n  script: docker build .\n',
          errors: [{ line: 3, column: 14, job: 'build', message: /service `docker:29.6.2`/ }],
        },
        {
          name: 'a variable service image aliased docker',
          code: 'build:\n  services:\n    - name: $CI_DIND_IMAGE\n      alias: docker\n  script: docker build .\n',
          errors: [{ line: 3, column: 13, job: 'build', message: /service `\$CI_DIND_IMAGE`/ }],
        },
        {
          name: 'DOCKER_HOST to a dind alias',
          code: 'variables:\n  DOCKER_HOST: tcp://docker:2375\nbuild:\n  tags: [ci-general]\n  script:\n    - docker build .\n',
          errors: [{ line: 2, column: 16, job: 'build', message: /DOCKER_HOST tcp:\/\/docker:2375/ }],
        },
      ],
    });
  });
});
