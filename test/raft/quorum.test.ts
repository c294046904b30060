import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majorityVoteResult,
} from '../../src/raft/quorum.js';

describe('quorum', () => {
  test('the committed index is the highest index held by a majority (property, brute force)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(100), { minLength: 1, maxLength: 9 }), (matches) => {
        const ids = new Set(matches.map((_, i) => `n${i}`));
        const got = majorityCommittedIndex(ids, (id) => matches[Number(id.slice(1))]!);
        const quorum = Math.floor(matches.length / 2) + 1;
        const held = (idx: number) => matches.filter((m) => m >= idx).length >= quorum;
        assert.ok(held(got));
        assert.ok(!held(got + 1));
      }),
    );
  });

  test('an empty half of a joint configuration agrees to everything', () => {
    const acked = new Map([
      ['a', 5],
      ['b', 3],
      ['c', 1],
    ]);
    const get = (id: string) => acked.get(id) ?? 0;
    assert.equal(majorityCommittedIndex(new Set(), get), Number.POSITIVE_INFINITY);
    assert.equal(jointCommittedIndex(new Set(['a', 'b', 'c']), new Set(), get), 3);
    assert.equal(jointCommittedIndex(new Set(['a', 'b', 'c']), new Set(['a', 'c']), get), 1);
  });

  test('vote results: won, lost and pending, in simple and joint configurations', () => {
    const v = (entries: [string, boolean][]) => new Map(entries);
    const abc = new Set(['a', 'b', 'c']);
    assert.equal(majorityVoteResult(abc, v([['a', true]])), 'pending');
    assert.equal(
      majorityVoteResult(
        abc,
        v([
          ['a', true],
          ['b', true],
        ]),
      ),
      'won',
    );
    assert.equal(
      majorityVoteResult(
        abc,
        v([
          ['a', false],
          ['b', false],
        ]),
      ),
      'lost',
    );
    const cde = new Set(['c', 'd', 'e']);
    const votes = v([
      ['a', true],
      ['b', true],
      ['c', false],
      ['d', false],
    ]);
    assert.equal(jointVoteResult(abc, cde, votes), 'lost', 'won in one half, lost in the other');
    assert.equal(
      jointVoteResult(
        abc,
        cde,
        v([
          ['a', true],
          ['b', true],
          ['d', true],
        ]),
      ),
      'pending',
    );
  });
});
