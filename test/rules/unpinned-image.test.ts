import { describe, expect, it } from 'vitest';
import rule, { floatingTag } from '../../src/rules/pipeline/unpinned-image.js';
import { checkRule } from './harness.js';

const DIGEST = '@sha256:' + 'a'.repeat(64);

describe('unpinned-image', () => {
  it('classifies image references', () => {
    expect(floatingTag('node')).toBe('no-tag');
    expect(floatingTag('registry.example.com:5000/group/app')).toBe('no-tag');
    expect(floatingTag('node:latest')).toBe('latest');
    expect(floatingTag('node:20-alpine')).toBeUndefined();
    expect(floatingTag('node' + DIGEST)).toBeUndefined();
    expect(floatingTag('$CI_REGISTRY_IMAGE/builder:$TAG')).toBeUndefined();
    expect(floatingTag('$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA')).toBeUndefined();
    expect(floatingTag('$IMAGE')).toBeUndefined();
    expect(floatingTag('$CI_REGISTRY_IMAGE/builder')).toBe('no-tag');
    expect(floatingTag('$CI_REGISTRY/tools:latest')).toBe('latest');
  });

  it('flags floating images once per place, and deploy images without a digest', async () => {
    await checkRule(rule, {
      valid: [
        'test:\n  image: node:20.11-alpine\n  services:\n    - postgres:16\n    - name: redis:7.2\n  script: npm test\n',
        `deploy:\n  image: registry.example.com/tools/kubectl:1.29${DIGEST}\n  environment: production\n  script: ./deploy.sh\n`,
        'build:\n  image: $CI_REGISTRY_IMAGE/builder:$BUILDER_TAG\n  script: make\n',
      ],
      invalid: [
        {
          name: 'no tag, latest, map service; default image shared by jobs is reported once',
          code: 'default:\n  image: python\na:\n  script: make\nb:\n  services:\n    - name: postgres:latest\n  script: make\nc:\n  script: make\n',
          errors: [
            { line: 2, column: 10, job: 'a', message: /^Image `python` has no tag \(pulls `latest`\): whatever is pushed there next runs in jobs `a`, `b`, `c`; pin a version tag\.$/ },
            { line: 7, column: 13, job: 'b', message: /^Service `postgres:latest` is at `:latest`: .* job `b`; pin a version tag\.$/ },
          ],
        },
        {
          name: 'deploy job without digest, through extends',
          code: '.deploy:\n  image: registry.example.com/tools/kubectl:1.29\n  environment:\n    name: production\nprod:\n  extends: .deploy\n  script: ./deploy.sh\n',
          errors: [{ line: 2, column: 10, job: 'prod', message: /^Deploy job `prod` \(production\) uses image `registry\.example\.com\/tools\/kubectl:1\.29` by tag, without a digest/ }],
        },
      ],
    });
  });
});
