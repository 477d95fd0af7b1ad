import { describe, expect, it } from 'vitest';
import { formatOption } from '../../src/cli/io.js';
import {
  RENDER_FORMATS,
  renderCodeQuality,
  renderFindings,
  renderJson,
  renderSarif,
  renderText,
  type RenderFormat,
} from '../../src/findings/render/index.js';
import { input, SECRET } from './fixtures.js';

describe('renderFindings', () => {
  it('dispatches to the renderer of each format', () => {
    expect(renderFindings('text', input())).toBe(renderText(input()));
    expect(renderFindings('json', input())).toBe(renderJson(input()));
    expect(renderFindings('sarif', input())).toBe(renderSarif(input()));
    expect(renderFindings('codequality', input())).toBe(renderCodeQuality(input()));
  });

  it('prints no part of a registered secret in any format', () => {
    for (const format of RENDER_FORMATS) {
      const out = renderFindings(format, input({ color: true, diagnostics: [`token ${SECRET}`] }));
      expect(out, format).not.toContain(SECRET);
      expect(out, format).not.toContain('AbCdEf1234567890');
      expect(out, format).toContain('glpa************');
    }
  });

  it('does not depend on the order of its input', () => {
    for (const format of RENDER_FORMATS) {
      const reversed = input();
      reversed.findings.reverse();
      expect(renderFindings(format, reversed), format).toBe(renderFindings(format, input()));
    }
  });

  it('validates format names and rejects unknown ones with a clear error', () => {
    expect(RENDER_FORMATS).toEqual(['text', 'json', 'sarif', 'codequality']);
    // The CLI's --format reads them through formatOption.
    expect(formatOption('sarif', RENDER_FORMATS, 'text')).toBe('sarif');
    expect(() => formatOption('xml', RENDER_FORMATS, 'text')).toThrow('--format must be one of text, json, sarif, codequality (got "xml")');
    expect(() => renderFindings('xml' as RenderFormat, input())).toThrow(
      'unknown output format "xml" (expected text, json, sarif, codequality)',
    );
  });
});

describe('SourceFiles.maskText with a secret spanning several lines', () => {
  it('masks every line of a private-key block quoted in any text', async () => {
    const { SourceFiles } = await import('../../src/findings/sources.js');
    const s = new SourceFiles();
    s.add('ci.yml', 'KEY: |\n  -----BEGIN PRIVATE KEY-----\n  MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n  -----END PRIVATE KEY-----\n');
    s.addSecret({ file: 'ci.yml', line: 2, column: 3, endLine: 4, endColumn: 28 });
    const out = s.maskText('quoted: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC and more');
    expect(out).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
    expect(s.line('ci.yml', 3)).toBe('*'.repeat(34));
  });
});
