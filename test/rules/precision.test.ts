import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineRules } from '../../src/rules/index.js';
import { runRules } from './harness.js';

/**
 * Precision fixtures: realistic pipelines, each with true cases and their look-alikes. A
 * fixture names the rules it judges (`# rules: a, b`); every line that must give a finding
 * carries `# expect: <rule> <severity>@<column>, …`. Any other finding of those rules — a
 * look-alike flagged — fails, and so does a missing one.
 */
const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'precision');

function expected(text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /# expect: (.*)$/.exec(line);
    if (!m) return;
    for (const item of m[1]!.split(',')) {
      const [rule, rest = ''] = item.trim().split(' ');
      const [severity, column] = rest.split('@');
      out.push(`${rule} ${severity} ${i + 1}:${column}`);
    }
  });
  return out.sort();
}

describe('precision fixtures (true cases and look-alikes)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yml'))) {
    it(file, async () => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const ids = (/# rules: (.*)/.exec(text)?.[1] ?? '').split(',').map((s) => s.trim());
      const rules = pipelineRules.filter((r) => ids.includes(r.meta.id));
      expect(rules.length, `${file}: rules header`).toBe(ids.length);
      const ev = await runRules(rules, text);
      const got = ev.findings.map((f) => `${f.ruleId} ${f.severity} ${f.location.line}:${f.location.column}`).sort();
      expect(got).toEqual(expected(text));
      for (const f of ev.findings) {
        expect(f.message, 'one line').not.toMatch(/\n/);
        expect(f.message.length, f.message).toBeLessThanOrEqual(320);
      }
    });
  }
});
