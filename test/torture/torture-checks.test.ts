import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChecksumAnswer } from '../../src/torture/admin-http.js';
import { exitCause } from '../../src/torture/node-process.js';
import { compareChecksums } from '../../src/torture/replica-check.js';
import {
  checkAcknowledgedWrites,
  checkWatch,
  stateFromLog,
  type WatchedBatch,
  type WatchedChange,
} from '../../src/torture/watch-check.js';

const put = (key: string, value: string, version: number, rev: number): WatchedChange => ({
  type: 'put',
  key,
  value,
  version,
  modRevision: rev,
});
const del = (key: string, rev: number): WatchedChange => ({
  type: 'delete',
  key,
  value: '',
  version: 0,
  modRevision: rev,
});
const batch = (revision: number, ...changes: WatchedChange[]): WatchedBatch => ({ revision, changes });

/** A change log touching the prefix at revisions 2, 3, 5, 6 (4 touched other keys). */
const log: WatchedBatch[] = [
  batch(2, put('t/a', 'x', 1, 2)),
  batch(3, put('t/a', 'y', 2, 3)),
  batch(5, del('t/a', 5)),
  batch(6, put('t/b', 'z', 1, 6), put('t/c', 'w', 1, 6)),
];

describe('watch check', () => {
  test('exactly the log, from the start revision on, is complete', () => {
    const r = checkWatch(log, log, 2, 6);
    assert.equal(r.ok, true);
    assert.equal(r.expected, 4);
    assert.equal(checkWatch(log.slice(2), log, 4, 6).ok, true, 'a watch started at 4 owes only 5 and 6');
  });

  test('a missing revision (a gap) is found', () => {
    const r = checkWatch([log[0]!, log[1]!, log[3]!], log, 2, 6);
    assert.equal(r.ok, false);
    assert.match(r.problems.join('\n'), /revision 5 missing \(delete t\/a\)/);
  });

  test('a duplicate after a reconnect and an out-of-order revision are found', () => {
    const duplicate = checkWatch([log[0]!, log[1]!, { ...log[1]!, node: 'n2' }, log[2]!, log[3]!], log, 2, 6);
    assert.equal(duplicate.ok, false);
    assert.match(duplicate.problems[0]!, /revision 3 delivered twice \(again by n2\)/);
    const reordered = checkWatch([log[0]!, log[2]!, log[1]!, log[3]!], log, 2, 6);
    assert.equal(reordered.ok, false);
    assert.match(reordered.problems.join('\n'), /revision 3 delivered after 5/);
  });

  test('a changed value, a missing change in a revision, or a revision the log does not have are found', () => {
    const changed = checkWatch([log[0]!, batch(3, put('t/a', 'Y', 2, 3)), log[2]!, log[3]!], log, 2, 6);
    assert.match(changed.problems.join('\n'), /revision 3 differs/);
    const partial = checkWatch([log[0]!, log[1]!, log[2]!, batch(6, put('t/b', 'z', 1, 6))], log, 2, 6);
    assert.match(partial.problems.join('\n'), /revision 6 differs/);
    const invented = checkWatch([...log.slice(0, 2), batch(4, put('t/a', 'q', 3, 4)), ...log.slice(2)], log, 2, 6);
    assert.match(invented.problems.join('\n'), /revision 4 is not in the log/);
    const wrongModRevision = checkWatch([batch(2, put('t/a', 'x', 1, 9)), ...log.slice(1)], log, 2, 6);
    assert.match(wrongModRevision.problems.join('\n'), /says modRevision 9/);
  });

  test('a watcher that stopped early misses the tail', () => {
    const r = checkWatch(log.slice(0, 2), log, 2, 6);
    assert.equal(r.problemCount, 2);
  });

  test('problems are bounded but counted', () => {
    const long: WatchedBatch[] = [];
    for (let r = 1; r <= 100; r++) long.push(batch(r, put('t/k', `v${r}`, r, r)));
    const r = checkWatch([], long, 1, 100);
    assert.equal(r.problemCount, 100);
    assert.equal(r.problems.length, 20);
  });
});

describe('acknowledged writes and the final state', () => {
  test('every acknowledged write must be in the log at its revision', () => {
    const good = checkAcknowledgedWrites(
      [
        { id: 'c1:1', key: 't/a', type: 'put', revision: 2, value: 'x', version: 1 },
        { id: 'c1:2', key: 't/a', type: 'delete', revision: 5 },
        { id: 'c1:0', key: 't/a', type: 'put', revision: 1, value: 'old', version: 1 }, // before the log: skipped
      ],
      log,
      2,
    );
    assert.deepEqual(good, { checked: 2, problems: [], problemCount: 0 });
    const lost = checkAcknowledgedWrites(
      [
        { id: 'c2:1', key: 't/a', type: 'put', revision: 3, value: 'other', version: 2 },
        { id: 'c2:2', key: 't/b', type: 'delete', revision: 4 },
      ],
      log,
      2,
    );
    assert.equal(lost.problemCount, 2);
    assert.match(
      lost.problems[0]!,
      /op c2:1: acknowledged put t\/a="other" v2 at revision 3, but the log has put t\/a="y" v2/,
    );
    assert.match(lost.problems[1]!, /the log has nothing there/);
  });

  test('the log builds the final state', () => {
    assert.deepEqual(
      [...stateFromLog(log).entries()],
      [
        ['t/b', { value: 'z', version: 1 }],
        ['t/c', { value: 'w', version: 1 }],
      ],
    );
  });
});

describe('replica checksums', () => {
  const answer = (node: string, applied: number, checksum: string, revision = 10): ChecksumAnswer => ({
    node,
    applied,
    revision,
    checksum,
  });

  test('identical at one applied index', () => {
    const r = compareChecksums(
      new Map([
        ['n1', answer('n1', 7, 'aa')],
        ['n2', answer('n2', 7, 'aa')],
      ]),
    );
    assert.equal(r?.verdict, 'identical');
    assert.equal(r?.applied, 7);
  });

  test('different checksums at one applied index name the groups', () => {
    const r = compareChecksums(
      new Map([
        ['n1', answer('n1', 7, 'aaaa')],
        ['n2', answer('n2', 7, 'bbbb')],
        ['n3', answer('n3', 7, 'aaaa')],
      ]),
    );
    assert.equal(r?.verdict, 'different');
    assert.match(r!.detail, /n1,n3=aaaa vs n2=bbbb/);
  });

  test('not comparable yet: different indexes, a missing answer, or before the last write', () => {
    assert.equal(
      compareChecksums(
        new Map([
          ['n1', answer('n1', 7, 'a')],
          ['n2', answer('n2', 8, 'b')],
        ]),
      ),
      null,
    );
    assert.equal(
      compareChecksums(
        new Map([
          ['n1', answer('n1', 7, 'a')],
          ['n2', null],
        ]),
      ),
      null,
    );
    assert.equal(compareChecksums(new Map([['n1', answer('n1', 7, 'a', 5)]]), 6), null);
    assert.equal(compareChecksums(new Map()), null);
  });
});

describe('node exits the harness did not cause', () => {
  test('a stop signal or a clean exit is interference; anything else is a crash', () => {
    assert.equal(exitCause(null, 'SIGTERM'), 'outside-signal');
    assert.equal(exitCause(null, 'SIGINT'), 'outside-signal');
    assert.equal(exitCause(0, null), 'outside-signal');
    assert.equal(exitCause(1, null), 'crash');
    assert.equal(exitCause(null, 'SIGSEGV'), 'crash');
    assert.equal(exitCause(null, 'SIGABRT'), 'crash');
  });
});
