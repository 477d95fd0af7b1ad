import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRuleMetas } from '../src/catalogue/catalogue.js';
import { replaceRuleTable, ruleTableMarkdown } from '../src/cli/rule-table.js';
import { replaceRoutesTable, ROUTES } from '../src/gitlab/routes.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('carries the rule table generated from the rules metadata (npm run docs:rules)', () => {
    expect(replaceRuleTable(readme, ruleTableMarkdown(allRuleMetas()))).toBe(readme);
  });

  it('carries the table of every GitLab route with its least role (src/gitlab/routes.ts)', () => {
    expect(replaceRoutesTable(readme)).toBe(readme);
  });

  it('the routes table names every route the adapter calls', () => {
    const client = readFileSync(path.join(root, 'src', 'gitlab', 'client.ts'), 'utf8');
    const called = new Set([...client.matchAll(/'((?:GET|POST|PUT) \/[^']+)'/g)].map((m) => m[1]));
    const listed = ROUTES.flatMap((r) => r.route.split(', ').map((x) => (x.startsWith('/') ? `GET ${x}` : x)));
    for (const route of called) expect(listed, route).toContain(route);
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
