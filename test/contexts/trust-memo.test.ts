import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { childPipelineTrust, pipelineTrust } from '../../src/contexts/trust.js';

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

describe('`only`/`except` ref patterns, judged once per context and pattern', () => {
  const judge = async (yaml: string, policy = builtinPolicy()) => {
    const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
    const trust = pipelineTrust(p, policy, 'main');
    return Object.fromEntries(p.jobs.map((j) => [j.name, trust(j).byContext]));
  };

  it('gives every job that reads a pattern the pattern\'s notes, not only the first', async () => {
    // Distinct nodes (no anchor): each job is judged on its own, the pattern's result is shared.
    const yaml = ['a', 'b', 'c'].map((n) => `${n}:\n  only: [tags]\n  script: [make ${n}]\n`).join('');
    for (let round = 0; round < 2; round++) {
      const byJob = await judge(yaml);
      for (const name of ['a', 'b', 'c']) {
        expect(byJob[name]!.branch).toMatchObject({ runs: 'unknown', reason: '`only: [tags]` may match (a branch named `tags` matches the keyword as a name)' });
        expect(byJob[name]!['protected-tag']).toMatchObject({ runs: 'yes', reason: '`only: [tags]` matches' });
        expect(byJob[name]!.mr).toMatchObject({ runs: 'no' });
      }
    }
  });

  it('keeps contexts with other facts apart: a name protected under one policy is not under another', async () => {
    const yaml = `deploy:\n  only: [release]\n  script: [./deploy.sh]\n`;
    const plain = await judge(yaml);
    const withRelease = await judge(yaml, { ...builtinPolicy(), protected: { branches: ['release'], tags: [] } });
    expect(plain.deploy!.branch.runs).toBe('unknown');
    expect(withRelease.deploy!.branch.runs).toBe('no');
    expect(withRelease.deploy!['protected-branch'].runs).not.toBe('no');
    // and back: the first policy's contexts still say what they said
    expect((await judge(yaml)).deploy!.branch.runs).toBe('unknown');
  });

  it('tells `only` from `except` for the same pattern (a keyword is a name only for `only`)', async () => {
    const byJob = await judge(`a:\n  only: [tags]\n  script: [make]\nb:\n  except: [tags]\n  script: [make]\n`);
    expect(byJob.a!.branch.runs).toBe('unknown');
    expect(byJob.b!.branch).toMatchObject({ runs: 'yes' });
  });
});

describe('jobs without rules, only or except, judged once per contexts and `when`', () => {
  // One policy for every pipeline: its contexts (and what is remembered for them) are shared.
  const shared = builtinPolicy();
  const judge = async (yaml: string, policy = shared) => {
    const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
    const trust = pipelineTrust(p, policy, 'main');
    return Object.fromEntries(p.jobs.map((j) => [j.name, trust(j).byContext]));
  };

  it('keeps each `when` apart, across pipelines, and leaves an invalid `when` to the job', async () => {
    const yaml = `plain:\n  script: [make]\nmanual:\n  when: manual\n  script: [make]\nnever:\n  when: never\n  script: [make]\nodd:\n  when: sometimes\n  script: [make]\n`;
    for (let round = 0; round < 2; round++) {
      const byJob = await judge(yaml);
      expect(byJob.plain!.branch).toMatchObject({ runs: 'yes', when: 'on_success' });
      expect(byJob.manual!.branch).toMatchObject({ runs: 'yes', when: 'manual' });
      expect(byJob.never!.branch).toMatchObject({ runs: 'no', when: 'never' });
      expect(byJob.plain!.mr.runs).toBe('no');
      expect(byJob.odd!.branch.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^`when` must be one of/), at: { line: 10 } });
    }
  });

  it('reads the workflow when there is one, and the policy\'s contexts', async () => {
    for (let round = 0; round < 2; round++) {
      const byJob = await judge(`workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\ndeploy:\n  script: [make]\n`);
      expect(byJob.deploy!.branch.runs).toBe('no');
      expect(byJob.deploy!['protected-tag'].runs).toBe('yes');
      const plain = await judge(`deploy:\n  script: [make]\n`);
      expect(plain.deploy!.branch.runs).toBe('yes');
    }
    const tagsProtected = await judge(`deploy:\n  script: [make]\n`, { ...builtinPolicy(), protected: { branches: [], tags: [] } });
    expect(tagsProtected.deploy!['unprotected-tag'].runs).toBe('yes');
  });
});

