import { describe, expect, it } from 'vitest';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { PolicyError } from '../../src/policy/errors.js';
import { layerPolicy } from '../../src/policy/load.js';
import type { RuleCatalogue } from '../../src/policy/merge.js';
import { ruleOptions } from '../../src/findings/rule-meta.js';

function policyError(text: string, catalogue: RuleCatalogue = {}): PolicyError {
  try {
    layerPolicy(builtinPolicy(), 'policies/teams/acme.yaml', text, catalogue);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('expected a PolicyError');
}

const F = 'policies/teams/acme.yaml';

/** [case, file text, expected first message line, expected key path] */
const cases: [string, string, string, string][] = [
  ['YAML syntax error', 'rules: [a, b\nreview: {}\n', `${F}:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]`, ''],
  ['duplicate key', 'rules:\n  untagged-job: error\n  untagged-job: off\n', `${F}:3:3: Map keys must be unique`, ''],
  ['several documents', 'version: 1\n---\nversion: 1\n', `${F}:2:1: Source contains multiple documents; please use YAML.parseAllDocuments()`, ''],
  ['unknown YAML tag', 'rules: !foo {}\n', `${F}:1:8: Unresolved tag: !foo`, ''],
  ['list at the root', '- a\n- b\n', `${F}:1:1: a policy file must be a map of keys, got a list`, ''],
  ['scalar at the root', 'hello\n', `${F}:1:1: a policy file must be a map of keys, got "hello"`, ''],
  ['unknown top-level key', 'version: 1\nteirs: {}\n', `${F}:2:1: teirs: unknown key "teirs"`, 'teirs'],
  ['unknown nested key', 'review:\n  blockOn: all\n  allowOverrides: true\n', `${F}:3:3: review.allowOverrides: unknown key "allowOverrides"`, 'review.allowOverrides'],
  ['unknown key in a rule entry', 'rules:\n  untagged-job: { severity: warning, option: {} }\n', `${F}:2:38: rules.untagged-job.option: unknown key "option"`, 'rules.untagged-job.option'],
  ['YAML merge keys are not policy keys', 'tiers:\n  <<: { general: [x] }\n', `${F}:2:3: tiers.<<: unknown key "<<"`, 'tiers.<<'],
  ['bad severity', 'rules:\n  untagged-job: fatal\n', `${F}:2:17: rules.untagged-job: expected "error" | "warning" | "off", got "fatal"`, 'rules.untagged-job'],
  ['bad severity in object form', 'rules:\n  untagged-job:\n    severity: fatal\n', `${F}:3:15: rules.untagged-job.severity: expected "error" | "warning" | "off", got "fatal"`, 'rules.untagged-job.severity'],
  ['number as rule entry', 'rules:\n  untagged-job: 3\n', `${F}:2:17: rules.untagged-job: expected a severity ("error" | "warning" | "off") or a map with "severity"/"options", got 3`, 'rules.untagged-job'],
  ['string where a list belongs', 'tiers:\n  general: ci-general\n', `${F}:2:12: tiers.general: expected a list, got "ci-general"`, 'tiers.general'],
  ['unsupported version', 'version: 2\n', `${F}:1:10: version: expected 1, got 2`, 'version'],
  ['URL as remote include host', 'remoteIncludeHosts:\n  - https://gitlab.example.com/x\n', `${F}:2:5: remoteIncludeHosts[0]: expected a host name such as "gitlab.example.com" (no scheme, path or wildcard)`, 'remoteIncludeHosts[0]'],
  ['bad blockOn', 'review: { blockOn: sometimes }\n', `${F}:1:20: review.blockOn: expected "new" | "all", got "sometimes"`, 'review.blockOn'],
  ['string where a boolean belongs', 'review:\n  allowProjectOverrides: "yes"\n', `${F}:2:26: review.allowProjectOverrides: expected true or false, got "yes"`, 'review.allowProjectOverrides'],
  ['impossible date', 'exceptions:\n  - rule: untagged-job\n    job: lint\n    reason: legacy\n    expires: 2026-02-30\n', `${F}:5:14: exceptions[0].expires: expected a calendar date written YYYY-MM-DD`, 'exceptions[0].expires'],
  ['date in another format', 'exceptions:\n  - { rule: untagged-job, job: lint, reason: legacy, expires: 31.12.2026 }\n', `${F}:2:63: exceptions[0].expires: expected a calendar date written YYYY-MM-DD`, 'exceptions[0].expires'],
  ['exception without job or file', 'exceptions:\n  - rule: untagged-job\n    reason: legacy\n    expires: 2026-12-31\n', `${F}:2:5: exceptions[0]: an exception needs a "job" and/or a "file"`, 'exceptions[0]'],
  ['exception without reason', 'exceptions:\n  - rule: untagged-job\n    job: lint\n    expires: 2026-12-31\n', `${F}:2:5: exceptions[0].reason: missing required key "reason"`, 'exceptions[0].reason'],
  ['exception with a blank reason', 'exceptions:\n  - { rule: untagged-job, job: lint, reason: "  ", expires: 2026-12-31 }\n', `${F}:2:46: exceptions[0].reason: an exception needs a reason`, 'exceptions[0].reason'],
  ['options without severity for an unrated rule', 'rules:\n  unpinned-image:\n    options: { x: 1 }\n', `${F}:2:3: rules.unpinned-image: give a "severity" too: no earlier policy layer rates rule "unpinned-image"`, 'rules.unpinned-image'],
];

describe('every invalid policy file is a PolicyError with file:line:col and key path', () => {
  it.each(cases)('%s', (_name, text, message, path) => {
    const e = policyError(text);
    expect(e.message.split('\n')[0]).toBe(message);
    expect(e.path).toBe(path);
    expect(e.file).toBe(F);
    const [, line, col] = /:(\d+):(\d+):/.exec(message)!;
    expect([e.line, e.column]).toEqual([Number(line), Number(col)]);
  });

  it('reports every problem of a file, in file order', () => {
    const e = policyError('review:\n  blockOn: sometimes\nteirs: {}\ntiers: { general: x }\n');
    expect(e.issues.map((i) => `${i.line}:${i.column} ${i.path}`)).toEqual(['2:12 review.blockOn', '3:1 teirs', '4:19 tiers.general']);
    expect(e.message.split('\n')).toHaveLength(3);
  });

  it('unknown rule ids are errors when the rule catalogue is given', () => {
    const text = 'rules:\n  untaged-job: error\nexceptions:\n  - { rule: deploy-not-manul, job: x, reason: y, expires: 2030-01-01 }\n';
    const e = policyError(text, { knownRules: ['untagged-job', 'deploy-not-manual'] });
    expect(e.message).toBe(
      `${F}:2:3: rules.untaged-job: unknown rule "untaged-job" (did you mean "untagged-job"?)\n` +
        `${F}:4:13: exceptions[0].rule: unknown rule "deploy-not-manul" (did you mean "deploy-not-manual"?)`,
    );
    // The policy system's own rule ids are always known.
    expect(() => layerPolicy(builtinPolicy(), F, 'rules: { policy-exception-expired: error }\n', { knownRules: [] })).not.toThrow();
    // Without a catalogue any id is accepted.
    expect(() => layerPolicy(builtinPolicy(), F, text)).not.toThrow();
  });

  it('rule options are validated by the rule options schema when given', () => {
    const options = ruleOptions({ allowLatestIn: [] as string[] }, (z) => z.strictObject({ allowLatestIn: z.array(z.string()) }));
    const catalogue: RuleCatalogue = { rules: [{ id: 'unpinned-image', defaultSeverity: 'warning', options }] };
    const e = policyError('rules:\n  unpinned-image:\n    options:\n      allowLatestIn: lint\n', catalogue);
    expect(e.message).toBe(`${F}:4:22: rules.unpinned-image.options.allowLatestIn: expected a list, got "lint"`);
    expect(policyError('rules:\n  unpinned-image:\n    options: { allowLatest: [x] }\n', catalogue).path).toBe('rules.unpinned-image.options.allowLatest');
    // With the catalogue, an options-only entry keeps the rule's default severity.
    const p = layerPolicy(builtinPolicy(), F, 'rules:\n  unpinned-image:\n    options: { allowLatestIn: [lint] }\n', catalogue);
    expect(p.rules['unpinned-image']).toEqual({ severity: 'warning', options: { allowLatestIn: ['lint'] } });
  });

  it('an empty or comment-only file is an empty layer', () => {
    const p = layerPolicy(builtinPolicy(), F, '# nothing here yet\n');
    const { sources: _s, ...rest } = p;
    const { sources: _b, ...builtin } = builtinPolicy();
    expect(rest).toEqual(builtin);
  });

  it('refuses nesting past 100 levels unread, with the line and column', () => {
    const e = policyError('tiers:\n  general: ' + '['.repeat(20000) + ']'.repeat(20000) + '\n');
    // The root map is level 1, `tiers` level 2, the first `[` (column 12) level 3: level 101 is 98 columns on.
    expect(e.message).toBe(`${F}:2:${12 + 98}: the YAML is nested too deeply (over 100 levels)`);
  });

  it('survives an alias bomb with an error instead of hanging', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`);
    const e = policyError(lines.join('\n') + '\n');
    expect(e.message).toMatch(/^policies\/teams\/acme\.yaml:1:1: cannot read YAML: .*alias/i);
  });
});

describe('hostile keys', () => {
  it('rejects a __proto__ rule id instead of touching the prototype', () => {
    const e = policyError('rules:\n  __proto__: error\n');
    expect(e.message).toBe(`${F}:2:3: rules.__proto__: key "__proto__" is not allowed`);
    expect(policyError('rules:\n  a: { severity: warning, options: { __proto__: { x: 1 } } }\n').path).toBe('rules.a.options.__proto__');
    expect(policyError('rules:\n  _a: error\n').message).toBe(`${F}:2:3: rules._a: expected a rule id such as "untagged-job"`);
    expect(({} as Record<string, unknown>).severity).toBeUndefined();
  });
});

describe('untrusted input never crashes the loader', () => {
  it('turns arbitrary mutations of a valid file into a policy or a PolicyError', () => {
    const valid = 'version: 1\ntiers:\n  general: [a]\nrules:\n  x: { severity: warning, options: { y: [1] } }\nexceptions:\n  - { rule: x, job: j, reason: r, expires: 2030-01-01 }\n';
    const junk = ['{', '}', '[', ']', ':', '-', '\t', '\n', '&a', '*a', '!!str', '"', "'", '#', '|', '>', '? ', ',', '\u0000', '<<: '];
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    let errors = 0;
    for (let i = 0; i < 400; i++) {
      let text = valid;
      for (let k = 0; k < 1 + rnd(3); k++) {
        const at = rnd(text.length);
        text = text.slice(0, at) + junk[rnd(junk.length)] + text.slice(at + rnd(3));
      }
      try {
        layerPolicy(builtinPolicy(), F, text);
      } catch (e) {
        expect(e).toBeInstanceOf(PolicyError);
        const pe = e as PolicyError;
        expect(pe.message.startsWith(`${F}:`)).toBe(true);
        expect(pe.line).toBeGreaterThan(0);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });
});
