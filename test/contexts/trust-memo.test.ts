import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { pipelineTrust } from '../../src/contexts/trust.js';

/**
 * Jobs that share rules are judged once per distinct set of the values the rules read. The
 * values an MR author writes must never make two different sets look the same: here `decoy`'s
 * `A` imitates what `deploy`'s `A` and `B` would look like in a joined key, and `deploy` used to
 * be judged like the decoy (never run) although it runs in merge request pipelines.
 */
const RULES_SHARED = (order: 'decoy-first' | 'deploy-first') => {
  const decoy = `decoy:
  variables:
    A: "p|B=q"
  rules: *r
  script: [echo decoy]
`;
  const deploy = `deploy:
  variables:
    A: "p"
    B: "q|B=\\0"
  rules: *r
  script: [./deploy.sh]
`;
  return `.rules:
  rules: &r
    - if: $B == "never"
      when: never
    - if: $CI_PIPELINE_SOURCE == "merge_request_event" && $A == "p"
${order === 'decoy-first' ? decoy + deploy : deploy + decoy}`;
};

async function mrRuns(order: 'decoy-first' | 'deploy-first') {
  const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': RULES_SHARED(order) }), '.gitlab-ci.yml');
  const trust = pipelineTrust(p, builtinPolicy(), 'main');
  return Object.fromEntries(p.jobs.map((j) => [j.name, trust(j).byContext.mr.runs]));
}

describe('jobs sharing rules, judged once per value set', () => {
  it('does not let a decoy job lend its trust to a job whose values only look the same when joined', async () => {
    const a = await mrRuns('decoy-first');
    const b = await mrRuns('deploy-first');
    expect(a).toEqual(b);
    expect(a.deploy).not.toBe('no');
    expect(a.decoy).toBe('no');
  });
});

describe('a rule item shared by several lists (`!reference`)', () => {
  it('is judged by its place in each list and by each job\'s own values', async () => {
    const yaml = `.mr:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event" && $RUN_IN_MR == "yes"
first:
  variables: { RUN_IN_MR: "yes" }
  rules:
    - !reference [.mr, rules]
  script: [make a]
second:
  variables: { RUN_IN_MR: "no" }
  rules:
    - if: $CI_COMMIT_TAG
      when: never
    - !reference [.mr, rules]
  script: [make b]
third:
  variables: { RUN_IN_MR: "yes" }
  rules:
    - if: $CI_COMMIT_TAG
      when: never
    - !reference [.mr, rules]
  script: [make c]
`;
    const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
    const trust = pipelineTrust(p, builtinPolicy(), 'main');
    const mr = (name: string) => trust(p.jobs.find((j) => j.name === name)!).byContext.mr;
    expect(mr('first')).toMatchObject({ runs: 'yes', reason: expect.stringMatching(/^rules\[0\] `if: .*RUN_IN_MR == "yes"` matches$/) });
    expect(mr('second')).toMatchObject({ runs: 'no', reason: 'no rule in `rules` matches' });
    expect(mr('third')).toMatchObject({ runs: 'yes', reason: expect.stringMatching(/^rules\[1\] `if: /) });
  });
});
