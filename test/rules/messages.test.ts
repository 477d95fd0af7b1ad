import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';
import { placeholders } from '../../src/findings/messages.js';

/**
 * The message catalogue (ESLint-style `meta.messages`) of every rule of every kind: each
 * template is one sentence-case line ending with a period, short, and the ids and data the
 * rule's source reports match the templates it declares.
 */
const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const metas = allRuleMetas();
const SOURCE_DIRS: Record<string, string> = { pipeline: 'src/rules/pipeline', live: 'src/live/rules', runner: 'src/runner/rules' };
const POLICY_RULES = new Set(['policy-exception-expired', 'inline-ignore-blocking', 'policy-project-override-rejected']);

/** What a source file reports: message ids (string literals) and, per literal id, the data keys given with it. */
function reportsIn(files: string[]): { ids: Set<string>; keys: Map<string, Set<string>>; looseKeys: Set<string> } {
  const ids = new Set<string>();
  const keys = new Map<string, Set<string>>();
  const looseKeys = new Set<string>();
  const literals = (e: ts.Expression): string[] => {
    if (ts.isStringLiteral(e)) return [e.text];
    if (ts.isConditionalExpression(e)) return [...literals(e.whenTrue), ...literals(e.whenFalse)];
    if (ts.isParenthesizedExpression(e)) return literals(e.expression);
    return [];
  };
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && n.expression.getText(sf) === 'policyMessage' && n.arguments.length >= 2 && ts.isStringLiteral(n.arguments[1]!)) {
        const id = n.arguments[1].text;
        ids.add(id);
        const data = n.arguments[2];
        const set = keys.get(id) ?? new Set<string>();
        if (data && ts.isObjectLiteralExpression(data)) for (const p of data.properties) if (p.name) set.add(p.name.getText(sf));
        keys.set(id, set);
      }
      if (ts.isObjectLiteralExpression(n)) {
        const prop = (name: string) => n.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(sf) === name);
        const id = prop('messageId');
        const data = prop('data');
        const given: string[] = [];
        if (data && ts.isObjectLiteralExpression(data.initializer)) {
          for (const p of data.initializer.properties) if (p.name) given.push(p.name.getText(sf));
        }
        const found = id ? literals(id.initializer) : [];
        for (const x of found) {
          ids.add(x);
          const set = keys.get(x) ?? new Set<string>();
          for (const k of given) set.add(k);
          keys.set(x, set);
        }
        if (id && found.length === 0) for (const k of given) looseKeys.add(k);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { ids, keys, looseKeys };
}

function sourceFiles(meta: { id: string; kind: string }): string[] {
  if (POLICY_RULES.has(meta.id)) {
    const dir = path.join(root, 'src/policy');
    return readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
  }
  return [path.join(root, SOURCE_DIRS[meta.kind]!, `${meta.id}.ts`)];
}

/** The text with every placeholder replaced by a typical 12-character value. */
const typical = (template: string) => template.replace(/\{\{\s*\w+\s*\}\}/g, '`deploy-prod`');

describe('rule messages', () => {
  it('every rule of every kind declares messages', () => {
    expect(metas.length).toBeGreaterThan(50);
    for (const kind of ['pipeline', 'live', 'runner']) expect(metas.some((m) => m.kind === kind)).toBe(true);
    const without = metas.filter((m) => Object.keys(m.messages).length === 0).map((m) => m.id);
    expect(without).toEqual([]);
  });

  it('each template is one sentence-case line that ends with a period and stays short', () => {
    const bad: string[] = [];
    for (const m of metas) {
      for (const [id, t] of Object.entries(m.messages)) {
        const problems: string[] = [];
        if (!/^([A-Z`$]|\{\{)/.test(t)) problems.push('does not start with a capital letter, code or a placeholder');
        if (!/\.[`)"]?$/.test(t) || /\.\.$/.test(t)) problems.push('does not end with one period');
        if (/\n/.test(t)) problems.push('spans lines');
        if (/\s$|^\s|\s{2}/.test(t)) problems.push('has stray spaces');
        if (typical(t).length > 200) problems.push(`is ${typical(t).length} characters with typical data (at most 200)`);
        if (problems.length) bad.push(`${m.id} ${id}: ${problems.join('; ')}: ${t}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('message ids used in each rule exist, every declared message is used, and its data fills exactly its placeholders', () => {
    const bad: string[] = [];
    for (const m of metas) {
      const { ids, keys, looseKeys } = reportsIn(sourceFiles(m));
      const declared = Object.keys(m.messages);
      for (const id of ids) if (!declared.includes(id) && !POLICY_RULES.has(m.id)) bad.push(`${m.id}: reports unknown messageId "${id}"`);
      for (const id of declared) {
        if (!ids.has(id)) {
          bad.push(`${m.id}: message "${id}" is never reported`);
          continue;
        }
        const wanted = placeholders(m.messages[id]!);
        const given = keys.get(id) ?? new Set<string>();
        for (const k of given) if (!wanted.includes(k)) bad.push(`${m.id} ${id}: data "${k}" fills no placeholder`);
        for (const p of wanted) if (!given.has(p) && !looseKeys.has(p)) bad.push(`${m.id} ${id}: placeholder {{${p}}} is never given data`);
      }
    }
    expect(bad).toEqual([]);
  });
});
