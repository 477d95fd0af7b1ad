import { describe, expect, it } from 'vitest';
import { makeFinding } from '../../src/findings/finding.js';
import { placeholders, resolveMessage } from '../../src/findings/messages.js';

const at = { file: '.gitlab-ci.yml', line: 3, column: 5, endLine: 3, endColumn: 9 };
const messages = { unprotected: 'Deploy job `{{job}}` runs in {{count}} untrusted contexts.', plain: 'No placeholders here.' };

describe('rule messages by id', () => {
  it('fills a template with data and keeps the id on the finding', () => {
    const f = makeFinding('demo-rule', 'error', { at, keyPath: ['environment'], messageId: 'unprotected', data: { job: 'deploy', count: 2 } }, messages);
    expect(f.message).toBe('Deploy job `deploy` runs in 2 untrusted contexts.');
    expect(f.messageId).toBe('unprotected');
    expect(f.blocking).toBe(true);
  });

  it('substitutes data literally (no second pass over placeholders in values)', () => {
    expect(resolveMessage('demo-rule', { messageId: 'unprotected', data: { job: '{{count}}', count: '$&' } }, messages)).toBe(
      'Deploy job `{{count}}` runs in $& untrusted contexts.',
    );
  });

  it('fills a placeholder used twice, written with spaces, or at the very end, the same on every use of the template', () => {
    const t = { m: '{{ a }} and {{a}} then {{b}}' };
    for (const [a, b] of [['x', 1], ['y', 2]] as const) expect(resolveMessage('demo-rule', { messageId: 'm', data: { a, b } }, t)).toBe(`${a.toUpperCase()} and ${a} then ${b}`);
    expect(resolveMessage('demo-rule', { messageId: 'plain' }, messages)).toBe('No placeholders here.');
  });

  it('throws, naming rule and message id, for an unknown id or a placeholder without data', () => {
    expect(() => resolveMessage('demo-rule', { messageId: 'missing' }, messages)).toThrow(/demo-rule.*"missing"/);
    expect(() => resolveMessage('demo-rule', { messageId: 'unprotected', data: { job: 'deploy' } }, messages)).toThrow(/demo-rule.*"unprotected".*\{\{count\}\}/);
    expect(() => resolveMessage('demo-rule', { messageId: 'toString' }, messages)).toThrow(/no message "toString"/);
    expect(() => resolveMessage('demo-rule', {}, messages)).toThrow(/demo-rule/);
  });

  it('starts the text with a capital letter when the template starts with a placeholder', () => {
    expect(resolveMessage('demo-rule', { messageId: 'where', data: { where: 'global variable' } }, { where: '{{where}} X is set.' })).toBe('Global variable X is set.');
    expect(resolveMessage('demo-rule', { messageId: 'where', data: { where: '`script` of job' } }, { where: '{{where}} X is set.' })).toBe('`script` of job X is set.');
  });

  it('passes plain text through for findings built outside a rule', () => {
    expect(resolveMessage('demo-rule', { message: 'As is' })).toBe('As is');
  });

  it('lists placeholders once, in order', () => {
    expect(placeholders('{{a}} and {{ b }} then {{a}}')).toEqual(['a', 'b']);
  });
});
