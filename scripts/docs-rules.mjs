#!/usr/bin/env node
// Regenerate the README's rule table from the rules' metadata (after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { allRuleMetas } = await import(path.join(root, 'dist/catalogue/catalogue.js'));
const { ruleTableMarkdown, replaceRuleTable } = await import(path.join(root, 'dist/cli/rule-table.js'));
const { replaceRoutesTable } = await import(path.join(root, 'dist/gitlab/routes.js'));
const file = path.join(root, 'README.md');
writeFileSync(file, replaceRoutesTable(replaceRuleTable(readFileSync(file, 'utf8'), ruleTableMarkdown(allRuleMetas()))));
console.log('README.md rule table and token-roles table updated');
