import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeConfChange } from '../../src/consensus/conf-change-codec.js';
import { ConsensusError } from '../../src/consensus/errors.js';
import type { ConfState, Entry } from '../../src/consensus/types.js';
import { ballotRank, ballotRound, nextBallot, RANKS, rankOf } from '../../src/paxos/ballot.js';
import { applyMembershipChange, buildWindow, windowQuorumMin, windowVoteResult } from '../../src/paxos/membership.js';
import { mergePromisedValues } from '../../src/paxos/promise-merge.js';

const conf = (voters: string[], learners: string[] = []): ConfState => ({
  voters,
  votersOutgoing: [],
  learners,
  learnersNext: [],
  autoLeave: false,
});

const entry = (index: number, term: number, text: string): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(text),
});

describe('ballots', () => {
  test('a rank is in [1, 65535] and stable', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (id) => {
        const r = rankOf(id);
        return r >= 1 && r < RANKS && r === rankOf(id);
      }),
    );
  });

  test('the next ballot is the smallest of this node above the given one, ordered by (round, rank)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.string({ minLength: 1, maxLength: 8 }), (above, id) => {
        const b = nextBallot(above, id);
        return (
          b > above && ballotRank(b) === rankOf(id) && b - RANKS <= above && ballotRound(b) * RANKS + rankOf(id) === b
        );
      }),
    );
  });

  test('two nodes never draw the same ballot when their ranks differ', () => {
    assert.notEqual(rankOf('n1'), rankOf('n2'));
    assert.notEqual(nextBallot(1000, 'n1'), nextBallot(1000, 'n2'));
  });
});

describe('phase 1 value rule', () => {
  test('takes the value of the highest ballot per instance and fills gaps with no-ops', () => {
    const merged = mergePromisedValues(5, [
      [entry(5, 10, 'a'), entry(6, 10, 'b')],
      [entry(5, 20, 'A'), entry(8, 5, 'd')],
      [],
    ]);
    const texts = merged.values.map((v) => new TextDecoder().decode(v.data));
    assert.deepEqual(texts, ['A', 'b', '', 'd']);
    assert.deepEqual(
      merged.values.map((v) => v.fromBallot),
      [20, 10, 0, 5],
    );
    assert.equal(merged.gaps, 1);
  });

  test('ignores instances before the first one asked about', () => {
    const merged = mergePromisedValues(5, [[entry(3, 99, 'x'), entry(4, 99, 'y')]]);
    assert.equal(merged.values.length, 0);
  });

  test('property: every reported instance gets the highest reported ballot, every other one a no-op', () => {
    const report = fc.array(
      fc.record({ index: fc.integer({ min: 1, max: 30 }), term: fc.integer({ min: 1, max: 9 }) }),
      {
        maxLength: 20,
      },
    );
    fc.assert(
      fc.property(fc.array(report, { maxLength: 5 }), (reports) => {
        const entries = reports.map((r) => r.map((x) => entry(x.index, x.term, `${x.index}@${x.term}`)));
        const merged = mergePromisedValues(1, entries);
        const all = entries.flat();
        const max = all.reduce((m, e) => Math.max(m, e.index), 0);
        if (merged.values.length !== max) return false;
        for (let i = 1; i <= max; i++) {
          const best = all.filter((e) => e.index === i).reduce((m, e) => Math.max(m, e.term), 0);
          if (merged.values[i - 1]!.fromBallot !== best) return false;
        }
        return true;
      }),
    );
  });
});

describe('membership window', () => {
  test('changes apply in one step; learners are promoted and demoted; joint transitions are refused', () => {
    const cs = conf(['a', 'b', 'c'], ['d']);
    assert.deepEqual(applyMembershipChange(cs, { changes: [{ type: 'addVoter', node: 'd' }] }).voters, [
      'a',
      'b',
      'c',
      'd',
    ]);
    const replaced = applyMembershipChange(cs, {
      changes: [
        { type: 'addVoter', node: 'd' },
        { type: 'removeVoter', node: 'a' },
        { type: 'addLearner', node: 'b' },
      ],
    });
    assert.deepEqual(replaced.voters, ['c', 'd']);
    assert.deepEqual(replaced.learners, ['b']);
    for (const transition of ['joint', 'explicit'] as const) {
      assert.throws(
        () => applyMembershipChange(cs, { changes: [{ type: 'addVoter', node: 'd' }], transition }),
        (e: unknown) => e instanceof ConsensusError && e.code === 'INVALID_CONF_CHANGE',
      );
    }
    assert.throws(
      () => applyMembershipChange(conf(['a']), { changes: [{ type: 'removeVoter', node: 'a' }] }),
      ConsensusError,
    );
    assert.throws(() => applyMembershipChange(cs, { changes: [] }), ConsensusError);
  });

  test('a window with a pending change needs a majority of the old and of the new configuration', () => {
    const change: Entry = {
      index: 9,
      term: 1,
      type: 'confChange',
      data: encodeConfChange({
        changes: [
          { type: 'addVoter', node: 'd' },
          { type: 'addVoter', node: 'e' },
          { type: 'removeVoter', node: 'a' },
          { type: 'removeVoter', node: 'b' },
        ],
      }),
    };
    const window = buildWindow(conf(['a', 'b', 'c']), [change]);
    assert.equal(window.configs.length, 2);
    assert.deepEqual([...window.voters].sort(), ['a', 'b', 'c', 'd', 'e']);
    const votes = (ids: string[]) => new Map(ids.map((id) => [id, true] as const));
    assert.equal(windowVoteResult(window, votes(['a', 'b'])), 'pending', 'old majority only');
    assert.equal(windowVoteResult(window, votes(['c', 'd'])), 'pending', 'new majority only');
    assert.equal(windowVoteResult(window, votes(['a', 'c', 'd'])), 'won');
    const match: Record<string, number> = { a: 10, b: 10, c: 4, d: 7, e: 2 };
    assert.equal(
      windowQuorumMin(window, (id) => match[id] ?? 0),
      4,
    );
  });

  test('an undecodable membership entry is a no-op in the window', () => {
    const garbage: Entry = { index: 3, term: 1, type: 'confChange', data: new Uint8Array([0xc1]) };
    assert.equal(buildWindow(conf(['a']), [garbage]).configs.length, 1);
  });
});
