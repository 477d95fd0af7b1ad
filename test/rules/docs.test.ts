import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineRules } from '../../src/rules/index.js';
import { runRules } from './harness.js';

const docsDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'rules');

function examples(id: string): { incorrect: string[]; correct: string[] } {
  const text = readFileSync(path.join(docsDir, `${id}.md`), 'utf8');
  const out = { incorrect: [] as string[], correct: [] as string[] };
  for (const m of text.matchAll(/```yaml (incorrect|correct)\n([\s\S]*?)```/g)) out[m[1] as 'incorrect' | 'correct'].push(m[2]!);
  return out;
}

describe('docs/rules/<id>.md for every pipeline rule', () => {
  for (const rule of pipelineRules) {
    const id = rule.meta.id;
    it(`${id}: page exists with severity, and its examples behave as documented`, async () => {
      const file = path.join(docsDir, `${id}.md`);
      expect(existsSync(file), `${file} missing`).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith(`# ${id}\n`)).toBe(true);
      expect(text).toContain(`Severity: ${rule.meta.defaultSeverity}`);
      const ex = examples(id);
      expect(ex.incorrect.length, 'an incorrect example').toBeGreaterThan(0);
      expect(ex.correct.length, 'a correct example').toBeGreaterThan(0);
      for (const code of ex.incorrect) {
        const r = await runRules(pipelineRules, code, { strict: true });
        expect(r.findings.map((f) => f.ruleId), `incorrect example must produce ${id}:\n${code}`).toContain(id);
      }
      for (const code of ex.correct) {
        const r = await runRules(pipelineRules, code, { strict: true });
        expect(r.findings.filter((f) => f.ruleId === id).map((f) => f.message), `correct example must not produce ${id}:\n${code}`).toEqual([]);
      }
    });
  }
});

describe('the catalogue', () => {
  it('has one module per rule id, in spec order, with unique ids', () => {
    const ids = pipelineRules.map((r) => r.meta.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe('deploy-unprotected-ref');
    for (const id of ids) expect(existsSync(path.join(docsDir, '..', '..', 'src', 'rules', 'pipeline', `${id}.ts`))).toBe(true);
  });
});
