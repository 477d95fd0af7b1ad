import { describe, expect, it } from 'vitest';
import { get } from '../../src/model/node.js';
import { buildPipeline } from '../../src/model/pipeline.js';
import { readVariables } from '../../src/model/variables.js';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { evaluatePipeline, scriptLinesOf, type TrustFactory } from '../../src/rules/engine.js';
import { pipelineRules } from '../../src/rules/index.js';
import { defaultTrustFactory } from '../../src/rules/trust-provider.js';

const YAML = `
build:
  script: make
test:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script: make test
deploy:
  environment: production
  rules:
    - if: $CI_COMMIT_BRANCH
  script:
    - kubectl apply -f k8s/ --token "$PROD_DEPLOY_TOKEN"
`;

/** Every rule of the catalogue over YAML, with a trust factory that records whose trust it was asked. */
async function evaluate(yaml: string) {
  const asked: string[] = [];
  const counting: TrustFactory = (...args) => {
    const trustOf = defaultTrustFactory(...args);
    return (job) => {
      asked.push(job.name);
      return trustOf(job);
    };
  };
  const pipeline = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
  const ev = evaluatePipeline(pipeline, { policy: builtinPolicy(), rules: pipelineRules, trust: counting, today: new Date('2026-12-01T00:00:00Z') });
  return { ev, asked };
}

describe("the evaluation's trust and deploy info per job", () => {
  it('judges a job when a rule or a reader asks for it, once', async () => {
    const { ev, asked } = await evaluate(YAML);
    // The rules asked about the deploy job, which they report on; nothing in the others'
    // YAML or scripts needs their trust (no secret, deploy, trigger or artifact source).
    expect(asked).toEqual(['deploy']);
    expect(ev.findings.some((f) => f.job === 'deploy' && f.ruleId === 'deploy-unprotected-ref')).toBe(true);

    const test = ev.trust.get('test');
    expect(test?.byContext.mr?.runs).toBe('yes');
    expect(test?.byContext['protected-branch']?.runs).toBe('no');
    expect(asked).toEqual(['deploy', 'test']);
    expect(ev.trust.get('test')).toBe(test);
    expect(ev.trust.has('build')).toBe(true);
    expect(asked).toEqual(['deploy', 'test', 'build']);
    expect(ev.trust.get('no-such-job')).toBeUndefined();
    expect(ev.trust.has('no-such-job')).toBe(false);
    // In the pipeline's job order, each judged once.
    expect([...ev.trust].map(([name]) => name)).toEqual(['build', 'test', 'deploy']);
    expect(asked).toEqual(['deploy', 'test', 'build']);

    expect(ev.deploy.has('deploy')).toBe(true);
    expect(ev.deploy.get('deploy')?.tier).toBe('production');
    expect(ev.deploy.has('build')).toBe(false);
    expect([...ev.deploy].map(([name]) => name)).toEqual(['deploy']);
  });

  it('gives the same trust whichever job is asked first', async () => {
    const first = await evaluate(YAML);
    const eager = ['build', 'test', 'deploy'].map((n) => first.ev.trust.get(n));
    const second = await evaluate(YAML);
    const reversed = ['deploy', 'test', 'build'].map((n) => second.ev.trust.get(n)).reverse();
    expect(reversed).toEqual(eager);
  });
});

describe('what is read from a written node is shared by its copies', () => {
  it('jobs that inherit one script list and one variables map through `extends` share their lines and definitions', async () => {
    const yaml = `
.tpl:
  variables:
    TARGET: release
  script:
    - make "$TARGET"
    - make install
a:
  extends: .tpl
b:
  extends: .tpl
  stage: test
`;
    const pipeline = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
    const [a, b] = pipeline.jobs;
    // Each job's node is its own copy (it records how the list was inherited) …
    expect(a!.node).not.toBe(b!.node);
    expect(get(a!.node, 'script')).not.toBe(get(b!.node, 'script'));
    // … and the lines and definitions read from the written list and map are built once.
    const lines = scriptLinesOf(a!.node);
    expect(lines.map((l) => [l.text, l.loc.line])).toEqual([
      ['make "$TARGET"', 6],
      ['make install', 7],
    ]);
    expect(scriptLinesOf(b!.node)).toBe(lines);
    expect(readVariables(get(b!.node, 'variables'))).toBe(readVariables(get(a!.node, 'variables')));
    expect(readVariables(get(a!.node, 'variables')).get('TARGET')?.value).toBe('release');
  });
});
