import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Client } from '../client/client.js';
import { CairnError } from '../client/errors.js';
import { parseEndpoints } from './endpoints.js';

interface GlobalOptions {
  endpoints?: string;
  timeoutMs?: string;
  json?: boolean;
}

function clientFrom(cmd: Command): { client: Client; json: boolean } {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const endpoints = parseEndpoints(g.endpoints ?? process.env.CAIRN_ENDPOINTS);
  const timeoutMs = g.timeoutMs ? Number(g.timeoutMs) : 10_000;
  return { client: new Client({ endpoints, timeoutMs }), json: g.json ?? false };
}

/** Runs a client command: prints CairnError readably (code and message) and exits non-zero. */
async function run(cmd: Command, action: (client: Client, json: boolean) => Promise<void>): Promise<void> {
  const { client, json } = clientFrom(cmd);
  try {
    await action(client, json);
  } catch (error) {
    if (error instanceof CairnError) {
      if (json)
        console.error(JSON.stringify({ error: { code: error.code, message: error.message, ...error.details } }));
      else console.error(`error: ${error.code}: ${error.message}`);
      process.exitCode = error.code === 'KEY_NOT_FOUND' ? 2 : 1;
    } else {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  } finally {
    await client.close();
  }
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CairnError('INVALID_ARGUMENT', 0, `${name} must be a non-negative integer`);
  return n;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function registerClientCommands(program: Command): void {
  program
    .command('put <key> <value>')
    .description('write a value (use - to read it from stdin)')
    .option('--if-version <n>', 'only if the key has this version (0 = must not exist)')
    .option('--if-mod-revision <n>', 'only if the key was last modified at this revision')
    .option('--lease <id>', 'attach the key to a lease')
    .option('--ack <mode>', 'quorum (default) | all | leader')
    .action(async (key: string, value: string, o: Record<string, string>, cmd: Command) => {
      await run(cmd, async (client, json) => {
        const data = value === '-' ? readFileSync(0) : value;
        const r = await client.put(key, data, {
          ifVersion: int(o.ifVersion, '--if-version'),
          ifModRevision: int(o.ifModRevision, '--if-mod-revision'),
          lease: int(o.lease, '--lease'),
          ...(o.ack ? { ack: o.ack as 'quorum' } : {}),
        });
        console.log(
          json
            ? JSON.stringify(r)
            : `OK revision=${(r as { revision?: number }).revision ?? '?'} version=${(r as { version?: number }).version ?? '?'}`,
        );
      });
    });

  program
    .command('get <key>')
    .description('read a value (prints it raw; --json prints it with its metadata)')
    .option('--consistency <c>', 'linearizable (default) | lease | stale')
    .action(async (key: string, o: Record<string, string>, cmd: Command) => {
      await run(cmd, async (client, json) => {
        const r = await client.get(key, o.consistency ? { consistency: o.consistency as 'lease' } : {});
        if (!r) {
          if (json) console.log(JSON.stringify(null));
          else console.error(`error: KEY_NOT_FOUND: no key ${JSON.stringify(key)}`);
          process.exitCode = 2;
          return;
        }
        if (json) {
          console.log(
            JSON.stringify({
              key,
              value: r.text(),
              version: r.version,
              createRevision: r.createRevision,
              modRevision: r.modRevision,
              lease: r.lease,
              revision: r.revision,
            }),
          );
        } else {
          process.stdout.write(Buffer.from(r.value));
          if (process.stdout.isTTY) process.stdout.write('\n');
        }
      });
    });

  program
    .command('del <key>')
    .description('delete a key')
    .option('--if-version <n>', 'only if the key has this version')
    .option('--if-mod-revision <n>', 'only if the key was last modified at this revision')
    .action(async (key: string, o: Record<string, string>, cmd: Command) => {
      await run(cmd, async (client, json) => {
        const r = await client.del(key, {
          ifVersion: int(o.ifVersion, '--if-version'),
          ifModRevision: int(o.ifModRevision, '--if-mod-revision'),
        });
        console.log(json ? JSON.stringify(r) : `OK deleted=${r.deleted} revision=${r.revision}`);
      });
    });

  program
    .command('scan')
    .description('list keys by prefix or range')
    .option('--prefix <p>', 'keys starting with this')
    .option('--start <key>', 'first key (inclusive)')
    .option('--end <key>', 'last key (exclusive)')
    .option('--limit <n>', 'most keys')
    .option('--keys-only', 'no values')
    .option('--consistency <c>', 'linearizable (default) | lease | stale')
    .action(async (o: Record<string, string | boolean>, cmd: Command) => {
      await run(cmd, async (client, json) => {
        const r = await client.scan({
          ...(o.prefix !== undefined ? { prefix: String(o.prefix) } : {}),
          ...(o.start !== undefined ? { start: String(o.start) } : {}),
          ...(o.end !== undefined ? { end: String(o.end) } : {}),
          ...(o.limit !== undefined ? { limit: int(String(o.limit), '--limit')! } : {}),
          ...(o.keysOnly ? { keysOnly: true } : {}),
          ...(o.consistency ? { consistency: o.consistency as 'stale' } : {}),
        });
        if (json) {
          console.log(
            JSON.stringify({
              ...r,
              kvs: r.kvs.map((kv) => ({ ...kv, value: Buffer.from(kv.value).toString('utf8') })),
            }),
          );
          return;
        }
        for (const kv of r.kvs)
          console.log(o.keysOnly ? kv.key : `${kv.key}\t${Buffer.from(kv.value).toString('utf8')}`);
        if (r.more) console.error(`(more keys: continue with --start ${JSON.stringify(r.nextStart)})`);
      });
    });

  program
    .command('watch')
    .description('stream changes (Ctrl-C to stop); reconnects to another node without missing a change')
    .option('--key <key>', 'one key')
    .option('--prefix <p>', 'keys starting with this')
    .option('--from-revision <r>', 'start at this revision (default: changes from now on)')
    .action(async (o: Record<string, string>, cmd: Command) => {
      const { client, json } = clientFrom(cmd);
      const w = client.watch(
        {
          ...(o.key !== undefined ? { key: o.key } : {}),
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          ...(o.fromRevision !== undefined ? { fromRevision: int(o.fromRevision, '--from-revision')! } : {}),
        },
        (batch) => {
          for (const e of batch.events) {
            const value = Buffer.from(e.value).toString('utf8');
            if (json)
              console.log(
                JSON.stringify({ revision: batch.revision, type: e.type, key: e.key, value, version: e.version }),
              );
            else
              console.log(
                `${batch.revision}\t${e.type.toUpperCase()}\t${e.key}${e.type === 'put' ? `\t${value}` : ''}`,
              );
          }
        },
      );
      process.on('SIGINT', () => w.close());
      const error = await w.done;
      await client.close();
      if (error) {
        console.error(`error: ${error.code}: ${error.message}`);
        process.exitCode = 1;
      }
    });

  program
    .command('txn [file]')
    .description('run a transaction given as JSON (a file, - for stdin, or inline with --body)')
    .option('--body <json>', 'the transaction JSON inline')
    .action(async (file: string | undefined, o: Record<string, string>, cmd: Command) => {
      await run(cmd, async (client) => {
        const text = o.body ?? (file && file !== '-' ? readFileSync(file, 'utf8') : readFileSync(0, 'utf8'));
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new CairnError('INVALID_JSON', 0, 'the transaction is not valid JSON');
        }
        const r = await client.txn(body);
        console.log(JSON.stringify(r, null, 2));
      });
    });

  program
    .command('status')
    .description('members, roles and log positions')
    .action(async (_o: unknown, cmd: Command) => {
      await run(cmd, async (client, json) => {
        const s = await client.status();
        const h = await client.health().catch(() => null);
        if (json) {
          console.log(JSON.stringify({ ...s, health: h?.nodes ?? null }));
          return;
        }
        console.log(
          `cluster: leader ${s.leader ?? '(none)'}, term ${s.term}, commit ${s.commit}, revision ${s.revision} (asked ${s.node})`,
        );
        const health = new Map((h?.nodes ?? []).map((n) => [n.name, n]));
        const num = (v: number | null | undefined, digits = 0) =>
          v === null || v === undefined ? '-' : v.toFixed(digits);
        const header = [
          'NAME',
          'ROLE',
          'STATE',
          'CONDITION',
          'HTTP',
          'MATCH',
          'APPLIED',
          'CPU%',
          'LAG99',
          'FSYNC99',
          'DISK%',
        ];
        const rows = s.members.map((m) => {
          const n = health.get(m.name);
          const v = n?.metrics ?? null;
          const condition = n
            ? n.reasons.length
              ? `${n.condition}(${n.reasons.map((r) => r.code).join(',')})`
              : n.condition
            : '-';
          return [
            m.name,
            m.role,
            n?.state ?? '-',
            condition,
            m.http ?? '-',
            m.match === null ? '-' : String(m.match),
            m.applied === null ? '-' : String(m.applied),
            num(v?.cpuProcessPercent),
            num(v?.eventLoopLagP99Ms, 1),
            num(v?.fsyncP99Ms, 1),
            num(v?.diskUsedPercent),
          ];
        });
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const row of [header, ...rows]) console.log(row.map((c, i) => pad(c, widths[i]!)).join('  '));
      });
    });

  program
    .command('events')
    .description("what the cluster did by itself and why (every member's events, by time)")
    .option('--local', 'only the events of the node asked')
    .action(async (o: { local?: boolean }, cmd: Command) => {
      await run(cmd, async (client, json) => {
        const r = await client.events({ cluster: !o.local });
        if (json) {
          console.log(JSON.stringify(r));
          return;
        }
        for (const e of r.events) {
          console.log(`${e.at}  ${e.node}  ${e.action}${e.target ? ` ${e.target}` : ''}  [${e.outcome}]  ${e.reason}`);
        }
        if (r.unreachable?.length) console.error(`(no answer from ${r.unreachable.join(', ')})`);
      });
    });

  const lease = program.command('lease').description('leases: keys attached to a lease die with it');
  lease.command('grant <ttlSeconds>').action(async (ttl: string, _o: unknown, cmd: Command) => {
    await run(cmd, async (client) => {
      console.log(JSON.stringify(await client.grantLease(int(ttl, 'ttlSeconds')!)));
    });
  });
  lease.command('keepalive <id>').action(async (id: string, _o: unknown, cmd: Command) => {
    await run(cmd, async (client) => {
      console.log(JSON.stringify(await client.keepAlive(int(id, 'id')!)));
    });
  });
  lease.command('revoke <id>').action(async (id: string, _o: unknown, cmd: Command) => {
    await run(cmd, async (client) => {
      console.log(JSON.stringify(await client.revokeLease(int(id, 'id')!)));
    });
  });
}
