import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../src/model/pipeline.js';
import { MemorySource } from '../../src/model/source.js';
import { scriptLinesOf } from '../../src/rules/engine.js';
import { factsOf, memoByText, onLines } from '../../src/rules/line-facts.js';
import { YAML_TEXT_CHARS } from '../../src/util/bounded-memo.js';

describe('per-text facts of script lines', () => {
  it('gives every line with the same text, in any pipeline, one facts object', async () => {
    const yaml = `.base:\n  script: [make build, "make test"]\na:\n  extends: .base\nb:\n  script: ["make build", make lint]\n`;
    const lines = async () => {
      const p = await buildPipeline(new MemorySource({ '.gitlab-ci.yml': yaml }), '.gitlab-ci.yml');
      return Object.fromEntries(p.jobs.map((j) => [j.name, scriptLinesOf(j.node)]));
    };
    const first = await lines();
    const second = await lines();
    expect(first.a![0]!.facts).toBe(first.b![0]!.facts);
    expect(first.a![0]!.facts).toBe(second.a![0]!.facts);
    expect(first.a![1]!.facts).not.toBe(first.b![1]!.facts);
    expect(first.b![1]!.facts).toBe(factsOf('make lint'));
    expect(first.b![1]!.facts.text).toBe('make lint');
    // each line keeps its own place
    expect(first.a![0]!.loc.line).toBe(2);
    expect(first.b![0]!.loc.line).toBe(6);
  });

  it('answers for a line from its facts, computing each text once, `undefined` answers included', () => {
    const asked: string[] = [];
    const upper = memoByText((t) => (asked.push(t), t === 'none' ? undefined : t.toUpperCase()));
    const line = (text: string) => ({ text, facts: factsOf(text) });
    expect(upper.of(line('echo hi'))).toBe('ECHO HI');
    expect(upper.of(line('echo hi'))).toBe('ECHO HI');
    expect(upper('echo hi')).toBe('ECHO HI');
    expect(upper.of(line('none'))).toBeUndefined();
    expect(upper.of(line('none'))).toBeUndefined();
    // a line the engine did not build (no facts) is answered by text
    expect(upper.of({ text: 'echo ho' })).toBe('ECHO HO');
    expect(asked).toEqual(['echo hi', 'none', 'echo ho']);
  });

  it('keeps each memo\'s answers apart in the same facts', () => {
    const len = memoByText((t) => t.length);
    const rev = memoByText((t) => t.toUpperCase());
    const l = { text: 'abc', facts: factsOf('abc') };
    expect(len.of(l)).toBe(3);
    expect(rev.of(l)).toBe('ABC');
    expect(len.of(l)).toBe(3);
  });

  it('keeps the answers of a function memoised elsewhere in the facts only (onLines)', () => {
    const asked: string[] = [];
    const length = onLines((t) => (asked.push(t), t.length));
    const l = { text: 'make lint-all', facts: factsOf('make lint-all') };
    expect(length.of(l)).toBe(13);
    expect(length.of(l)).toBe(13);
    // by text it is the function itself: asked each time, no cache of its own
    expect(length('make lint-all')).toBe(13);
    expect(asked).toEqual(['make lint-all', 'make lint-all']);
  });

  // The service keeps these memos from review to review, and a script line can be as long as a
  // CI file: an MR author pushing long distinct lines must not make them pile up.
  it('starts a memo and the facts afresh once their texts add up to YAML_TEXT_CHARS characters', () => {
    const asked: string[] = [];
    const len = memoByText((t) => (asked.push(t.slice(0, 5)), t.length));
    const facts = factsOf('make test');
    expect(len('short')).toBe(5);
    expect(len('short')).toBe(5);
    expect(factsOf('make test')).toBe(facts);
    expect(asked).toEqual(['short']);
    // two texts of half the budget each: the second one passes it
    const half = YAML_TEXT_CHARS / 2;
    for (const c of ['a', 'b']) {
      const long = c.repeat(half);
      expect(len(long)).toBe(half);
      factsOf(long);
    }
    expect(len('short')).toBe(5);
    expect(asked).toEqual(['short', 'aaaaa', 'bbbbb', 'short']);
    expect(factsOf('make test')).not.toBe(facts);
    expect(factsOf('make test').text).toBe('make test');
  });
});
