/**
 * What is known about a script line's text, kept once for every line with that text and read by
 * every rule. Pipelines repeat script lines through anchors, `extends` and `!reference` (the
 * CMake pipeline runs 1,345 script lines of 83 distinct texts), and a dozen rules look at each
 * line: tokens, variable references, whether it can deploy, print, tamper with verification….
 * Each of those answers is a function of the text alone (`memoByText`); the engine gives every
 * line it builds the facts object of its text (one lookup per line), and the rules read the
 * answers from there (`memo.of(line)`) instead of looking the text up again in each memo.
 */
import { BoundedMemo, YAML_TEXT_CHARS } from '../util/bounded-memo.js';

/** The answers known for one text, by memo (see `memoByText`). Shared: read only. */
export interface LineFacts {
  /** The text (the first string seen with it: memo keys compare by identity first). */
  readonly text: string;
  /** Each memo's answer by its slot, filled as the rules ask. */
  readonly answers: unknown[];
}

/** Anything with a text, and the facts of that text when the engine built it (a `ScriptLine`). */
export interface HasText {
  readonly text: string;
  readonly facts?: LineFacts;
}

/** The facts of a text (bounded like the memos: texts are YAML an MR author writes). */
export function factsOf(text: string): LineFacts {
  let f = factsByText.get(text);
  if (f === undefined) factsByText.set(text, (f = { text, answers: [] }));
  return f;
}
const MAX_TEXTS = 20_000;
const factsByText = new BoundedMemo<LineFacts>(MAX_TEXTS, YAML_TEXT_CHARS);

/** A function of a text, memoised by text, also answering for a line from the line's facts. */
export interface TextMemo<T> {
  (text: string): T;
  /** The answer for `line.text`, kept in the line's facts (the text memo when it has none). */
  of(line: HasText): T;
}

/** Marks an answer that is `undefined` in a facts slot (an empty slot is also `undefined`). */
const NO_VALUE = Symbol('undefined');
let slots = 0;

/**
 * `f` memoised by its text argument: per-text results are computed once. Results are shared:
 * callers must not mutate them. `memo.of(line)` answers for a script line from its facts.
 */
export function memoByText<T>(f: (text: string) => T, max = MAX_TEXTS): TextMemo<T> {
  // Bounded by texts and by their characters; an `undefined` answer is kept as NO_VALUE.
  const cache = new BoundedMemo<unknown>(max, YAML_TEXT_CHARS);
  return onLines((text: string): T => {
    const hit = cache.get(text);
    if (hit !== undefined) return (hit === NO_VALUE ? undefined : hit) as T;
    const answer = f(text);
    cache.set(text, answer === undefined ? NO_VALUE : answer);
    return answer;
  });
}

/**
 * `byText` as it is (memoised by its owner, as the model's `variableRefs` is), with `.of(line)`
 * keeping its answer in the line's facts: no second cache by text.
 */
export function onLines<T>(byText: (text: string) => T): TextMemo<T> {
  const slot = slots++;
  const memo = ((text: string): T => byText(text)) as TextMemo<T>;
  memo.of = (line: HasText): T => {
    const facts = line.facts;
    if (facts === undefined) return byText(line.text);
    const kept = facts.answers[slot];
    if (kept !== undefined) return (kept === NO_VALUE ? undefined : kept) as T;
    const answer = byText(facts.text);
    facts.answers[slot] = answer === undefined ? NO_VALUE : answer;
    return answer;
  };
  return memo;
}