describe('rules judged once for every pipeline judged under the same contexts, by content and place', () => {
  // One policy: every pipeline below is judged under the same contexts, so what was found for
  // one is at hand for the next, and must only be reused where the rules are the same.
  const shared = builtinPolicy();
  const judge = async (files: Record<string, string>, root = '.gitlab-ci.yml') => {
    const p = await buildPipeline(new MemorySource(files), root);
    const trust = pipelineTrust(p, shared, 'main');
    return Object.fromEntries(p.jobs.map((j) => [j.name, trust(j).byContext]));
  };
  const job = (cond: string) => `deploy:\n  rules:\n    - if: ${cond}\n      when: manual\n  script: [./deploy.sh]\n`;

  it('reads each pipeline\'s own rule texts, even at the same place and of the same length', async () => {
    for (let round = 0; round < 2; round++) {
      const main = await judge({ '.gitlab-ci.yml': job('$CI_COMMIT_BRANCH == "main"') });
      const mian = await judge({ '.gitlab-ci.yml': job('$CI_COMMIT_BRANCH == "mian"') });
      expect(main.deploy!['default-branch']).toMatchObject({ runs: 'yes', when: 'manual', reason: 'rules[0] `if: $CI_COMMIT_BRANCH == "main"` matches with `when: manual`' });
      expect(mian.deploy!['default-branch']).toMatchObject({ runs: 'no', reason: 'no rule in `rules` matches' });
    }
  });

  it('reads each pipeline\'s own YAML values of the variables its rules read', async () => {
    const withTarget = (v: string) => `variables:\n  TARGET: "${v}"\n${job('$TARGET == "prod"')}`;
    for (let round = 0; round < 2; round++) {
      expect((await judge({ '.gitlab-ci.yml': withTarget('prod') })).deploy!.mr.runs).toBe('yes');
      expect((await judge({ '.gitlab-ci.yml': withTarget('test') })).deploy!.mr.runs).toBe('no');
    }
  });

  it('points at where each pipeline writes the rule: its file, line and column', async () => {
    const at = async (files: Record<string, string>, root?: string) => (await judge(files, root)).deploy!['default-branch'].at;
    const rule = job('$CI_COMMIT_BRANCH == "main"');
    for (let round = 0; round < 2; round++) {
      expect(await at({ '.gitlab-ci.yml': rule })).toMatchObject({ file: '.gitlab-ci.yml', line: 3, column: 11 });
      expect(await at({ '.gitlab-ci.yml': '\n' + rule })).toMatchObject({ file: '.gitlab-ci.yml', line: 4, column: 11 });
      expect(await at({ 'ci/main.yml': rule }, 'ci/main.yml')).toMatchObject({ file: 'ci/main.yml', line: 3, column: 11 });
      expect(await at({ '.gitlab-ci.yml': rule.replace('- if:', '-  if:').replace('      when', '       when') })).toMatchObject({ file: '.gitlab-ci.yml', line: 3, column: 12 });
    }
  });

  it('keeps what was found under other contexts apart: another default branch, a child pipeline', async () => {
    const yaml = job('$CI_COMMIT_BRANCH == "main"');
    const under = async (branch: string) => {
      const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
      return pipelineTrust(p, shared, branch)(p.jobs[0]!).byContext;
    };
    for (let round = 0; round < 2; round++) {
      expect((await under('main'))['default-branch']).toMatchObject({ runs: 'yes', when: 'manual' });
      expect((await under('master'))['default-branch'].runs).toBe('no');
      // the same rules in a child pipeline: its source is parent_pipeline, its trigger decides
      const parent = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
      const trigger = pipelineTrust(parent, shared, 'main')(parent.jobs[0]!);
      const child = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': job('$CI_PIPELINE_SOURCE == "parent_pipeline"') }), '.gitlab-ci.yml');
      const inChild = childPipelineTrust({ name: 'trigger', trust: trigger })(child, shared, 'main')(child.jobs[0]!).byContext;
      const inParent = pipelineTrust(child, shared, 'main')(child.jobs[0]!).byContext;
      expect(inChild['default-branch'].runs).toBe('yes');
      expect(inParent['default-branch'].runs).toBe('no');
    }
  });

  it('shares what was found between policy objects with the same protected refs, not with others', async () => {
    // The service makes a policy object per review (the team policy with the project's refs).
    const yaml = job('$CI_COMMIT_BRANCH == "release"');
    const judged = async (policy: ReturnType<typeof builtinPolicy>) => {
      const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
      return pipelineTrust(p, policy, 'main')(p.jobs[0]!).byContext;
    };
    const withRelease = () => ({ ...builtinPolicy(), protected: { branches: ['release'], tags: [] } });
    const a = await judged(withRelease());
    const b = await judged(withRelease());
    expect(b).toBe(a);
    const plain = await judged(builtinPolicy());
    expect(plain).not.toBe(a);
    // `release` is protected under one and an ordinary branch under the other
    expect(a.branch.runs).toBe('no');
    expect(plain.branch.runs).not.toBe('no');
  });

  it('reads each pipeline\'s own `workflow:rules` with the same job rules', async () => {
    const rule = job('$CI_COMMIT_BRANCH');
    for (let round = 0; round < 2; round++) {
      expect((await judge({ '.gitlab-ci.yml': rule })).deploy!.branch.runs).toBe('yes');
      expect((await judge({ '.gitlab-ci.yml': rule + 'workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\n' })).deploy!.branch.runs).toBe('no');
      expect((await judge({ '.gitlab-ci.yml': rule + 'workflow:\n  rules:\n    - if: $CI_COMMIT_REF_NAME\n' })).deploy!.branch.runs).toBe('yes');
    }
  });
});

