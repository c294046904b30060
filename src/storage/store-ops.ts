import { EMPTY_HARD_STATE } from '../consensus/log-storage.js';
import type { ConfState, Entry, GroupId, HardState, SnapshotMeta } from '../consensus/types.js';
import { StorageError } from './errors.js';
import type { ProjectedGroup } from './projected-group.js';
import { type BatchEncoder, type GroupBase, RecordType, type SnapshotRef } from './wal-records.js';

/** One write the store was asked to make durable, as queued for the next commit. */
export type Op =
  | { readonly kind: 'entries'; readonly group: GroupId; readonly entries: readonly Entry[] }
  | { readonly kind: 'hardState'; readonly group: GroupId; readonly hardState: HardState }
  | {
      readonly kind: 'snapshotInstall';
      readonly group: GroupId;
      readonly meta: SnapshotMeta;
      readonly data: Uint8Array;
    }
  | { readonly kind: 'snapshotCreate'; readonly group: GroupId; meta: SnapshotMeta; readonly data: Uint8Array }
  | { readonly kind: 'compact'; readonly group: GroupId; readonly index: number }
  | { readonly kind: 'bootstrap'; readonly group: GroupId; readonly confState: ConfState }
  | { readonly kind: 'delete'; readonly group: GroupId }
  | { readonly kind: 'meta'; readonly key: string; readonly value: Uint8Array };

/** Validates `op` against (and applies it to) the projected state of its group; throws when it is refused. */
export function applyToProjection(projected: ProjectedGroup, op: Exclude<Op, { kind: 'meta' }>): void {
  switch (op.kind) {
    case 'entries':
      projected.append(op.entries);
      return;
    case 'hardState':
      projected.requireExists();
      return;
    case 'snapshotInstall':
      projected.installSnapshot(op.meta.index, op.meta.term);
      return;
    case 'snapshotCreate': {
      const term = projected.createSnapshot(op.meta.index);
      if (term === undefined) throw new StorageError('INVALID_ARGUMENT', 'snapshot is older than the current one');
      op.meta = { ...op.meta, term };
      return;
    }
    case 'compact':
      projected.compact(op.index);
      return;
    case 'bootstrap':
      projected.bootstrap(0, 0);
      return;
    case 'delete':
      projected.delete();
      return;
  }
}

/** Appends the WAL record of `op` (snapshot ops need the data file written first: `refs`). */
export function encodeOp(encoder: BatchEncoder, op: Op, refs: ReadonlyMap<Op, SnapshotRef>): void {
  switch (op.kind) {
    case 'entries':
      encoder.entries(op.group, op.entries, []);
      return;
    case 'hardState':
      encoder.hardState(op.group, op.hardState);
      return;
    case 'snapshotInstall':
      encoder.snapshot(RecordType.snapshotInstall, op.group, refs.get(op)!);
      return;
    case 'snapshotCreate':
      encoder.snapshot(RecordType.snapshotCreate, op.group, refs.get(op)!);
      return;
    case 'compact':
      encoder.compact(op.group, op.index);
      return;
    case 'bootstrap': {
      const base: GroupBase = {
        hardState: EMPTY_HARD_STATE,
        snapshot: { meta: { index: 0, term: 0, confState: op.confState }, file: '', size: 0, crc: 0 },
        offset: 0,
        offsetTerm: 0,
      };
      encoder.groupReset(op.group, base);
      return;
    }
    case 'delete':
      encoder.groupDelete(op.group);
      return;
    case 'meta':
      encoder.meta(op.key, op.value);
      return;
  }
}

export function copyConfState(c: ConfState): ConfState {
  return {
    voters: [...c.voters],
    votersOutgoing: [...c.votersOutgoing],
    learners: [...c.learners],
    learnersNext: [...c.learnersNext],
    autoLeave: c.autoLeave,
  };
}

export function copyMeta(meta: SnapshotMeta): SnapshotMeta {
  return { index: meta.index, term: meta.term, confState: copyConfState(meta.confState) };
}
