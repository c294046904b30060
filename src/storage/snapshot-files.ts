import { readFileSync, statSync } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { GroupId } from '../consensus/types.js';
import { StorageError } from './errors.js';
import { fsyncDirectory } from './fs-util.js';
import type { SnapshotRef } from './wal-records.js';

const SUFFIX = '.snap';

/**
 * Snapshot data lives in its own files (it can be large and must not be rewritten with the log). A file is
 * written under a temporary name, synced, then renamed; the WAL record that points at it is committed only
 * after that, so a durable record never points at a missing or partial file. Files no record points at (left by
 * a crash, or replaced by a newer snapshot) are deleted.
 */
export class SnapshotFiles {
  constructor(readonly dir: string) {}

  /** A name no other snapshot file of this store has: the commit's sequence number makes it unique. */
  static fileName(group: GroupId, index: number, batchSeq: number, n: number): string {
    return `${group}-${index}-${batchSeq}-${n}${SUFFIX}`;
  }

  /** Writes and syncs the data; the caller syncs the directory once for all files of a commit. */
  async write(name: string, data: Uint8Array): Promise<number> {
    const tmp = join(this.dir, `${name}.tmp`);
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, name));
    return crc32(data);
  }

  async syncDirectory(): Promise<void> {
    await fsyncDirectory(this.dir);
  }

  /** Reads and verifies a snapshot's data (synchronous: LogStorage.snapshot() is). */
  read(ref: SnapshotRef): Uint8Array {
    if (ref.size === 0) return new Uint8Array(0);
    let data: Buffer;
    try {
      data = readFileSync(join(this.dir, ref.file));
    } catch (error) {
      throw new StorageError('CORRUPTED', `snapshot file ${ref.file} is unreadable: ${String(error)}`, {
        cause: error,
      });
    }
    if (data.length !== ref.size || crc32(data) !== ref.crc) {
      throw new StorageError('CORRUPTED', `snapshot file ${ref.file} failed its size or checksum check`);
    }
    return data;
  }

  /** Checks at startup that a snapshot the log points at exists with the recorded size. */
  check(ref: SnapshotRef): void {
    if (ref.size === 0) return;
    let size: number;
    try {
      size = statSync(join(this.dir, ref.file)).size;
    } catch (error) {
      throw new StorageError('CORRUPTED', `snapshot file ${ref.file} is missing`, { cause: error });
    }
    if (size !== ref.size) {
      throw new StorageError('CORRUPTED', `snapshot file ${ref.file} has ${size} bytes, expected ${ref.size}`);
    }
  }

  async remove(name: string): Promise<void> {
    if (name === '') return;
    await unlink(join(this.dir, name)).catch(() => undefined);
  }

  /** Deletes every file in the directory that `keep` does not name (orphans and temporary files). */
  async removeAllExcept(keep: ReadonlySet<string>): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (!keep.has(name)) await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }
}
