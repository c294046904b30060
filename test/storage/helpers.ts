import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogStorage } from '../../src/consensus/log-storage.js';
import type { ConfState, Entry } from '../../src/consensus/types.js';

export const CONF: ConfState = {
  voters: ['n1', 'n2', 'n3'],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
};

/** A fresh directory under the system temp dir; removed by the returned cleanup. */
export function tempDir(prefix = 'cairn-storage-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Bytes of `data` up to its last non-zero byte: what a log segment holds apart from its preallocated zeros. */
export function nonZeroLength(data: Uint8Array): number {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return end;
}

/** nonZeroLength of a file. */
export function fileDataBytes(path: string): number {
  return nonZeroLength(readFileSync(path));
}

export function entry(index: number, term: number, bytes = 8, fill = index): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(bytes).fill(fill & 0xff) };
}

export function entries(first: number, count: number, term: number, bytes = 8): Entry[] {
  return Array.from({ length: count }, (_, i) => entry(first + i, term, bytes));
}

/** What a read returned: a value, or the class of the error it threw. */
export function outcome<T>(read: () => T): { value: T } | { error: string } {
  try {
    return { value: read() };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

function plainEntries(list: Entry[]): { index: number; term: number; type: string; data: number[] }[] {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: [...e.data] }));
}

/**
 * Asserts two LogStorages answer every read the same way: bounds, terms (including just outside the log),
 * entries for every range and a few byte limits, hard state, configuration and snapshot.
 */
export function assertSameLog(actual: LogStorage, expected: LogStorage, context = ''): void {
  assert.equal(actual.firstIndex(), expected.firstIndex(), `firstIndex ${context}`);
  assert.equal(actual.lastIndex(), expected.lastIndex(), `lastIndex ${context}`);
  assert.deepEqual(actual.initialState(), expected.initialState(), `initialState ${context}`);
  const a = actual.snapshot();
  const e = expected.snapshot();
  assert.deepEqual(a.meta, e.meta, `snapshot meta ${context}`);
  assert.deepEqual([...a.data], [...e.data], `snapshot data ${context}`);
  const first = expected.firstIndex();
  const last = expected.lastIndex();
  for (let i = first - 2; i <= last + 1; i++) {
    assert.deepEqual(
      outcome(() => actual.term(i)),
      outcome(() => expected.term(i)),
      `term(${i}) ${context}`,
    );
  }
  for (let lo = first - 1; lo <= last + 1; lo++) {
    for (let hi = lo; hi <= last + 2; hi++) {
      for (const maxBytes of [0, 40, Number.MAX_SAFE_INTEGER]) {
        const got = outcome(() => plainEntries(actual.entries(lo, hi, maxBytes)));
        const want = outcome(() => plainEntries(expected.entries(lo, hi, maxBytes)));
        assert.deepEqual(got, want, `entries(${lo}, ${hi}, ${maxBytes}) ${context}`);
      }
    }
  }
}
