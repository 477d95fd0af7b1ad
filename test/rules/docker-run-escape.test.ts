import { describe, expect, it } from 'vitest';
import rule, { findDockerEscapes } from '../../src/rules/pipeline/docker-run-escape.js';
import { checkRule } from './harness.js';

const hits = (t: string) => findDockerEscapes(t).map((h) => `${h.what}@${h.index}`);

describe('docker-run-escape detection', () => {
  it('finds the options that reach the host', () => {
    expect(hits('docker run --privileged alpine sh')).toEqual(['--privileged@11']);
    expect(hits('docker run --rm -v /var/run/docker.sock:/var/run/docker.sock img')).toEqual(['-v /var/run/docker.sock@16']);
    expect(hits('docker run -v /:/host alpine')).toEqual(['-v /@11']);
    expect(hits('docker container create --pid=host --net host img')).toEqual(['--pid=host@24', '--net=host@35']);
    expect(hits('sudo podman run --cap-add=SYS_ADMIN --security-opt seccomp=unconfined img')).toEqual(['--cap-add=SYS_ADMIN@16', '--security-opt seccomp=unconfined@36']);
    expect(hits('docker run --mount type=bind,source=/,target=/host img')).toEqual(['--mount /@11']);
    expect(hits('docker -H tcp://h:2375 run --network=host img')).toEqual(['--network=host@27']);
  });
  it('leaves contained runs alone', () => {
    for (const t of [
      'docker run --rm -v "$PWD":/code -w /code node:20 npm test',
      'docker run --rm --network my-net img',
      'docker run img --privileged',
      'docker build --network=host .',
      'docker run -e PRIVILEGED=1 --cap-add NET_ADMIN img',
      'echo docker run --privileged',
    ]) {
      expect(hits(t), t).toEqual([]);
    }
  });
});

describe('docker-run-escape', () => {
  it('reports at the option outside the build tier', async () => {
    await checkRule(rule, {
      valid: [
        'itest:\n  tags: [ci-build]\n  script: docker run --privileged img\n',
        // With a dind service the daemon is the dind container (privileged-outside-build-tier reports the job).
        'itest:\n  image: docker:24\n  services: [docker:24-dind]\n  script: docker run -v /var/run/docker.sock:/var/run/docker.sock img\n',
      ],
      invalid: [
        {
          name: 'untagged, multi-line command',
          code: 'itest:\n  script:\n    - docker run\n        --rm\n        -v /var/run/docker.sock:/var/run/docker.sock\n        testcontainers/ryuk\n',
          errors: [{ line: 5, column: 9, job: 'itest', severity: 'error', message: /^`docker run` in job `itest` uses `-v \/var\/run\/docker\.sock`, a way out of the container onto the runner host, but it has no tags/ }],
        },
        {
          name: 'general tier, block scalar, two options',
          code: 'scan:\n  tags: [ci-general]\n  script:\n    - |\n      docker run --privileged --pid=host img\n',
          errors: [
            { line: 5, column: 18, job: 'scan', message: /`--privileged`.*its tags \(ci-general\) route to the general tier/ },
            { line: 5, column: 31, job: 'scan', message: /`--pid=host`/ },
          ],
        },
      ],
    });
  });
});
