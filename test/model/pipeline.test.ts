import { describe, expect, it } from 'vitest';
import { get, str, strList, toJS } from '../../src/model/node.js';
import { buildPipeline, keyOrigin, type Pipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';

async function load(files: Record<string, string>, external: Record<string, string> = {}): Promise<Pipeline> {
  return buildPipeline(new MemorySource(files, external), '.gitlab-ci.yml');
}
const job = (p: Pipeline, name: string) => {
  const j = p.jobs.find((x) => x.name === name);
  if (!j) throw new Error(`no job ${name}: ${p.jobs.map((x) => x.name).join(', ')}`);
  return j;
};
const invalid = (p: Pipeline) => p.diagnostics.filter((d) => d.kind === 'invalid').map((d) => d.message);

describe('jobs and reserved keywords (entry/root.rb, entry/jobs.rb)', () => {
  it('hidden jobs are not jobs; a map with script or trigger is', async () => {
    const p = await load({ '.gitlab-ci.yml': '.hidden:\n  script: x\nbuild:\n  script: make\nchild:\n  trigger: a/b\nvariables:\n  A: 1\n' });
    expect(p.jobs.map((j) => [j.name, j.kind])).toEqual([
      ['build', 'job'],
      ['child', 'bridge'],
    ]);
    expect(p.hiddenJobs).toEqual(['.hidden']);
  });

  it('a visible key without script is rejected with GitLab wording', async () => {
    const p = await load({ '.gitlab-ci.yml': 'build:\n  image: alpine\n' });
    expect(invalid(p)).toContain('jobs:build config should implement the script:, run:, or trigger: keyword');
  });

  it('stages: the default list, and .pre/.post always', async () => {
    const p = await load({ '.gitlab-ci.yml': 'stages: [lint, ship]\na:\n  stage: ship\n  script: x\nb:\n  script: y\n' });
    expect(p.stages).toEqual(['.pre', 'lint', 'ship', '.post']);
    expect(invalid(p)).toEqual(['jobs:b chosen stage test does not exist; available stages are .pre, lint, ship, .post']);
  });
});

describe('include (doc/ci/yaml/includes.md)', () => {
  it('local includes are merged first, the including file wins; nested includes resolve', async () => {
    const p = await load({
      '.gitlab-ci.yml': 'include:\n  - local: /ci/a.yml\n  - ci/b.yml\nbuild:\n  script: own\n',
      'ci/a.yml': 'include: ci/nested.yml\nbuild:\n  script: from-a\n  tags: [a]\n',
      'ci/nested.yml': 'lint:\n  script: lint\n',
      'ci/b.yml': 'build:\n  tags: [b]\n',
    });
    expect(p.jobs.map((j) => j.name).sort()).toEqual(['build', 'lint']);
    const build = job(p, 'build');
    expect(strList(get(build.node, 'script'))).toEqual(['own']);
    expect(build.tags).toEqual(['b']);
    expect(get(build.node, 'tags')!.loc.file).toBe('ci/b.yml');
    expect(p.files.map((f) => f.name)).toEqual(['.gitlab-ci.yml', 'ci/a.yml', 'ci/nested.yml', 'ci/b.yml']);
  });

  it('local wildcards: * stays in one directory, ** crosses directories', async () => {
    const files = {
      '.gitlab-ci.yml': "include: 'ci/*.yml'\n",
      'ci/one.yml': 'one:\n  script: 1\n',
      'ci/deep/two.yml': 'two:\n  script: 2\n',
    };
    expect((await load(files)).jobs.map((j) => j.name)).toEqual(['one']);
    expect((await load({ ...files, '.gitlab-ci.yml': "include: 'ci/**.yml'\n" })).jobs.map((j) => j.name).sort()).toEqual(['one', 'two']);
  });

  it('a string URL is remote; project, template, component are recorded and kept unresolved offline', async () => {
    const p = await load({
      '.gitlab-ci.yml': [
        'include:',
        '  - https://example.com/ci.yml',
        '  - project: grp/lib',
        '    ref: v1.2.0',
        '    file: [a.yml, b.yml]',
        '  - template: Jobs/SAST.gitlab-ci.yml',
        '  - component: $CI_SERVER_FQDN/grp/comps/lint@1.0.0',
        '    inputs: { stage: test }',
        'x:',
        '  script: y',
      ].join('\n'),
    });
    expect(p.includes.map((i) => [i.kind, i.target, i.status])).toEqual([
      ['remote', 'https://example.com/ci.yml', 'unresolved'],
      ['project', 'a.yml, b.yml', 'unresolved'],
      ['template', 'Jobs/SAST.gitlab-ci.yml', 'unresolved'],
      ['component', '$CI_SERVER_FQDN/grp/comps/lint@1.0.0', 'unresolved'],
    ]);
    expect(p.includes[1]).toMatchObject({ project: 'grp/lib', ref: 'v1.2.0' });
    expect(p.includes[3]).toMatchObject({ project: 'grp/comps', ref: '1.0.0' });
    expect(invalid(p)).toEqual([]);
  });

  it('include:project files are read through the source with their project context', async () => {
    const p = await load(
      { '.gitlab-ci.yml': "include:\n  project: grp/lib\n  ref: v1\n  file: ci.yml\n" },
      { 'grp/lib:ci.yml@v1': 'include: inner.yml\nfrom-lib:\n  script: x\n', 'grp/lib:inner.yml@v1': 'inner:\n  script: y\n' },
    );
    expect(p.jobs.map((j) => j.name).sort()).toEqual(['from-lib', 'inner']);
    expect(job(p, 'inner').file).toBe('grp/lib:inner.yml@v1');
  });

  it('component inputs interpolate $[[ inputs.x ]] with defaults and given values', async () => {
    const p = await load(
      { '.gitlab-ci.yml': "include:\n  - component: gitlab.example.com/grp/comps/scan@1.0\n    inputs:\n      stage: build\n" },
      { 'component:gitlab.example.com/grp/comps/scan@1.0': 'spec:\n  inputs:\n    stage:\n      default: test\n    job:\n      default: scan\n---\n$[[ inputs.job ]]-job:\n  stage: $[[ inputs.stage ]]\n  script: echo\n' },
    );
    expect(p.jobs.map((j) => [j.name, j.stage])).toEqual([['scan-job', 'build']]);
  });

  it('interpolates a number input as GitLab prints it (a float keeps its `.0`)', async () => {
    const p = await load(
      { '.gitlab-ci.yml': "include:\n  - component: gitlab.example.com/grp/comps/scan@1.0\n    inputs:\n      level: 2.50\n" },
      { 'component:gitlab.example.com/grp/comps/scan@1.0': 'spec:\n  inputs:\n    version:\n      type: number\n      default: 1.0\n    level:\n      type: number\n---\nscan:\n  variables:\n    V: "v$[[ inputs.version ]]-$[[ inputs.level ]]"\n  script: echo\n' },
    );
    expect(p.jobs[0]?.variables.get('V')?.value).toBe('v1.0-2.5');
  });

  it('missing files and a non-YAML extension use GitLab wording', async () => {
    const p = await load({ '.gitlab-ci.yml': 'include:\n  - missing.yml\n  - ci/file.txt\nb:\n  script: x\n', 'ci/file.txt': 'x' });
    expect(invalid(p)).toEqual(['Local file `missing.yml` does not exist!', 'Included file `ci/file.txt` does not have YAML extension!']);
  });

  it('include:rules with an unconditional when: never exclude; conditional ones are kept', async () => {
    const p = await load({
      '.gitlab-ci.yml': 'include:\n  - local: a.yml\n    rules:\n      - when: never\n  - local: b.yml\n    rules:\n      - if: $CI_PIPELINE_SOURCE == "push"\n',
      'a.yml': 'a:\n  script: x\n',
      'b.yml': 'b:\n  script: x\n',
    });
    expect(p.jobs.map((j) => j.name)).toEqual(['b']);
    expect(p.includes.map((i) => [i.target, i.status, i.conditional])).toEqual([
      ['a.yml', 'excluded', true],
      ['b.yml', 'resolved', true],
    ]);
  });

  it('a duplicate include is merged again and counts toward the limit of 150', async () => {
    const many = Array.from({ length: 151 }, () => '  - a.yml').join('\n');
    const p = await load({ '.gitlab-ci.yml': `include:\n${many}\n`, 'a.yml': 'a:\n  script: x\n' });
    expect(invalid(p)).toEqual(['Maximum of 150 nested includes are allowed!']);
  });
});

describe('extends (config/extendable/entry.rb)', () => {
  it('deep-merges hashes, replaces arrays, several parents left to right, the job last', async () => {
    const p = await load({
      '.gitlab-ci.yml': [
        '.a:',
        '  variables: { A: a, SHARED: a }',
        '  tags: [a1, a2]',
        '  script: [from-a]',
        '.b:',
        '  variables: { B: b, SHARED: b }',
        '  tags: [b]',
        'job:',
        '  extends: [.a, .b]',
        '  variables: { J: j }',
      ].join('\n'),
    });
    const j = job(p, 'job');
    expect(toJS(get(j.node, 'variables'))).toEqual({ A: 'a', SHARED: 'b', B: 'b', J: 'j' });
    expect(j.tags).toEqual(['b']);
    expect(keyOrigin(j, 'tags')!.explain).toBe('.gitlab-ci.yml:7:9, from `.b` via `extends` (.gitlab-ci.yml:9)');
    expect(keyOrigin(j, 'script')!.loc).toMatchObject({ line: 4 });
  });

  it('multi-level extends and key: null removing an inherited value', async () => {
    const p = await load({ '.gitlab-ci.yml': '.base:\n  image: ruby\n  script: x\n.mid:\n  extends: .base\n  tags: [t]\njob:\n  extends: .mid\n  image: null\n' });
    const j = job(p, 'job');
    expect(j.tags).toEqual(['t']);
    expect(str(get(j.node, 'image'))).toBeUndefined();
    expect(keyOrigin(j, 'script')!.via.map((v) => v.from)).toEqual(['.base', '.mid']);
  });

  it('unknown parent, circular dependency and nesting too deep are errors at the extends key', async () => {
    const cyc = await load({ '.gitlab-ci.yml': '.a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n  script: x\n' });
    expect(invalid(cyc).some((m) => m.includes('circular dependency detected in `extends`'))).toBe(true);
    // Written child first, so resolving `job` walks the whole chain of 12 ancestors.
    const chain = ['job:\n  extends: .l11'];
    for (let i = 11; i >= 1; i--) chain.push(`.l${i}:\n  extends: .l${i - 1}`);
    chain.push('.l0:\n  script: x');
    const deep = await load({ '.gitlab-ci.yml': chain.join('\n') + '\n' });
    expect(invalid(deep).some((m) => m.includes('nesting too deep in `extends`'))).toBe(true);
  });
});

describe('!reference (config/yaml/tags/reference.rb)', () => {
  it('resolves after extends, nests and flattens script lists', async () => {
    const p = await load({
      '.gitlab-ci.yml': [
        '.setup:',
        '  script:',
        '    - echo setup',
        '    - echo more',
        '.vars:',
        '  variables:',
        '    X: "1"',
        '.child:',
        '  extends: .vars',
        'job:',
        '  variables: !reference [.child, variables]',
        '  script:',
        '    - !reference [.setup, script]',
        '    - echo main',
      ].join('\n'),
    });
    const j = job(p, 'job');
    expect(strList(get(j.node, 'script'))).toEqual(['echo setup', 'echo more', 'echo main']);
    expect(get(j.node, 'script', 0)!.loc.line).toBe(3);
    expect(toJS(get(j.node, 'variables'))).toEqual({ X: '1' });
  });

  it('a missing reference is an error naming it', async () => {
    const p = await load({ '.gitlab-ci.yml': 'job:\n  script: !reference [.nope, script]\n' });
    expect(invalid(p)).toEqual(['!reference [".nope", "script"] could not be found']);
  });
});

describe('default: and inherit: (entry/default.rb, entry/inherit/*)', () => {
  it('defaults apply unless the job sets the key; inherit:default false or a list limits them', async () => {
    const p = await load({
      '.gitlab-ci.yml': [
        'default:',
        '  image: ruby:3.3',
        '  tags: [ci-general]',
        'variables:',
        '  GLOBAL: g',
        '  OTHER: o',
        'a:',
        '  script: x',
        'b:',
        '  image: alpine:3',
        '  script: x',
        'c:',
        '  inherit:',
        '    default: [tags]',
        '    variables: [OTHER]',
        '  script: x',
        'd:',
        '  inherit: { default: false, variables: false }',
        '  script: x',
      ].join('\n'),
    });
    expect(str(get(job(p, 'a').node, 'image'))).toBe('ruby:3.3');
    expect(keyOrigin(job(p, 'a'), 'image')!.explain).toContain('from `default:`');
    expect(str(get(job(p, 'b').node, 'image'))).toBe('alpine:3');
    expect(get(job(p, 'c').node, 'image')).toBeUndefined();
    expect(job(p, 'c').tags).toEqual(['ci-general']);
    expect([...job(p, 'c').variables.keys()]).toEqual(['OTHER']);
    expect(job(p, 'd').tags).toEqual([]);
    expect([...job(p, 'a').variables.keys()]).toEqual(['GLOBAL', 'OTHER']);
  });

  it('deprecated top-level image works as a default; setting it both ways is an error', async () => {
    const p = await load({ '.gitlab-ci.yml': 'image: ruby\na:\n  script: x\n' });
    expect(str(get(job(p, 'a').node, 'image'))).toBe('ruby');
    const both = await load({ '.gitlab-ci.yml': 'image: ruby\ndefault:\n  image: alpine\na:\n  script: x\n' });
    expect(invalid(both)[0]).toMatch(/`image` is set both at the top level and in `default:`/);
  });
});

describe('variables in their forms', () => {
  it('scalars are stringified, maps take value/expand/description', async () => {
    const p = await load({ '.gitlab-ci.yml': 'variables:\n  N: 1\n  B: true\n  D:\n    value: "x"\n    description: pick\n  R:\n    value: "$X"\n    expand: false\na:\n  variables:\n    N: 2\n  script: x\n' });
    const v = job(p, 'a').variables;
    expect(v.get('N')).toMatchObject({ value: '2', valueLoc: { line: 12 } });
    expect(v.get('B')!.value).toBe('true');
    expect(v.get('D')).toMatchObject({ value: 'x', description: 'pick' });
    expect(v.get('R')).toMatchObject({ value: '$X', expand: false });
  });
});
