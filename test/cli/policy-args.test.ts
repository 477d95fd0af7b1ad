import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';
import { policyFromArgs } from '../../src/cli/main.js';
import { PolicyError } from '../../src/policy/errors.js';
import { loadPolicy } from '../../src/policy/load.js';

// policyFromArgs reads a policy that names no rule without the rule catalogue; every other
// policy, valid or not, must come out exactly as loadPolicy with the catalogue gives it.
describe('the CLI reads a policy directory as loadPolicy with the rule catalogue does', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tierguard-policy-args-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const dirWith = (name: string, text: string, team?: string): string => {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'teams'), { recursive: true });
    writeFileSync(path.join(dir, 'default.yaml'), text);
    if (team !== undefined) writeFileSync(path.join(dir, 'teams', 'acme.yaml'), team);
    return dir;
  };
  const withCatalogue = (dir: string, group?: string) => {
    try {
      return loadPolicy({ dir, group, rules: allRuleMetas() });
    } catch (err) {
      return err;
    }
  };
  const viaCli = async (dir: string, group?: string, loadsRules?: boolean) => {
    try {
      return await policyFromArgs({ policy: dir, group }, root, { loadsRules });
    } catch (err) {
      return err;
    }
  };

  it('the same policy or the same error, rule-free or not', async () => {
    const cases: [string, string, string?][] = [
      ['rule-free', 'version: 1\ntiers: { general: [ci-general] }\nrules: {}\nexceptions: []\nprotected: { tags: [v*] }\n'],
      ['severity', 'version: 1\nrules:\n  untagged-job: off\n'],
      // An options-only entry takes the rule's default severity: only the catalogue knows it.
      ['options-only', 'version: 1\nrules:\n  job-token-misuse: { options: { instanceHosts: [gitlab.corp.example] } }\n'],
      ['unknown-rule', 'version: 1\nrules:\n  no-such-rule: error\n'],
      ['bad-options', 'version: 1\nrules:\n  job-token-misuse: { options: { instanceHosts: [1] } }\n'],
      ['exception', 'version: 1\nexceptions: [{ rule: untagged-job, job: build, reason: legacy runner, expires: 2099-01-01 }]\n'],
      ['exception-unknown-rule', 'version: 1\nexceptions: [{ rule: no-such-rule, job: build, reason: r, expires: 2099-01-01 }]\n'],
      ['schema-error', 'version: 1\ntiers: { general: [""] }\nreview: { maxInlineDiscussions: -1 }\n'],
      ['team-rule', 'version: 1\nrules: {}\n', 'rules:\n  secret-printed-to-log: { options: { publicLogs: true } }\n'],
    ];
    for (const [name, text, team] of cases) {
      const dir = dirWith(name, text, team);
      const group = team === undefined ? undefined : 'acme';
      const expected = withCatalogue(dir, group);
      // Without the rules loaded (jobs, check-runner: the catalogue only when needed) and with them (lint).
      for (const loadsRules of [false, true]) {
        const got = await viaCli(dir, group, loadsRules);
        expect({ name, loadsRules, got }).toEqual({ name, loadsRules, got: expected });
        if (expected instanceof PolicyError) expect(got).toBeInstanceOf(PolicyError);
      }
    }
    expect(withCatalogue(path.join(root, 'unknown-rule'))).toBeInstanceOf(PolicyError);
    expect(withCatalogue(path.join(root, 'options-only'))).not.toBeInstanceOf(Error);
    expect((await viaCli(path.join(root, 'options-only'))) as { rules: Record<string, unknown> }).toMatchObject({ rules: { 'job-token-misuse': { severity: 'error', options: { instanceHosts: ['gitlab.corp.example'] } } } });
  });
});
