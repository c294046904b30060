import { close, fdatasync, fsync, ftruncateSync, open, write, writeSync } from 'node:fs';
import { StorageError } from './errors.js';

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export function fsyncDirectory(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (openError, fd) => {
      if (openError) return reject(openError);
      fsync(fd, (syncError) => {
        close(fd, () => (syncError ? reject(syncError) : resolve()));
      });
    });
  });
}

/**
 * Below this size a write is made on the calling thread: it only copies into the page cache (the fdatasync that
 * follows is what waits for the disk), and a trip through libuv's thread pool costs more than the copy.
 */
export const SYNC_WRITE_MAX_BYTES = 1024 * 1024;

/** Writes all of `data` at `position` (looping over short writes). */
export function writeFully(fd: number, data: Uint8Array, position: number): Promise<void> {
  if (data.length > SYNC_WRITE_MAX_BYTES) return writeFullyAsync(fd, data, position);
  try {
    writeFullySync(fd, data, position);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Writes all of `data` at `position` on the calling thread (for data up to SYNC_WRITE_MAX_BYTES). */
export function writeFullySync(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) {
    done += writeSync(fd, data, done, data.length - done, position + done);
  }
}

function writeFullyAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === data.length) {
        resolve();
        return;
      }
      write(fd, data, done, data.length - done, position + done, (error, written) => {
        if (error) reject(error);
        else step(done + written);
      });
    };
    step(0);
  });
}

/** Shared source of zeros for zeroFillSync (never written to). */
let zeros: Uint8Array | undefined;
const ZEROS_BYTES = 1024 * 1024;

/** Writes zeros over [from, to) on the calling thread (into the page cache; the caller syncs). */
export function zeroFillSync(fd: number, from: number, to: number): void {
  zeros ??= new Uint8Array(ZEROS_BYTES);
  for (let at = from; at < to; ) {
    const n = Math.min(ZEROS_BYTES, to - at);
    writeFullySync(fd, zeros.subarray(0, n), at);
    at += n;
  }
}

/** Cuts the file to `size` bytes and syncs the new size. */
export async function truncateDurably(fd: number, size: number): Promise<void> {
  ftruncateSync(fd, size);
  await datasync(fd);
}

export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Maps a failed write or sync to the store's error: the disk being full gets its own code. */
export function ioError(error: unknown, what: string): StorageError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageError('NO_SPACE', `${what}: the disk is full`, { cause: error });
  }
  return new StorageError('IO_ERROR', `${what}: ${String(error)}`, { cause: error });
}
