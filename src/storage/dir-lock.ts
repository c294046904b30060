import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StorageError } from './errors.js';

/** Directories locked by this process (a second open in the same process is refused too). */
const heldHere = new Set<string>();

/**
 * One store per directory: a `LOCK` file holding the owner's pid. A lock left by a process that no longer runs
 * (killed with SIGKILL) is taken over; a lock held by a live process is refused with LOCKED.
 */
export class DirLock {
  private constructor(
    private readonly path: string,
    private readonly key: string,
  ) {}

  static acquire(dir: string): DirLock {
    const key = resolve(dir);
    const path = join(dir, 'LOCK');
    if (heldHere.has(key)) throw new StorageError('LOCKED', `${dir} is already open in this process`);
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new StorageError('LOCKED', `${dir} is in use by process ${owner}`);
      }
      writeFileSync(path, String(process.pid));
    }
    heldHere.add(key);
    return new DirLock(path, key);
  }

  release(): void {
    heldHere.delete(this.key);
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
