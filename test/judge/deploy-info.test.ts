/**
 * The Judgment carries, per job (child pipeline jobs included), the DeployInfo the pipeline rules
 * judged it by: the review picture, the audit and the live checks read it from there.
 */
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/judge/judge.js';
import { deployJobs } from '../../src/live/jobs.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { renderTrustGraph } from '../../src/review/render.js';

const PARENT = `build:
  tags: [ci-general]
  script: [make]
child:
  trigger:
    include: ci/child.yml
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
`;
const CHILD = `deploy:
  script: [./deploy.sh]
  environment:
    name: production
  tags: [ci-general]
  rules:
    - if: $CI_PIPELINE_SOURCE == "parent_pipeline"
`;

describe('deploy info in the Judgment', () => {
  it('per job, child pipeline jobs included, as the rules judged it; consumers read it instead of recomputing', async () => {
    const policy = builtinPolicy();
    const j = await judge({ policy, ci: { source: new MemorySource({ '.gitlab-ci.yml': PARENT, 'ci/child.yml': CHILD }), rootFile: '.gitlab-ci.yml' } });
    expect(j.jobs.map((x) => [x.job.name, x.trigger ?? null, x.deploy?.reason ?? null, x.deploy?.tier ?? null, x.deploy?.environmentName ?? null])).toEqual([
      ['build', null, null, null, null],
      ['child', null, null, null, null],
      ['deploy', 'child', 'environment', 'production', 'production'],
    ]);
    const deploy = j.jobs.find((x) => x.job.name === 'deploy')?.deploy;
    expect(deploy?.nameNode?.loc).toMatchObject({ file: 'ci/child.yml', line: 4, column: 11 });
    // The same object the child evaluation holds, which the live checks and the picture read.
    expect(j.evaluation.children?.[0]?.evaluation.deploy.get('deploy')).toBe(deploy);
    expect(deployJobs(j.evaluation).map((d) => [d.job.name, d.info])).toEqual([['deploy', deploy]]);
    expect(renderTrustGraph(j.evaluation, { policy })).toContain('🚀 child › deploy');
    // Deploy facts come from the judgment, not the policy handed to the picture.
    expect(renderTrustGraph(j.evaluation)).toContain('🚀 child › deploy');
  });
});
