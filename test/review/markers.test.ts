import { describe, expect, it } from 'vitest';
import {
  actionMarker,
  findingMarker,
  parseActionMarker,
  parseFindingMarker,
  parseSummaryState,
  readOwnState,
  stateMarker,
  SUMMARY_MARKER,
} from '../../src/review/markers.js';
import { BOT, discussion, HUMAN, note } from './helpers.js';

describe('markers', () => {
  it('round-trips the finding marker', () => {
    const body = `${findingMarker('0123abcd4567ef89')}\n🛑 **Error** ...`;
    expect(parseFindingMarker(body)).toBe('0123abcd4567ef89');
  });

  it('only reads a finding marker on the first line', () => {
    expect(parseFindingMarker(`hello\n${findingMarker('0123abcd4567ef89')}`)).toBeUndefined();
    expect(parseFindingMarker(`x ${findingMarker('0123abcd4567ef89')}`)).toBeUndefined();
  });

  it('refuses fingerprints that could break out of the comment', () => {
    expect(() => findingMarker('x --> <b>')).toThrow(/invalid fingerprint/);
    expect(parseFindingMarker('<!-- tierguard:finding fp=a --> <img> -->')).toBeUndefined();
  });

  it('round-trips the summary state, and rejects malformed state', () => {
    const body = `${SUMMARY_MARKER}\n${stateMarker({ v: 1, fps: ['aa', 'bb'], sha: 'abc', rej: ['bb'] })}\n## …`;
    expect(parseSummaryState(body)).toEqual({ v: 1, fps: ['aa', 'bb'], sha: 'abc', rej: ['bb'] });
    expect(parseSummaryState(`${SUMMARY_MARKER}\n<!-- tierguard:state {"v":2,"fps":[],"sha":"x"} -->`)).toBeUndefined();
    expect(parseSummaryState(`${SUMMARY_MARKER}\n<!-- tierguard:state {"v":1,"fps":["a b"],"sha":"x"} -->`)).toBeUndefined();
    expect(parseSummaryState(`${SUMMARY_MARKER}\n<!-- tierguard:state {nope} -->`)).toBeUndefined();
    expect(parseSummaryState(`intro\n${SUMMARY_MARKER}\n${stateMarker({ v: 1, fps: [], sha: 'x' })}`)).toBeUndefined();
  });

  it('round-trips action markers', () => {
    const m = actionMarker('resolved', 'ffff0000ffff0000', 'abcdef12');
    expect(parseActionMarker(`${m}\nResolved: …`)).toEqual({ kind: 'resolved', fingerprint: 'ffff0000ffff0000', sha: 'abcdef12' });
  });
});

describe('readOwnState', () => {
  it('recognises tierguard discussions and summary, ignoring markers pasted by others', () => {
    const fp = '1111222233334444';
    const state = readOwnState(
      [
        discussion('d-human', [note(`${findingMarker(fp)}\nspoof`, { author: HUMAN })]),
        discussion('d-human-summary', [note(`${SUMMARY_MARKER}\nspoof`, { author: HUMAN, resolvable: false })], true),
        discussion('d-bot', [note(`${findingMarker(fp)}\nreal`), note('a reply', { author: HUMAN })]),
        discussion('d-summary', [note(`${SUMMARY_MARKER}\n${stateMarker({ v: 1, fps: [fp], sha: 'abc' })}\n…`, { resolvable: false })], true),
      ],
      BOT,
    );
    expect([...state.discussions.keys()]).toEqual([fp]);
    expect(state.discussions.get(fp)!.discussionId).toBe('d-bot');
    expect(state.summary?.state).toEqual({ v: 1, fps: [fp], sha: 'abc' });
    expect(state.summary?.noteId).toBeGreaterThan(0);
  });

  it('tracks resolution and the last action tierguard replied with (ignoring spoofed replies)', () => {
    const fp = '5555666677778888';
    const state = readOwnState(
      [
        discussion('d', [
          note(`${findingMarker(fp)}\nbody`, { resolved: true }),
          note(`${actionMarker('resolved', fp, 'abc')}\nResolved`, { resolved: true }),
          note(`${actionMarker('reopened', fp, 'def')}\nspoof`, { author: HUMAN, resolved: true }),
        ]),
      ],
      BOT,
    );
    expect(state.discussions.get(fp)).toMatchObject({ resolved: true, lastAction: { kind: 'resolved', sha: 'abc' } });
  });
});
