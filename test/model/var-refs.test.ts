import { describe, expect, it } from 'vitest';
import { hasVariableRef, referencedNames, replaceVariableRefs, variableRefs } from '../../src/model/var-refs.js';
import { YAML_TEXT_CHARS } from '../../src/util/bounded-memo.js';

const names = (t: string, o?: Parameters<typeof variableRefs>[1]) => variableRefs(t, o).map((r) => `${r.name}@${r.index}+${r.length}`);

describe('variableRefs (doc/ci/variables/where_variables_can_be_used.md)', () => {
  it('finds $NAME, ${NAME}, $env:NAME, ${env:NAME} and %NAME% with their offsets', () => {
    expect(names('echo $A ${B_1} $env:C ${ENV:D} %E%')).toEqual(['A@5+2', 'B_1@8+6', 'C@15+6', 'D@22+8', 'E@31+3']);
  });
  it('treats $$ as an escaped dollar', () => {
    expect(names('echo $$A $$$B $$$$C')).toEqual(['B@11+2']);
  });
  it('names start with a letter or underscore by default (lib/expand_variables.rb)', () => {
    expect(names('$1 ${2X} %3% $_x')).toEqual(['_x@13+3']);
    expect(names('$1 ${2X} %3%', { names: 'word', percent: 'word' })).toEqual(['1@0+2', '2X@3+5', '3@9+3']);
  });
  it('takes only the forms a place accepts', () => {
    expect(names('$env:A %B% ${C}', { powershell: false, percent: false })).toEqual(['env@0+4', 'C@11+4']);
    expect(names('${A', { openBrace: true })).toEqual(['A@0+3']);
    expect(names('${A')).toEqual([]);
    expect(names('$$A', { dollarEscape: false })).toEqual(['A@1+2']);
  });
  it('answers the derived questions', () => {
    expect(referencedNames('$A ${A} $B')).toEqual(['A', 'B']);
    expect(hasVariableRef('price: 5$')).toBe(false);
    expect(hasVariableRef('%PATH%')).toBe(true);
    expect(replaceVariableRefs('$A/${B}/$C/$$A', (n) => (n === 'C' ? undefined : n.toLowerCase()))).toBe('a/b/$C/$$A');
  });

  it('keeps the answers it memoises within YAML_TEXT_CHARS characters of texts (values an MR author writes)', () => {
    const refs = variableRefs('deploy --token $TOKEN');
    expect(variableRefs('deploy --token $TOKEN')).toBe(refs);
    for (const c of ['a', 'b']) expect(variableRefs('$' + c.repeat(YAML_TEXT_CHARS / 2))).toHaveLength(1);
    const again = variableRefs('deploy --token $TOKEN');
    expect(again).not.toBe(refs);
    expect(again).toEqual(refs);
  });
});
