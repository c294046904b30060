import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LogUnavailableError } from '../../src/consensus/errors.js';
import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import type { Entry } from '../../src/consensus/types.js';
import { LogStore } from '../../src/storage/log-store.js';
import type { LogStoreOptions } from '../../src/storage/log-store-options.js';
import { assertSameLog, CONF, tempDir } from './helpers.js';

/**
 * Model test: random sequences of appends (overlapping, conflicting, leaving gaps), hard states, snapshot
 * installs (matching and conflicting), snapshot creation and compaction are applied to the durable store and to
 * MemoryLogStorage; both must accept or refuse the same operations and answer every read the same way, also
 * across restarts and when several operations are issued in one turn without waiting.
 */

type Command =
  | { kind: 'append'; from: number; count: number; term: number; bytes: number }
  | { kind: 'hardState'; term: number; commit: number }
  | { kind: 'install'; at: number; matching: boolean; term: number; bytes: number }
  | { kind: 'create'; at: number; bytes: number }
  | { kind: 'compact'; at: number }
  | { kind: 'restart' }
  | { kind: 'pipeline'; commands: Command[] };

const GROUP = 7;

const simpleCommand: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      from: fc.integer({ min: -4, max: 1 }),
      count: fc.integer({ min: 0, max: 5 }),
      term: fc.integer({ min: 1, max: 4 }),
      bytes: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(300)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hardState' as const),
      term: fc.integer({ min: 0, max: 9 }),
      commit: fc.integer({ min: 0, max: 50 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('install' as const),
      at: fc.integer({ min: -3, max: 4 }),
      matching: fc.boolean(),
      term: fc.integer({ min: 1, max: 5 }),
      bytes: fc.integer({ min: 0, max: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      at: fc.integer({ min: -4, max: 1 }),
      bytes: fc.integer({ min: 0, max: 64 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), at: fc.integer({ min: -3, max: 1 }) }) },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: simpleCommand },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('pipeline' as const),
      commands: fc.array(simpleCommand, { minLength: 2, maxLength: 4 }),
    }),
  },
);

function data(bytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

/** Issues one command to both; returns the store's promise and what the memory model did. */
function issue(
  cmd: Exclude<Command, { kind: 'restart' | 'pipeline' }>,
  store: LogStore,
  mem: MemoryLogStorage,
  step: number,
): { stored: Promise<unknown>; memError: unknown } {
  const last = mem.lastIndex();
  let stored: Promise<unknown>;
  let apply: () => void;
  switch (cmd.kind) {
    case 'append': {
      const first = Math.max(1, last + cmd.from);
      const list: Entry[] = Array.from({ length: cmd.count }, (_, i) => ({
        index: first + i,
        term: cmd.term,
        type: i % 3 === 2 ? 'confChange' : 'normal',
        data: data(cmd.bytes, step + i),
      }));
      stored = store.persist([{ group: GROUP, entries: list }]);
      apply = () => mem.append(list);
      break;
    }
    case 'hardState': {
      const hardState = { term: cmd.term, vote: cmd.term % 2 === 0 ? null : 'n2', commit: cmd.commit };
      stored = store.persist([{ group: GROUP, hardState }]);
      apply = () => mem.setHardState(hardState);
      break;
    }
    case 'install': {
      const index = Math.max(0, last + cmd.at);
      let term = cmd.term;
      if (cmd.matching) {
        try {
          term = mem.term(index);
        } catch {
          // Outside the log: a conflicting install then.
        }
      }
      const snapshot = { meta: { index, term, confState: CONF }, data: data(cmd.bytes, step) };
      stored = store.persist([{ group: GROUP, snapshot }]);
      apply = () => mem.applySnapshot(snapshot);
      break;
    }
    case 'create': {
      const index = Math.max(0, last + cmd.at);
      const snapshotData = data(cmd.bytes, step);
      stored = store.createSnapshot(GROUP, index, CONF, snapshotData);
      apply = () => mem.createSnapshot(index, CONF, snapshotData);
      break;
    }
    case 'compact': {
      const index = Math.max(0, mem.snapshot().meta.index + cmd.at);
      stored = store.compact(GROUP, index);
      apply = () => mem.compact(index);
      break;
    }
  }
  let memError: unknown = null;
  try {
    apply();
  } catch (error) {
    memError = error;
  }
  // Settle at once, so a refused write never counts as an unhandled rejection while others are awaited.
  const settled = stored.then(
    () => null,
    (error: unknown) => error,
  );
  return { stored: settled, memError };
}

async function assertSameOutcome(stored: Promise<unknown>, memError: unknown, context: string): Promise<void> {
  const storeError = await stored;
  assert.equal(
    storeError !== null,
    memError !== null,
    `${context}: store ${String(storeError)} vs memory ${String(memError)}`,
  );
  if (memError instanceof LogUnavailableError) assert.ok(storeError instanceof LogUnavailableError, context);
}

/** Cheap agreement check after every step; the full one (every range) runs at the end and after restarts. */
function assertSameShape(store: LogStore, mem: MemoryLogStorage, context: string): void {
  const view = store.group(GROUP);
  assert.equal(view.firstIndex(), mem.firstIndex(), `firstIndex ${context}`);
  assert.equal(view.lastIndex(), mem.lastIndex(), `lastIndex ${context}`);
  assert.deepEqual(view.snapshotMeta(), mem.snapshot().meta, `snapshot ${context}`);
  assert.deepEqual(view.initialState().hardState, mem.initialState().hardState, `hard state ${context}`);
  for (let i = mem.firstIndex() - 1; i <= mem.lastIndex(); i++) assert.equal(view.term(i), mem.term(i), `term(${i})`);
}

test('the durable store matches MemoryLogStorage on random operation sequences (with restarts)', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(command, { minLength: 1, maxLength: 30 }),
      fc.constantFrom(0, 300, 64 * 1024 * 1024),
      async (commands, cacheMaxBytes) => {
        const { dir, cleanup } = tempDir();
        const options: LogStoreOptions = { dir, segmentMaxBytes: 1024, checkpointSegments: 2, cacheMaxBytes };
        let store = await LogStore.open(options);
        try {
          await store.bootstrap(GROUP, CONF);
          const mem = MemoryLogStorage.withConfState(CONF);
          let step = 0;
          for (const cmd of commands) {
            step++;
            const context = `run ${run} step ${step} ${JSON.stringify(cmd)}`;
            if (cmd.kind === 'restart') {
              await store.close();
              store = await LogStore.open(options);
              assertSameLog(store.group(GROUP), mem, context);
              continue;
            }
            const issued = (cmd.kind === 'pipeline' ? cmd.commands : [cmd]).map((c, i) =>
              issue(c as Exclude<Command, { kind: 'restart' | 'pipeline' }>, store, mem, step * 10 + i),
            );
            for (const { stored, memError } of issued) await assertSameOutcome(stored, memError, context);
            assertSameShape(store, mem, context);
          }
          assertSameLog(store.group(GROUP), mem, `run ${run} end`);
          await store.close();
          store = await LogStore.open(options);
          assertSameLog(store.group(GROUP), mem, `run ${run} after the final restart`);
        } finally {
          run++;
          await store.close();
          cleanup();
        }
      },
    ),
    { numRuns: 60, seed: 20240611 },
  );
});
