import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { liveRules } from '../../src/live/index.js';
import { docsPath } from '../../src/findings/rule-meta.js';

const SPEC_LIVE = [
  ['deploy-runner-unprotected', 'error'],
  ['deploy-runner-serves-untrusted', 'error'],
  ['deploy-environment-unprotected', 'error'],
  ['unprotected-secret-variable', 'error'],
  ['fork-pipelines-in-parent', 'warning'],
  ['pipeline-variables-unrestricted', 'warning'],
];

describe('live rule catalogue', () => {
  it('has the SPEC live rules first, with their default severities', () => {
    expect(liveRules.slice(0, SPEC_LIVE.length).map((r) => [r.meta.id, r.meta.defaultSeverity])).toEqual(SPEC_LIVE);
  });

  it('every live rule is kind live, and its docs page has the header, severity and sections', () => {
    const ids = new Set<string>();
    for (const { meta } of liveRules) {
      expect(meta.kind).toBe('live');
      expect(ids.has(meta.id)).toBe(false);
      ids.add(meta.id);
      const doc = readFileSync(docsPath(meta.id), 'utf8');
      expect(doc.startsWith(`# ${meta.id}\n`)).toBe(true);
      expect(doc).toContain(`\nSeverity: ${meta.defaultSeverity}\n`);
      for (const h of ['## What it flags', '## Why', '## How to fix']) expect(doc).toContain(`\n${h}\n`);
      expect(doc).toMatch(/Needs: /);
    }
  });
});
