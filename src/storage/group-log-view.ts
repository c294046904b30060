import { LogCompactedError, LogUnavailableError } from '../consensus/errors.js';
import type { LogStorage } from '../consensus/log-storage.js';
import type { ConfState, Entry, GroupId, HardState, Snapshot, SnapshotMeta } from '../consensus/types.js';
import type { GroupState } from './group-state.js';

/** What a view needs from its store: the group's current durable state and a way to read entries from disk. */
export interface GroupStateSource {
  /** The group's state; throws GROUP_NOT_FOUND (deleted or never created) or CLOSED. */
  groupState(group: GroupId): GroupState;
  readEntries(state: GroupState, lo: number, hi: number, maxBytes: number): Entry[];
  readSnapshot(state: GroupState): Snapshot;
}

/**
 * One group's LogStorage: the engine's synchronous, read-only window on what is durable. It shows a write only
 * once the commit holding it is durable (at the moment that commit's persist() promises resolve), never earlier.
 *
 * term(), firstIndex(), lastIndex() and initialState() are answered from memory. entries() hands out recently
 * written entries from memory and reads older ones from the log files (verifying their checksums). snapshot()
 * reads the snapshot's data file; snapshotMeta() is the cheap way to learn its index and term.
 */
export class GroupLogView implements LogStorage {
  constructor(
    private readonly source: GroupStateSource,
    readonly group: GroupId,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    const state = this.source.groupState(this.group);
    return { hardState: state.hardState, confState: state.snapshot.meta.confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const state = this.source.groupState(this.group);
    if (lo < state.firstIndex) throw new LogCompactedError(lo);
    if (hi > state.lastIndex + 1) throw new LogUnavailableError(hi - 1);
    return this.source.readEntries(state, lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.source.groupState(this.group).term(index);
  }

  firstIndex(): number {
    return this.source.groupState(this.group).firstIndex;
  }

  lastIndex(): number {
    return this.source.groupState(this.group).lastIndex;
  }

  snapshot(): Snapshot {
    return this.source.readSnapshot(this.source.groupState(this.group));
  }

  /** The latest snapshot's index, term and configuration, without reading its data. */
  snapshotMeta(): SnapshotMeta {
    return this.source.groupState(this.group).snapshot.meta;
  }
}
