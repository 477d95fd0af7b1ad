import { describe, expect, it } from 'vitest';
import { keyUncertainty, buildPipeline, type Pipeline } from '../../src/model/pipeline.js';
import { strList, get } from '../../src/model/node.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { pipelineTrust } from '../../src/contexts/trust.js';

async function load(files: Record<string, string>): Promise<Pipeline> {
  return buildPipeline(new MemorySource(files), '.gitlab-ci.yml');
}
const job = (p: Pipeline, name: string) => p.jobs.find((j) => j.name === name)!;

const UNREAD_PARENT = `include:
  - remote: https://example.com/ci/scan.yml
.known:
  tags: [ci-general]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
scan:
  extends: [.known, .from_remote]
  script: scan
scan_first:
  extends: [.from_remote, .known]
  script: scan
only_remote:
  extends: .from_remote
`;

describe('an unread `extends` parent (regression: the known parent used to be dropped)', () => {
  it('keeps the known parent keys, merged in order, and marks what the unread parent may override', async () => {
    const p = await load({ '.gitlab-ci.yml': UNREAD_PARENT });
    const scan = job(p, 'scan');
    expect(scan.tags).toEqual(['ci-general']);
    expect(strList(get(scan.node, 'rules', 0, 'if'))).toEqual(['$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH']);
    expect(scan.partial?.unreadParents).toEqual(['.from_remote']);
    expect(keyUncertainty(scan, 'script')).toBeUndefined();
    expect(keyUncertainty(scan, 'tags')).toBe('`tags` may be overridden by `.from_remote` (from an include that was not read: include:remote `https://example.com/ci/scan.yml`)');
    expect(keyUncertainty(scan, 'image')).toMatch(/^`image` may be set by `.from_remote`/);
    // the known parent merged after the unread one wins: its keys are certain
    const first = job(p, 'scan_first');
    expect(keyUncertainty(first, 'tags')).toBeUndefined();
    expect(keyUncertainty(first, 'rules')).toBeUndefined();
    expect(keyUncertainty(first, 'image')).toMatch(/may be set/);
    // a job whose script may come from the unread parent is kept (a note, not an error)
    expect(job(p, 'only_remote').partial?.unreadParents).toEqual(['.from_remote']);
    expect(p.diagnostics.filter((d) => d.kind === 'invalid')).toEqual([]);
  });

  it('makes the job "may run" where the unread parent could override its rules, naming the include', async () => {
    const p = await load({ '.gitlab-ci.yml': UNREAD_PARENT });
    const trust = pipelineTrust(p, builtinPolicy(), 'main');
    const scan = trust(job(p, 'scan'));
    expect(scan.byContext.mr.runs).toBe('unknown');
    expect(scan.byContext.mr.reason).toMatch(/^`rules` may be overridden by `.from_remote` \(from an include that was not read: include:remote `https:\/\/example.com\/ci\/scan.yml`\)/);
    expect(scan.byContext['default-branch'].runs).toBe('unknown');
    const first = trust(job(p, 'scan_first'));
    expect(first.byContext.mr.runs).toBe('no');
    expect(first.byContext['default-branch'].runs).toBe('yes');
  });

  it('keeps a job written over one from an unread include (a component job with overridden rules)', async () => {
    const p = await load({ '.gitlab-ci.yml': 'include:\n  - component: gitlab.com/c/sast/sast@1.0\nsast:\n  rules:\n    - if: $CI_COMMIT_BRANCH\n' });
    const sast = job(p, 'sast');
    expect(keyUncertainty(sast, 'rules')).toBeUndefined();
    expect(keyUncertainty(sast, 'script')).toBe('`script` may be set by the job of the same name in an include that was not read: include:component `gitlab.com/c/sast/sast@1.0`');
    expect(p.diagnostics.map((d) => d.kind)).toEqual(['unresolved', 'unresolved']);
    const trust = pipelineTrust(p, builtinPolicy(), 'main');
    expect(trust(sast).byContext.mr.runs).toBe('no');
  });

  it('with every include read, an unknown parent is still an error GitLab reports', async () => {
    const p = await load({ '.gitlab-ci.yml': 'scan:\n  extends: [.nope]\n  script: x\n' });
    expect(p.diagnostics.filter((d) => d.kind === 'invalid').map((d) => d.message)).toEqual(['`scan`: unknown keys in `extends` (.nope)']);
    expect(job(p, 'scan').partial).toBeUndefined();
  });
});

describe('tags that interpolate variables: attacker-chosen routing', () => {
  it('marks the untrusted contexts where whoever starts the pipeline picks the runner tag', async () => {
    const p = await load({
      '.gitlab-ci.yml': `variables:
  RUNNER_TAG: ci-general
  SLUG_TAG: runner-$CI_COMMIT_REF_SLUG
by-branch:
  tags: [$CI_COMMIT_REF_NAME]
  script: x
by-variable:
  tags: [$RUNNER_TAG]
  script: x
by-expansion:
  tags: ["\${SLUG_TAG}"]
  script: x
by-project-variable:
  tags: [$DEPLOY_RUNNER]
  script: x
fixed:
  tags: [ci-general]
  script: x
`,
    });
    const trust = pipelineTrust(p, builtinPolicy(), 'main', { cicdVariables: ['DEPLOY_RUNNER'] });
    expect(trust(job(p, 'by-branch')).attackerChosenTags).toEqual({
      branch: ['$CI_COMMIT_REF_NAME is chosen by whoever starts the pipeline'],
      'unprotected-tag': ['$CI_COMMIT_REF_NAME is chosen by whoever starts the pipeline'],
      'web-unprotected': ['$CI_COMMIT_REF_NAME is chosen by whoever starts the pipeline'],
    });
    expect(trust(job(p, 'by-variable')).attackerChosenTags).toEqual({
      branch: ['$RUNNER_TAG may be set by a pipeline variable (`git push -o ci.variable=…`)'],
      'unprotected-tag': ['$RUNNER_TAG may be set by a pipeline variable (`git push -o ci.variable=…`)'],
      'web-unprotected': ['$RUNNER_TAG may be set by a pipeline variable (the run pipeline form, the API or a trigger token)'],
    });
    expect(trust(job(p, 'by-expansion')).attackerChosenTags?.branch).toEqual(['$SLUG_TAG may be set by a pipeline variable (`git push -o ci.variable=…`)']);
    // a project/group CI/CD variable is set by maintainers; fixed tags are nobody's choice
    expect(trust(job(p, 'by-project-variable')).attackerChosenTags).toBeUndefined();
    expect(trust(job(p, 'fixed')).attackerChosenTags).toBeUndefined();
    // with pipeline variables restricted, only the ref name remains attacker-chosen
    const restricted = pipelineTrust(p, builtinPolicy(), 'main', { userPipelineVariables: false });
    expect(restricted(job(p, 'by-variable')).attackerChosenTags).toBeUndefined();
    expect(restricted(job(p, 'by-expansion')).attackerChosenTags?.branch).toEqual(['$SLUG_TAG = runner-$CI_COMMIT_REF_SLUG: $CI_COMMIT_REF_SLUG is chosen by whoever starts the pipeline']);
  });
});
