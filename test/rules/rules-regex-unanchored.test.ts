import { describe, expect, it } from 'vitest';
import { parseExpression, type Expr } from '../../src/contexts/expression.js';
import rule, { isStartAnchored, weakGates } from '../../src/rules/pipeline/rules-regex-unanchored.js';
import { checkRule } from './harness.js';

function parseOrThrow(statement: string): Expr {
  const r = parseExpression(statement);
  if (!r.ok) throw new Error(`${statement}: ${r.error.message} at column ${r.error.column}`);
  return r.expr;
}

describe('rules-regex-unanchored detection', () => {
  it('judges anchoring per top-level alternative', () => {
    for (const s of ['^v\\d+', '\\Av1\\z', '^(v1|v2)', '(^v1|^v2)', '^a|^b', '(?:^release)/']) expect(isStartAnchored(s), s).toBe(true);
    for (const s of ['v\\d+', '^v1|beta', 'feature\\/.+', '(v1|^v2)', '[^a]v']) expect(isStartAnchored(s), s).toBe(false);
  });
  it('finds weak gates, not negations', () => {
    const g = (e: string) => weakGates(parseOrThrow(e)).map((x) => `${x.kind}:${x.variable}@${x.column}`);
    expect(g('$CI_COMMIT_TAG =~ /v\\d+/')).toEqual(['unanchored:CI_COMMIT_TAG@19']);
    expect(g('$CI_COMMIT_BRANCH == "main" || $CI_COMMIT_MESSAGE =~ /\\[deploy\\]/')).toEqual(['attacker-text:CI_COMMIT_MESSAGE@54']);
    expect(g('$CI_MERGE_REQUEST_TITLE == "deploy"')).toEqual(['attacker-text:CI_MERGE_REQUEST_TITLE@28']);
    expect(g('$CI_COMMIT_TAG =~ /^v\\d+$/')).toEqual([]);
    expect(g('$CI_COMMIT_MESSAGE !~ /skip-deploy/')).toEqual([]);
    expect(g('$CI_COMMIT_BRANCH !~ /tmp/')).toEqual([]);
    expect(g('$GITLAB_FEATURES =~ /dast/')).toEqual([]);
  });
});

describe('rules-regex-unanchored', () => {
  it('reports at the pattern in deploy-like or secret-using jobs', async () => {
    await checkRule(rule, {
      valid: [
        // Not deploy-like and no secrets.
        'test:\n  script: make test\n  rules:\n    - if: $CI_COMMIT_TAG =~ /v\\d+/\n',
        // Anchored.
        'deploy:\n  environment: production\n  script: ./deploy.sh\n  rules:\n    - if: $CI_COMMIT_TAG =~ /^v\\d+\\.\\d+\\.\\d+$/\n',
        // A `when: never` rule only excludes.
        'deploy:\n  environment: production\n  script: ./deploy.sh\n  rules:\n    - if: $CI_COMMIT_MESSAGE =~ /skip/\n      when: never\n    - if: $CI_COMMIT_TAG\n',
      ],
      invalid: [
        {
          name: 'unanchored tag pattern on a deploy',
          code: 'deploy:\n  environment: production\n  script: ./deploy.sh\n  rules:\n    - if: $CI_COMMIT_TAG =~ /v\\d+/\n',
          errors: [{ line: 5, column: 29, job: 'deploy', severity: 'warning', message: /^`rules:0:if` of deploy job `deploy` matches `\$CI_COMMIT_TAG` against `\/v\\d\+\/`, which is not anchored with `\^`/ }],
        },
        {
          name: 'commit message gate on a secret-using job',
          code: 'publish:\n  script: ./build.sh --token "$NPM_TOKEN"\n  rules:\n    - if: $CI_COMMIT_BRANCH == "main"\n    - if: $CI_COMMIT_MESSAGE =~ /\\[publish\\]/\n',
          errors: [{ line: 5, column: 33, job: 'publish', message: /^`rules:1:if` of job `publish` \(it uses `\$NPM_TOKEN`\) tests `\$CI_COMMIT_MESSAGE`, which whoever pushes/ }],
        },
      ],
    });
  });
});