describe('the contexts of each evaluation', () => {
  /** `release` runs in the protected-branch context once `release` is protected. */
  const releasePipeline = () =>
    buildPipeline(
      new MemorySource({
        '.gitlab-ci.yml': `release:
  rules:
    - if: $CI_COMMIT_BRANCH == "release"
  script: [./release.sh]
`,
      }),
      '.gitlab-ci.yml',
    );
  const runsIn = (p: Awaited<ReturnType<typeof releasePipeline>>, policy: ReturnType<typeof builtinPolicy>, defaultBranch = 'main') =>
    pipelineTrust(p, policy, defaultBranch)(p.jobs[0]!).byContext['protected-branch'].runs;
  const judge = async (branches: string[], defaultBranch = 'main') => {
    const policy = builtinPolicy();
    policy.protected.branches = branches;
    return runsIn(await releasePipeline(), policy, defaultBranch);
  };

  it('follow each policy\'s protected branches and default branch, whichever was judged before', async () => {
    expect(await judge([])).toBe('no');
    expect(await judge(['release'])).toBe('yes');
    expect(await judge([])).toBe('no');
    expect(await judge(['release'])).toBe('yes');
    expect(await judge(['release', 'stable'])).not.toBe('yes');
    expect(await judge(['stable'], 'main')).toBe('no');
    expect(await judge(['stable'], 'release')).toBe('no');
  });

  it('are built afresh when a policy\'s protected branches change in place', async () => {
    const p = await releasePipeline();
    const policy = builtinPolicy();
    expect(runsIn(p, policy)).toBe('no');
    policy.protected.branches.push('release');
    expect(runsIn(p, policy)).toBe('yes');
  });
});

describe('YAML values as GitLab reads them (Psych, Ruby to_s)', () => {
  // `VERSION: 1.0` is the Float 1.0 to Psych, the text "1.0" to `rules:if` (Ruby's to_s);
  // JavaScript would print it "1". Jobs that share the rules, one with `1.0` and one with `1`,
  // are judged apart although both values are the number 1.
  it('runs a job whose rule compares a float variable with its Ruby text, and tells 1.0 from 1', async () => {
    const yaml = `.rules:
  rules: &r
    - if: $CI_PIPELINE_SOURCE == "merge_request_event" && $VERSION == "1.0"
    - if: $CI_PIPELINE_SOURCE == "merge_request_event" && $COUNT == "1000"
float:
  variables: { VERSION: 1.0, COUNT: 0 }
  rules: *r
  script: [./deploy.sh]
integer:
  variables: { VERSION: 1, COUNT: 1000.0 }
  rules: *r
  script: [./deploy.sh]
commas:
  variables:
    VERSION: 0
    COUNT: 1,000
  rules: *r
  script: [./deploy.sh]
`;
    const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
    const trust = pipelineTrust(p, builtinPolicy(), 'main');
    expect(Object.fromEntries(p.jobs.map((j) => [j.name, trust(j).byContext.mr.runs]))).toEqual({ float: 'yes', integer: 'no', commas: 'yes' });
  });
});
