import { describe, it } from 'vitest';
import rule from '../../src/rules/pipeline/docker-daemon-shared.js';
import { checkRule } from './harness.js';

const MR = '  rules:\n    - if: $CI_PIPELINE_SOURCE == "merge_request_event"\n';
const MAIN = '  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n';

describe('docker-daemon-shared', () => {
  it('flags one remote DOCKER_HOST used by untrusted and trusted pipelines', async () => {
    await checkRule(rule, {
      valid: [
        // The job's own dind service.
        'variables:\n  DOCKER_HOST: tcp://docker:2376\nbuild:\n  services: [docker:27-dind]\n  script: docker build .\n',
        // A remote daemon only for protected pipelines.
        `build:\n  variables:\n    DOCKER_HOST: tcp://builder.internal:2376\n  script: docker build .\n${MAIN}`,
        // A remote daemon only for merge requests.
        `test:\n  variables:\n    DOCKER_HOST: tcp://mr-builder.internal:2376\n  script: docker build .\n${MR}`,
        // Global DOCKER_HOST, but no job runs docker.
        'variables:\n  DOCKER_HOST: tcp://builder.internal:2376\nlint:\n  script: make lint\n',
      ],
      invalid: [
        {
          name: 'global DOCKER_HOST, jobs on MRs and on the default branch, TLS on: one finding at the value',
          code: `variables:\n  DOCKER_HOST: tcp://builder.internal:2376\n  DOCKER_TLS_VERIFY: "1"\ntest:\n  script: docker build .\n${MR}release:\n  script: docker build -t x . && docker push x\n${MAIN}`,
          errors: [{ line: 2, column: 16, job: 'test', message: /^DOCKER_HOST tcp:\/\/builder.internal:2376 is one Docker daemon shared by untrusted \(`mr-fork` and `mr`\) and trusted \(`default-branch` and `schedule`\) pipelines: / }],
        },
        {
          name: 'one job without rules runs on branches and the default branch; exported in the script',
          code: 'build:\n  script:\n    - export DOCKER_HOST=tcp://10.0.0.5:2375\n    - docker build .\n',
          errors: [{ line: 3, column: 14, job: 'build', message: /tcp:\/\/10.0.0.5:2375 .*untrusted \(`branch`/ }],
        },
        {
          // What the shell runs, however the assignment is quoted: quotes inside the name, a
          // backslash, the whole word quoted. Each line is read (DOCKER_HOST is not written as such).
          name: 'DOCKER_HOST set in the script with quotes or a backslash inside the name',
          code: 'a:\n  script:\n    - export DOCKER_"HOST"=tcp://10.0.0.6:2375\n    - docker build .\nb:\n  script:\n    - DOCKER_HO\\ST=tcp://10.0.0.7:2375 docker build .\nc:\n  script:\n    - export \'DOCKER_HOST=tcp://10.0.0.8:2375\'\n    - docker build .\n',
          errors: [
            { line: 3, column: 14, job: 'a', message: /tcp:\/\/10.0.0.6:2375 / },
            { line: 7, column: 7, job: 'b', message: /tcp:\/\/10.0.0.7:2375 / },
            { line: 10, column: 14, job: 'c', message: /tcp:\/\/10.0.0.8:2375 / },
          ],
        },
      ],
    });
  });
});
