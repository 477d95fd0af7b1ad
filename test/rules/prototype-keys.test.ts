import { describe, expect, it } from 'vitest';
import { pipelineRules } from '../../src/rules/index.js';
import { runRules } from './harness.js';

/**
 * Names an MR author writes (programs, variables, job names, regex classes) are looked up in
 * tables. `Object.prototype`'s members must be names like any other: a script line
 * `toString deploy` once crashed every rule run with "Cannot read properties of undefined".
 * Each name is judged against a neutral name of the same length (same columns), and the
 * findings and trust must be the same, the name aside.
 */
const PROTO_NAMES = ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__'];

const pipeline = (n: string) => `variables:
  ${n}: "x"
${n}:
  stage: deploy
  tags: [${n}]
  image: ${n}:latest
  variables:
    ${n}: "$CI_COMMIT_BRANCH"
  rules:
    - if: $${n} == "x" || $CI_COMMIT_BRANCH =~ /^[[:${n}:]]+$/
  script:
    - ${n} deploy --prod
    - ${n} -u admin --password hunter2secret -h db.example.com
    - echo "$${n}" > ${n}.env
    - eval "$${n}"
    - curl -H "PRIVATE-TOKEN: $${n}" https://example.com/api/v4/projects/1/packages/generic
  artifacts:
    paths: [${n}.env]
deploy-${n}:
  stage: deploy
  environment: production
  only:
    variables: [$${n} == "x"]
  script:
    - ${n} apply
`;

async function judged(name: string, as: string) {
  const ev = await runRules(pipelineRules, pipeline(name));
  const findings = ev.findings.map((f) => ({ rule: f.ruleId, line: f.location.line, column: f.location.column, severity: f.severity, message: f.message.replaceAll(name, as) }));
  const trust = [...ev.trust].map(([job, t]) => [job.replaceAll(name, as), Object.values(t.byContext).map((o) => o.runs), t.untrusted]);
  return { findings, trust };
}

describe('names that are Object.prototype members', () => {
  for (const name of PROTO_NAMES) {
    it(`judges \`${name}\` like any other name`, async () => {
      const neutral = 'q'.repeat(name.length);
      const got = await judged(name, neutral);
      const want = await judged(neutral, neutral);
      expect(want.findings.length).toBeGreaterThan(3);
      expect(got).toEqual(want);
    });
  }
});

describe('YAML keys that are Object.prototype members', () => {
  it('keeps a `__proto__` key as a key when the tree becomes plain data', async () => {
    const { parseCiYaml } = await import('../../src/model/yaml.js');
    const { toJS } = await import('../../src/model/node.js');
    const parsed = parseCiYaml('.gitlab-ci.yml', 'job:\n  variables:\n    __proto__: {polluted: yes}\n    toString: x\n  script: [echo]\n');
    const data = toJS(parsed.root) as Record<string, Record<string, Record<string, unknown>>>;
    const vars = data.job!.variables!;
    expect(Object.keys(vars)).toEqual(['__proto__', 'toString']);
    expect(JSON.parse(JSON.stringify(vars))).toEqual(JSON.parse('{"__proto__":{"polluted":true},"toString":"x"}'));
    expect((vars as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('file names that are Object.prototype members', () => {
  it('an in-memory source reads only the files it was given', async () => {
    const { MemorySource } = await import('../../src/model/source.js');
    const src = new MemorySource({ toString: 'a:\n  script: [echo]\n' });
    expect(await src.read({ kind: 'local', path: 'toString' })).toEqual({ status: 'ok', text: 'a:\n  script: [echo]\n' });
    for (const name of PROTO_NAMES.filter((n) => n !== 'toString')) {
      expect(await src.read({ kind: 'local', path: name })).toEqual({ status: 'missing' });
      expect(await src.read({ kind: 'local', path: `/${name}` })).toEqual({ status: 'missing' });
    }
  });
});
