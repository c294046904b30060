import { encodeCommand } from '../../src/kv/command-codec.js';
import type { ApplyItem, KvCommand } from '../../src/kv/types.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const put = (key: string, value: string, extra: object = {}): KvCommand => ({
  type: 'put',
  key,
  value: bytes(value),
  ...extra,
});
const del = (key: string): KvCommand => ({ type: 'delete', key });

/** A deterministic workload touching every command kind, as log entries 1..n (no test-runner imports: a child process uses it). */
export function workload(n: number): ApplyItem[] {
  const commands: KvCommand[] = [{ type: 'leaseGrant', id: 1, ttlSeconds: 60 }];
  for (let i = 0; commands.length < n; i++) {
    const key = `key/${i % 17}`;
    switch (i % 7) {
      case 0:
      case 1:
        commands.push(put(key, `value-${i}`));
        break;
      case 2:
        commands.push(put(`${'L'.repeat(4050)}${i % 5}`, `long-${i}`, { lease: 1 }));
        break;
      case 3:
        commands.push(del(key));
        break;
      case 4:
        commands.push({
          type: 'txn',
          compare: [{ key, target: 'version', op: '>', value: 0 }],
          success: [put(`${key}/a`, 's') as never, put(`${key}/b`, 's') as never],
          failure: [{ type: 'delete', key: `${key}/a` }],
        });
        break;
      case 5:
        commands.push({ type: 'deleteRange', prefix: `key/${i % 3}` });
        break;
      case 6:
        commands.push(put(key, `v${i}`, { ifVersion: i % 3 }));
        break;
    }
  }
  return commands.map((c, i) => ({ index: i + 1, data: encodeCommand(c) }));
}
