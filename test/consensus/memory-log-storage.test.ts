import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogCompactedError, LogUnavailableError } from '../../src/consensus/errors.js';
import { EMPTY_CONF_STATE } from '../../src/consensus/log-storage.js';
import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import type { Entry } from '../../src/consensus/types.js';

const entry = (index: number, term: number, bytes = 0): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(bytes),
});

test('append extends, and an overlapping append truncates the conflicting suffix', () => {
  const s = new MemoryLogStorage();
  s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  assert.equal(s.lastIndex(), 3);
  s.append([entry(2, 2)]);
  assert.equal(s.lastIndex(), 2);
  assert.equal(s.term(2), 2);
  assert.throws(() => s.append([entry(5, 2)]), /gap/);
});

test('entries() honours bounds and the byte limit but returns at least one entry', () => {
  const s = new MemoryLogStorage();
  s.append([entry(1, 1, 100), entry(2, 1, 100), entry(3, 1, 100)]);
  assert.equal(s.entries(1, 4, Number.MAX_SAFE_INTEGER).length, 3);
  assert.equal(s.entries(1, 4, 1).length, 1);
  assert.equal(s.entries(1, 4, 260).length, 2);
  assert.throws(() => s.entries(1, 5, 1000), LogUnavailableError);
});

test('snapshot then compact keeps later entries and answers the term at the compaction point', () => {
  const s = new MemoryLogStorage();
  s.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
  s.createSnapshot(3, EMPTY_CONF_STATE, new Uint8Array([9]));
  assert.equal(s.firstIndex(), 1, 'creating a snapshot does not drop entries');
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.term(2), 1);
  assert.throws(() => s.term(1), LogCompactedError);
  assert.throws(() => s.entries(2, 3, 100), LogCompactedError);
  assert.throws(() => s.compact(4), /past the snapshot/);
});

test('applySnapshot keeps a matching suffix and drops a conflicting log', () => {
  const s = new MemoryLogStorage();
  s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  s.applySnapshot({ meta: { index: 2, term: 1, confState: EMPTY_CONF_STATE }, data: new Uint8Array() });
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.lastIndex(), 3);
  s.applySnapshot({ meta: { index: 5, term: 3, confState: EMPTY_CONF_STATE }, data: new Uint8Array() });
  assert.equal(s.firstIndex(), 6);
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.term(5), 3);
});
