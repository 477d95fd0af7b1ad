import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRuleMetas } from '../src/cli/catalogue.js';
import { replaceRuleTable, ruleTableMarkdown } from '../src/cli/rule-table.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('carries the rule table generated from the rules metadata (npm run docs:rules)', () => {
    expect(replaceRuleTable(readme, ruleTableMarkdown(allRuleMetas()))).toBe(readme);
  });

  it('documents every environment variable the service reads', () => {
    const config = readFileSync(path.join(root, 'src', 'server', 'config.ts'), 'utf8');
    const vars = [...config.matchAll(/^\s{2}([A-Z][A-Z_]+): /gm)].map((m) => m[1]);
    expect(vars.length).toBeGreaterThan(8);
    for (const v of vars) expect(readme, v).toContain(`\`${v}\``);
  });

  it('gives the two set-up commands and the test command CI runs', () => {
    expect(readme).toContain('npm install && npx tierguard lint');
    expect(readme).toContain('npm test');
    expect(readFileSync(path.join(root, '.ci', 'run'), 'utf8')).toMatch(/^npm test( |$)/m);
  });
});
