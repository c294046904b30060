import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogCompactedError } from '../../src/consensus/errors.js';
import { EMPTY_CONF_STATE } from '../../src/consensus/log-storage.js';
import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import type { Entry } from '../../src/consensus/types.js';
import { RaftLog } from '../../src/raft/raft-log.js';

const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array(1) });

function logWith(stable: Entry[], unstable: Entry[] = []): RaftLog {
  const storage = new MemoryLogStorage();
  storage.append(stable);
  const log = new RaftLog(storage, 1 << 20);
  log.append(unstable);
  return log;
}

describe('raft log', () => {
  test('reads span stable and unstable entries', () => {
    const log = logWith([e(1, 1), e(2, 1)], [e(3, 2), e(4, 2)]);
    assert.equal(log.lastIndex(), 4);
    assert.deepEqual(
      log.slice(1, 5, 1 << 20).map((x) => x.index),
      [1, 2, 3, 4],
    );
    assert.equal(log.term(3), 2);
    assert.equal(log.termOrZero(9), 0);
  });

  test('maybeAppend accepts a matching prefix, truncates a conflicting suffix, and refuses a gap', () => {
    const log = logWith([e(1, 1), e(2, 1), e(3, 1)]);
    assert.equal(log.maybeAppend(5, 1, 0, [e(6, 2)]), undefined, 'no entry 5: no match');
    assert.equal(log.maybeAppend(1, 1, 2, [e(2, 2)]), 2);
    assert.equal(log.lastIndex(), 2, 'entry 3 of the old term is gone');
    assert.equal(log.term(2), 2);
    assert.equal(log.committed, 2);
    assert.equal(log.maybeAppend(1, 1, 2, [e(2, 2)]), 2, 'a duplicate append changes nothing');
  });

  test('a conflict below the commit index is a fatal invariant violation', () => {
    const log = logWith([e(1, 1), e(2, 1)]);
    log.commitTo(2);
    assert.throws(() => log.maybeAppend(1, 1, 2, [e(2, 3)]), /conflicts with a committed entry/);
  });

  test('maybeCommit only commits an index whose entry is of the given term', () => {
    const log = logWith([e(1, 1), e(2, 1), e(3, 2)]);
    assert.equal(log.maybeCommit(2, 2), false);
    assert.equal(log.maybeCommit(3, 2), true);
    assert.equal(log.committed, 3);
  });

  test('findConflictByTerm skips whole terms', () => {
    const log = logWith([e(1, 1), e(2, 1), e(3, 3), e(4, 3), e(5, 3)]);
    assert.deepEqual(log.findConflictByTerm(5, 2), { index: 2, term: 1 });
    assert.deepEqual(log.findConflictByTerm(5, 3), { index: 5, term: 3 });
    assert.deepEqual(log.findConflictByTerm(5, 0), { index: 0, term: 0 });
  });

  test('compacted entries throw, and their index is reported as a possible match', () => {
    const storage = new MemoryLogStorage();
    storage.append([e(1, 1), e(2, 1), e(3, 2)]);
    storage.createSnapshot(2, EMPTY_CONF_STATE, new Uint8Array());
    storage.compact(2);
    const log = new RaftLog(storage, 1 << 20);
    assert.throws(() => log.slice(1, 3, 100), LogCompactedError);
    assert.equal(log.term(2), 1, 'the compaction point still has a term');
    assert.deepEqual(log.findConflictByTerm(3, 1), { index: 2, term: 1 });
  });

  test('stableTo forgets persisted unstable entries unless they were replaced meanwhile', () => {
    const log = logWith([], [e(1, 1), e(2, 1)]);
    log.unstable.stableTo(2, 5);
    assert.equal(log.unstable.entries.length, 2, 'term mismatch: replaced meanwhile');
    log.unstable.stableTo(2, 1);
    assert.equal(log.unstable.entries.length, 0);
    assert.equal(log.unstable.offset, 3);
  });
});
