import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageError } from '../../src/storage/errors.js';
import {
  BatchEncoder,
  decodeEntryAt,
  decodeRecord,
  RecordType,
  readFrame,
  type WalRecord,
} from '../../src/storage/wal-records.js';
import { CONF, entries } from './helpers.js';

function decodeAll(batch: Buffer, salt: number): WalRecord[] {
  const records: WalRecord[] = [];
  for (let pos = 0; pos < batch.length; ) {
    const frame = readFrame(batch, pos, batch.length, salt);
    assert.ok(frame.ok, `frame at ${pos}`);
    records.push(decodeRecord(batch, frame.type, frame.bodyStart, frame.end));
    pos = frame.end;
  }
  return records;
}

test('every record type round-trips, also when the batch buffer has to grow', () => {
  const salt = 0xdeadbeef;
  const encoder = new BatchEncoder(salt, 1); // far too small on purpose
  const positions: number[] = [];
  const list = entries(7, 3, 2, 100);
  encoder.entries(3, list, positions);
  encoder.hardState(3, { term: 2, vote: 'nödé-1', commit: 8 });
  encoder.hardState(4, { term: 0, vote: null, commit: 0 });
  const snapshot = { meta: { index: 9, term: 2, confState: CONF }, file: '3-9-1-0.snap', size: 12, crc: 77 };
  encoder.snapshot(RecordType.snapshotInstall, 3, snapshot);
  encoder.compact(3, 8);
  encoder.groupReset(5, { hardState: { term: 1, vote: 'a', commit: 1 }, snapshot, offset: 6, offsetTerm: 1 });
  encoder.groupDelete(6);
  encoder.meta('clusterId', new Uint8Array([1, 2]));
  const batch = encoder.commit(42);
  const records = decodeAll(batch, salt);
  assert.equal(records.length, 9);
  const [e, hs, hsNull, snap, compact, reset, del, meta, commit] = records;
  assert.deepEqual(e?.type === RecordType.entries && e.entries.map((x) => [x.index, x.term, x.type, x.len]), [
    [7, 2, 'normal', 125],
    [8, 2, 'normal', 125],
    [9, 2, 'normal', 125],
  ]);
  assert.deepEqual(hs, { type: RecordType.hardState, group: 3, hardState: { term: 2, vote: 'nödé-1', commit: 8 } });
  assert.deepEqual(hsNull, { type: RecordType.hardState, group: 4, hardState: { term: 0, vote: null, commit: 0 } });
  assert.deepEqual(snap, { type: RecordType.snapshotInstall, group: 3, snapshot });
  assert.deepEqual(compact, { type: RecordType.compact, group: 3, index: 8 });
  assert.deepEqual(reset?.type === RecordType.groupReset && reset.base.offset, 6);
  assert.deepEqual(del, { type: RecordType.groupDelete, group: 6 });
  assert.deepEqual(meta?.type === RecordType.meta && [meta.key, [...meta.value]], ['clusterId', [1, 2]]);
  assert.deepEqual(commit, { type: RecordType.commit, batchSeq: 42, recordCount: 8 });
  // Each entry decodes on its own from its recorded position, and checks it is the entry expected.
  const second = batch.subarray(positions[1], positions[1]! + 125);
  assert.deepEqual([...decodeEntryAt(second, 8, 2).data], [...list[1]!.data]);
  assert.throws(() => decodeEntryAt(second, 9, 2), StorageError);
});

test('a record checked with another salt, or with a flipped byte, fails its checksum', () => {
  const encoder = new BatchEncoder(1, 64);
  encoder.compact(1, 5);
  const batch = encoder.commit(1);
  assert.deepEqual(readFrame(batch, 0, batch.length, 2), { ok: false, reason: 'checksum' });
  const flipped = Buffer.from(batch);
  flipped[12] = flipped[12]! ^ 4;
  assert.deepEqual(readFrame(flipped, 0, flipped.length, 1), { ok: false, reason: 'checksum' });
  assert.deepEqual(readFrame(batch, 0, 10, 1), { ok: false, reason: 'truncated' });
});
