import { open, type RootDatabase } from 'lmdb';
import type { Entry, GroupId, HardState } from '../src/consensus/types.js';

/**
 * The benchmark's LMDB contender: the smallest log store on lmdb-js that gives the same durability promise as
 * the WAL (not a product; it has no snapshots, compaction or validation).
 *
 * lmdb-js batches every write issued in one event turn into one transaction. What its promises mean:
 * - `overlappingSync: false`: the put/commit promise resolves after the transaction is committed AND synced
 *   (LMDB's own fsync of data and meta pages), so awaiting it means durable.
 * - `overlappingSync: true` (the default on Linux): the promise resolves once the transaction is committed and
 *   visible, before it is synced; `db.flushed` resolves once it is on disk. Awaiting only the put is NOT durable.
 * - `noSync: true`: never synced; not durable at all (not measured).
 */
export class LmdbLogPrototype {
  private constructor(
    private readonly db: RootDatabase,
    private readonly overlappingSync: boolean,
  ) {}

  static open(path: string, overlappingSync: boolean): LmdbLogPrototype {
    const db = open({ path, overlappingSync, encoding: 'binary', keyEncoding: 'ordered-binary' });
    return new LmdbLogPrototype(db, overlappingSync);
  }

  /** Writes all groups' entries and hard states in one transaction; resolves once durable. */
  async persist(
    writes: readonly { group: GroupId; entries: readonly Entry[]; hardState?: HardState }[],
  ): Promise<void> {
    let last: Promise<boolean> | undefined;
    for (const w of writes) {
      for (const e of w.entries) {
        const value = Buffer.allocUnsafe(9 + e.data.length);
        value.writeDoubleLE(e.term, 0);
        value[8] = e.type === 'normal' ? 0 : 1;
        value.set(e.data, 9);
        last = this.db.put([w.group, e.index], value);
      }
      if (w.hardState !== undefined) last = this.db.put(['hs', w.group], Buffer.from(JSON.stringify(w.hardState)));
    }
    await last;
    if (this.overlappingSync) await this.db.flushed;
  }

  term(group: GroupId, index: number): number {
    const value = this.db.get([group, index]) as Buffer | undefined;
    if (value === undefined) throw new Error(`no entry ${index}`);
    return value.readDoubleLE(0);
  }

  entries(group: GroupId, lo: number, hi: number): Entry[] {
    const out: Entry[] = [];
    for (const { key, value } of this.db.getRange({ start: [group, lo], end: [group, hi] })) {
      const v = value as Buffer;
      const index = (key as [number, number])[1];
      out.push({ index, term: v.readDoubleLE(0), type: v[8] === 0 ? 'normal' : 'confChange', data: v.subarray(9) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
