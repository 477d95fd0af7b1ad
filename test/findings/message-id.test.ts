import { describe, expect, it } from 'vitest';
import { makeFinding } from '../../src/findings/finding.js';
import { pointLocation } from '../../src/model/location.js';

const at = pointLocation('.gitlab-ci.yml', 3, 5);

describe('makeFinding message templates', () => {
  it('fills a messageId template with the report data', () => {
    const f = makeFinding('demo-rule', 'warning', { at, keyPath: ['script'], messageId: 'pipe', data: { tool: 'curl', n: 2 } }, { pipe: '`{{tool}}` piped to a shell {{ n }} times' });
    expect(f.message).toBe('`curl` piped to a shell 2 times');
  });

  it('takes a plain message as it is', () => {
    expect(makeFinding('demo-rule', 'error', { at, keyPath: [], message: 'as written' }).message).toBe('as written');
  });

  it('throws naming the rule and the messageId when the template is missing', () => {
    expect(() => makeFinding('demo-rule', 'error', { at, keyPath: [], messageId: 'nope' }, {})).toThrow(/demo-rule.*nope/);
  });
});
