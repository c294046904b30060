import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { Packr } from 'msgpackr';
import type { KvStoreOptions } from '../../src/kv/options.js';
import { KvStore } from '../../src/kv/store.js';
import type { ApplyResult, KvCommand } from '../../src/kv/types.js';

const dirs: string[] = [];

/** A fresh temporary directory, removed when the test file finishes. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-kv-'));
  dirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

export function openStore(options: Partial<KvStoreOptions> = {}): Promise<KvStore> {
  return KvStore.open({ path: options.path ?? tempDir(), ...options });
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (value: Uint8Array): string => new TextDecoder().decode(value);

// Commands are packed without validation so tests can hand the state machine commands a proposer would refuse.
const packr = new Packr({ useRecords: false });

/** Applies commands as consecutive log entries, one batch; returns their results. */
export function apply(store: KvStore, ...commands: (KvCommand | Uint8Array | null)[]): ApplyResult[] {
  let index = store.appliedIndex;
  return store.applyBatch(
    commands.map((c) => ({
      index: ++index,
      data: c === null || c instanceof Uint8Array ? c : (packr.pack(c) as Uint8Array),
    })),
  );
}

/** Applies one command and returns its result. */
export function apply1(store: KvStore, command: KvCommand | Uint8Array | null): ApplyResult {
  return apply(store, command)[0]!;
}

export const put = (key: string, value: string, extra: Partial<KvCommand & { type: 'put' }> = {}): KvCommand => ({
  type: 'put',
  key,
  value: bytes(value),
  ...extra,
});

export const del = (key: string, extra: Record<string, unknown> = {}): KvCommand => ({ type: 'delete', key, ...extra });

/** Waits for pending microtasks and I/O callbacks (watch deliveries) to run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
