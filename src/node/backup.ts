import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { EMPTY_CONF_STATE } from '../consensus/log-storage.js';
import { KvStore } from '../kv/store.js';
import { LogStore } from '../storage/log-store.js';
import { ConfigError, deriveClusterId, type MemberAddress } from './config.js';
import { MemberRegistry } from './member-registry.js';

/**
 * Backup files: `CAIRNBK1`, then length-prefixed records — a JSON header, then the state machine's snapshot
 * chunks exactly as nodes stream them to each other (each chunk carries its own checksums).
 */
export const BACKUP_MAGIC = Buffer.from('CAIRNBK1');
/** Largest record accepted when reading a backup (a chunk is 1 MiB by default). */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface BackupHeader {
  readonly format: 'cairn-backup/1';
  readonly node: string;
  readonly clusterId: string;
  readonly appliedIndex: number;
  readonly revision: number;
  readonly createdAt: string;
}

export class BackupError extends Error {
  readonly code = 'INVALID_BACKUP';
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export function frameRecord(data: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.byteLength);
  return Buffer.concat([head, data]);
}

/** Reads the records of a backup file one by one, bounded in memory. */
async function* readRecords(file: string): AsyncGenerator<Buffer> {
  let buffer = Buffer.alloc(0);
  let sawMagic = false;
  for await (const chunk of createReadStream(file)) {
    buffer = Buffer.concat([buffer, chunk as Buffer]);
    if (!sawMagic) {
      if (buffer.length < BACKUP_MAGIC.length) continue;
      if (!buffer.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC))
        throw new BackupError(`${file} is not a Cairn backup`);
      buffer = buffer.subarray(BACKUP_MAGIC.length);
      sawMagic = true;
    }
    while (buffer.length >= 4) {
      const len = buffer.readUInt32BE(0);
      if (len > MAX_RECORD_BYTES) throw new BackupError(`record of ${len} bytes: the file is corrupted`);
      if (buffer.length < 4 + len) break;
      yield buffer.subarray(4, 4 + len);
      buffer = buffer.subarray(4 + len);
    }
  }
  if (!sawMagic || buffer.length > 0) throw new BackupError(`${file} is truncated`);
}

export interface RestoreOptions {
  readonly file: string;
  readonly dataDir: string;
  readonly name: string;
  /** The members of the new cluster; each runs the same restore with the same file. */
  readonly initialCluster: readonly MemberAddress[];
  /** The new cluster's consensus engine. Default raft. */
  readonly consensus?: 'raft' | 'paxos';
}

/**
 * Seeds a new member's data directory from a backup: the state machine from the backup's chunks, and a log that
 * starts with a snapshot at the backup's index with the new cluster's voters. Every founding member restores the
 * same file, so they start identical; then `cairn start` runs as for a new cluster.
 */
export async function restoreBackup(
  o: RestoreOptions,
): Promise<{ appliedIndex: number; revision: number; clusterId: string }> {
  if (!o.initialCluster.some((m) => m.name === o.name))
    throw new ConfigError(`--initial-cluster must include ${o.name}`);
  await mkdir(o.dataDir, { recursive: true });
  const logStore = await LogStore.open({ dir: join(o.dataDir, 'raft') });
  const kv = await KvStore.open({ path: join(o.dataDir, 'kv') });
  try {
    if (logStore.hasGroup(0) || kv.appliedIndex > 0) {
      throw new ConfigError(`${o.dataDir} already holds data: restore into an empty directory`);
    }
    const records = readRecords(o.file);
    const first = await records.next();
    if (first.done) throw new BackupError('the backup is empty');
    let header: BackupHeader;
    try {
      header = JSON.parse(first.value.toString('utf8')) as BackupHeader;
    } catch {
      throw new BackupError('the backup header is not readable');
    }
    if (header.format !== 'cairn-backup/1') throw new BackupError(`unknown backup format ${String(header.format)}`);
    const writer = kv.createSnapshotWriter();
    try {
      for await (const chunk of records) writer.write(chunk);
      await writer.finish();
    } catch (error) {
      await writer.abort().catch(() => {});
      throw error instanceof BackupError ? error : new BackupError(`the backup's data is damaged: ${String(error)}`);
    }
    if (kv.appliedIndex !== header.appliedIndex) {
      throw new BackupError(`restored state is at ${kv.appliedIndex}, the header says ${header.appliedIndex}`);
    }
    await kv.flush();
    const voters = o.initialCluster.map((m) => m.name).sort();
    const confState = { ...EMPTY_CONF_STATE, voters };
    const packr = new Packr({ useRecords: false });
    const registry = MemberRegistry.fromFounders(o.initialCluster);
    const consensus = o.consensus ?? 'raft';
    const clusterId = deriveClusterId(o.initialCluster, consensus);
    await Promise.all([
      logStore.bootstrap(0, EMPTY_CONF_STATE),
      logStore.persist([
        {
          group: 0,
          snapshot: {
            meta: { index: header.appliedIndex, term: 1, confState },
            data: packr.pack({ members: registry.toJSON() }),
          },
          hardState: { term: 1, vote: null, commit: header.appliedIndex },
        },
      ]),
      logStore.setMeta('members', packr.pack(registry.toJSON())),
      logStore.setMeta('node', packr.pack({ name: o.name, clusterId, consensus })),
    ]);
    return { appliedIndex: header.appliedIndex, revision: header.revision, clusterId };
  } finally {
    await kv.close().catch(() => {});
    await logStore.close().catch(() => {});
  }
}
