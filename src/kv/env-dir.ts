import fs from 'node:fs';
import path from 'node:path';
import { KvError } from './errors.js';

/**
 * The store's directory holds lmdb environments `env-<n>/` and a file CURRENT naming the live one. A snapshot
 * restore builds a fresh environment next to the live one and switches CURRENT with an atomic rename, so a
 * crash at any point leaves either the old or the new state, never a mix. Environments other than the current
 * one are leftovers (an interrupted restore, or the old state after a switch) and are removed on open.
 */
const CURRENT = 'CURRENT';
const ENV_NAME = /^env-(\d+)$/;

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Returns the current environment's name, creating the directory and a first environment if needed. */
export function prepareDataDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const currentFile = path.join(dir, CURRENT);
  let current: string;
  if (fs.existsSync(currentFile)) {
    current = fs.readFileSync(currentFile, 'utf8').trim();
    if (!ENV_NAME.test(current) || !fs.existsSync(path.join(dir, current))) {
      throw new KvError('STORAGE_CORRUPT', `${currentFile} names a missing environment "${current}"`);
    }
  } else {
    current = 'env-1';
    fs.mkdirSync(path.join(dir, current), { recursive: true });
    setCurrentEnv(dir, current);
  }
  for (const entry of fs.readdirSync(dir)) {
    if (entry !== current && (ENV_NAME.test(entry) || entry === `${CURRENT}.tmp`)) {
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
  }
  return current;
}

/** A name for a new environment, after every existing one. */
export function nextEnvName(dir: string): string {
  let max = 0;
  for (const entry of fs.readdirSync(dir)) {
    const match = ENV_NAME.exec(entry);
    if (match) max = Math.max(max, Number(match[1]));
  }
  return `env-${max + 1}`;
}

/** Atomically (and durably) makes `name` the current environment. */
export function setCurrentEnv(dir: string, name: string): void {
  const tmp = path.join(dir, `${CURRENT}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, `${name}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, CURRENT));
  fsyncDir(dir);
}

export function removeEnv(dir: string, name: string): void {
  fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}
