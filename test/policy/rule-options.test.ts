import { describe, expect, it } from 'vitest';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';
import { configureRule } from '../../src/policy/apply.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { layerPolicy } from '../../src/policy/load.js';
import { PolicyError } from '../../src/policy/errors.js';
import { ruleOptionsSchema } from '../../src/policy/schema.js';

const withOptions = allRuleMetas().filter((m) => m.options);

describe('rule options: defaults in the rule, schema built by the policy loader', () => {
  it('the catalogue has rules with options, and each rule’s defaults satisfy its own schema', () => {
    expect(withOptions.map((m) => m.id)).toEqual(expect.arrayContaining(['secret-printed-to-log', 'job-token-misuse', 'deploy-environment-unprotected']));
    for (const m of withOptions) expect(ruleOptionsSchema(m.options!).safeParse(m.options!.defaults)).toMatchObject({ success: true });
  });

  it('without a policy entry a rule gets its defaults; a policy file’s options merge onto them', () => {
    const meta = allRuleMetas().find((m) => m.id === 'job-token-misuse')!;
    expect(configureRule(builtinPolicy(), meta)?.options).toEqual({ instanceHosts: ['gitlab.com', 'registry.gitlab.com'] });
    const policy = layerPolicy(builtinPolicy(), 'policies/org.yaml', 'rules:\n  job-token-misuse: { severity: warning, options: { instanceHosts: [gitlab.corp.example] } }\n', { rules: allRuleMetas() });
    expect(configureRule(policy, meta)).toEqual({ severity: 'warning', options: { instanceHosts: ['gitlab.corp.example'] }, policySeverity: 'warning' });
  });

  it('a policy file’s options of the wrong type or an unknown key of a strict schema name the key', () => {
    const bad = (text: string) => {
      try {
        layerPolicy(builtinPolicy(), 'policies/org.yaml', text, { rules: allRuleMetas() });
      } catch (e) {
        expect(e).toBeInstanceOf(PolicyError);
        return (e as Error).message;
      }
      throw new Error('expected a PolicyError');
    };
    expect(bad('rules:\n  secret-printed-to-log: { severity: error, options: { publicLogs: "yes" } }\n')).toBe('policies/org.yaml:2:68: rules.secret-printed-to-log.options.publicLogs: expected true or false, got "yes"');
    expect(bad('rules:\n  deploy-environment-unprotected: { severity: error, options: { requireApprovalFor: [qa] } }\n')).toBe('policies/org.yaml:2:86: rules.deploy-environment-unprotected.options.requireApprovalFor[0]: expected "production" | "staging", got "qa"');
    expect(bad('rules:\n  deploy-environment-unprotected: { severity: error, options: { approvals: 2 } }\n')).toBe('policies/org.yaml:2:65: rules.deploy-environment-unprotected.options.approvals: unknown key "approvals"');
  });
});
