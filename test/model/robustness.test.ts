import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../src/model/source.js';
import { builtinPolicy } from '../../src/policy/defaults.js';
import { lintPipeline } from '../../src/rules/run.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const fixture = path.join(here, '..', 'fixtures', 'cli', 'checkout');
const root = readFileSync(path.join(fixture, '.gitlab-ci.yml'), 'utf8');
const templates = readFileSync(path.join(fixture, 'ci', 'templates.yml'), 'utf8');

/** Small deterministic PRNG (mulberry32) so every run mutates the same way. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [':', '-', '[', ']', '{', '}', '&a', '*a', '<<: *a', '!reference [x, y]', '!!str', '"', "'", '|', '>', '\t', '\n', '  ', '#', '$CI_COMMIT_BRANCH', 'extends: .build_base', 'include: ci/templates.yml', 'rules:\n  - if: $X ==', 'null', '~', 'yes', '0x1F', '---\n', '%YAML 1.1\n'];

function mutate(text: string, r: () => number): string {
  let out = text;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (out.length + 1));
    const op = r();
    if (op < 0.4) out = out.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)] + out.slice(at);
    else if (op < 0.7) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 20));
    else {
      const lines = out.split('\n');
      const a = Math.floor(r() * lines.length);
      const b = Math.floor(r() * lines.length);
      [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      out = lines.join('\n');
    }
  }
  return out;
}

describe('untrusted CI YAML never crashes the model or the rules', () => {
  it('500 seeded mutations of a realistic pipeline give findings, never an exception', async () => {
    const r = rng(20261125);
    let invalid = 0;
    for (let i = 0; i < 500; i++) {
      const files = { '.gitlab-ci.yml': mutate(root, r), 'ci/templates.yml': r() < 0.5 ? mutate(templates, r) : templates };
      const ev = await lintPipeline(new MemorySource(files), '.gitlab-ci.yml', { policy: builtinPolicy() });
      for (const f of ev.findings) {
        expect(f.location.line).toBeGreaterThanOrEqual(1);
        expect(f.location.column).toBeGreaterThanOrEqual(1);
      }
      if (ev.findings.some((f) => f.ruleId === 'ci-config-invalid')) invalid++;
    }
    // The mutations do break configurations: the model reports them instead of throwing.
    expect(invalid).toBeGreaterThan(50);
  });
});
