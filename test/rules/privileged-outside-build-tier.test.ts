import { describe, expect, it } from 'vitest';
import rule, { isDindImage } from '../../src/rules/pipeline/privileged-outside-build-tier.js';
import { checkRule } from './harness.js';

describe('privileged-outside-build-tier', () => {
  it('recognises dind images', () => {
    for (const n of ['docker:dind', 'docker:24-dind', 'docker:24.0.5-dind-rootless', 'registry.example.com:5000/mirror/docker:dind', 'docker:dind@sha256:abc', 'example/docker-dind:1']) expect(isDindImage(n), n).toBe(true);
    for (const n of ['docker:24', 'docker', 'alpine:3.19', 'dindtools/x:1', 'docker:24-cli']) expect(isDindImage(n), n).toBe(false);
  });

  it('flags dind outside build-tier tags', async () => {
    await checkRule(rule, {
      valid: [
        'build:\n  image: docker:24\n  services:\n    - docker:24-dind\n  tags: [ci-build]\n  script: docker build .\n',
        'test:\n  image: node:20\n  tags: [ci-general]\n  script: npm test\n',
        // Global DOCKER_HOST, job does not use docker.
        'variables:\n  DOCKER_HOST: tcp://docker:2376\nlint:\n  tags: [ci-general]\n  script: make lint\n',
      ],
      invalid: [
        {
          name: 'string service, general tags',
          code: 'build:\n  image: docker:24\n  services:\n    - docker:24-dind\n  tags: [ci-general]\n  script: docker build .\n',
          errors: [{ line: 4, column: 7, job: 'build', message: /^job `build` runs Docker-in-Docker \(service `docker:24-dind`\).*its tags \(ci-general\) route to the general tier, not to the build tier \(ci-build\)/ }],
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
          name: 'DOCKER_HOST to a dind alias',
          code: 'variables:\n  DOCKER_HOST: tcp://docker:2375\nbuild:\n  tags: [ci-general]\n  script:\n    - docker build .\n',
          errors: [{ line: 2, column: 16, job: 'build', message: /DOCKER_HOST tcp:\/\/docker:2375/ }],
        },
      ],
    });
  });
});
