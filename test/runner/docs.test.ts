import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { docsPath } from '../../src/findings/rule-meta.js';
import { checkRunnerConfig, runnerRules } from '../../src/runner/check.js';
import { testPolicy } from './helpers.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function examples(md: string): { kind: 'incorrect' | 'correct'; code: string }[] {
  const out: { kind: 'incorrect' | 'correct'; code: string }[] = [];
  const re = /^```toml (incorrect|correct)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ kind: m[1] as 'incorrect' | 'correct', code: m[2]! });
  return out;
}

describe('runner rule docs', () => {
  for (const rule of runnerRules) {
    const id = rule.meta.id;
    const path = repoRoot + docsPath(id);
    describe(id, () => {
      it('has a page titled with the id, its severity and the required sections', () => {
        expect(existsSync(path)).toBe(true);
        const md = readFileSync(path, 'utf8');
        expect(md.split('\n')[0]).toBe(`# ${id}`);
        const severityLine = md.split('\n').find((l) => l.startsWith('**Default severity:**')) ?? '';
        expect(severityLine.split('·')[0]).toContain(` ${rule.meta.defaultSeverity}`);
        for (const section of ['## What it flags', '## Why', '## How to fix', '## Examples']) expect(md).toContain(section);
        const ex = examples(md);
        expect(ex.some((e) => e.kind === 'incorrect')).toBe(true);
        expect(ex.some((e) => e.kind === 'correct')).toBe(true);
      });

      it('examples behave as documented', () => {
        const ex = examples(readFileSync(path, 'utf8'));
        ex.forEach((e, n) => {
          const ids = checkRunnerConfig(`${id}-example-${n}.toml`, e.code, testPolicy()).findings.map((f) => f.ruleId);
          if (e.kind === 'incorrect') expect(ids, `example ${n}`).toContain(id);
          else expect(ids, `example ${n}`).not.toContain(id);
        });
      });
    });
  }
});
