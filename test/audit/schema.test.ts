/** The JSON report follows its documented schema (docs/audit.schema.json), with and without a baseline. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { auditOf, startScenario } from './scenario.js';

const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const schema = JSON.parse(readFileSync(path.join(root, 'docs', 'audit.schema.json'), 'utf8')) as object;

describe('tierguard-audit/1 JSON schema', () => {
  it('validates real reports, and rejects an undocumented field', async () => {
    const validate = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false }).compile(schema);
    const s = await startScenario();
    try {
      s.gl.setGroupRole('acme/platform', s.gl.base.botUser.id, 40); // some skipped reads too
      const first = await auditOf(s);
      const second = await auditOf(s, { baseline: first });
      for (const r of [first, second]) {
        const json = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
        expect(validate(json), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      }
      expect(second.progress).not.toBeNull();
      const extra = { ...(JSON.parse(JSON.stringify(first)) as object), undocumented: 1 };
      expect(validate(extra)).toBe(false);
    } finally {
      await s.gl.close();
    }
  });
});
