import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRuleMetas } from '../../src/catalogue/catalogue.js';

const docsDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'rules');

describe('every rule of the catalogue, the policy system’s own included', () => {
  it('has a docs page named after it', () => {
    const missing = allRuleMetas().filter((m) => !existsSync(path.join(docsDir, `${m.id}.md`))).map((m) => m.id);
    expect(missing).toEqual([]);
    for (const m of allRuleMetas()) expect(readFileSync(path.join(docsDir, `${m.id}.md`), 'utf8').startsWith(`# ${m.id}\n`)).toBe(true);
  });
});
