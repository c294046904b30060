import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { request } from 'undici';
import { CairnError } from '../client/errors.js';
import { restoreBackup } from '../node/backup.js';
import { parseInitialCluster } from '../node/config.js';
import { parseEndpoints } from './endpoints.js';

/** `cairn snapshot save|restore`: back up a cluster's data to a file, and seed a new cluster from one. */
export function registerSnapshotCommands(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('backups: save the data to a file, restore a new cluster from it');

  snapshot
    .command('save <file>')
    .description('save a consistent backup of the data (from the first endpoint that answers)')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ endpoints?: string }>();
      const endpoints = parseEndpoints(g.endpoints ?? process.env.CAIRN_ENDPOINTS);
      const partial = `${file}.partial`;
      for (const endpoint of endpoints) {
        try {
          const r = await request(`${endpoint}/v1/maintenance/snapshot`, { bodyTimeout: 0, headersTimeout: 30_000 });
          if (r.statusCode !== 200) {
            const error = CairnError.fromResponse(r.statusCode, Buffer.from(await r.body.arrayBuffer()));
            console.error(`${endpoint}: ${error.code}: ${error.message}`);
            continue;
          }
          let bytes = 0;
          r.body.on('data', (c: Buffer) => {
            bytes += c.length;
            if (process.stderr.isTTY) process.stderr.write(`\rsaving: ${(bytes / 1048576).toFixed(1)} MiB`);
          });
          await pipeline(r.body, createWriteStream(partial));
          await rename(partial, file);
          if (process.stderr.isTTY) process.stderr.write('\n');
          console.log(
            `saved ${file}: ${bytes} bytes, applied index ${r.headers['cairn-applied-index']}, revision ${r.headers['cairn-revision']}`,
          );
          return;
        } catch (error) {
          await rm(partial, { force: true });
          console.error(`${endpoint}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      process.exitCode = 1;
    });

  snapshot
    .command('restore <file>')
    .description("seed a new member's data directory from a backup (run it for every founding member, then start them)")
    .requiredOption('--name <name>', 'the member this directory is for')
    .requiredOption('--data-dir <dir>', 'an empty data directory')
    .requiredOption('--initial-cluster <list>', "the new cluster's members: n1=host:port,...")
    .option('--consensus <engine>', "the new cluster's engine: raft (default) or paxos", 'raft')
    .action(async (file: string, o: { name: string; dataDir: string; initialCluster: string; consensus: string }) => {
      try {
        const r = await restoreBackup({
          file,
          dataDir: o.dataDir,
          name: o.name,
          initialCluster: parseInitialCluster(o.initialCluster),
          consensus: o.consensus === 'paxos' ? 'paxos' : 'raft',
        });
        console.log(
          `restored ${o.dataDir} at index ${r.appliedIndex} (revision ${r.revision}); cluster id ${r.clusterId}. ` +
            'Start it with `cairn start` and the same --initial-cluster.',
        );
      } catch (error) {
        console.error(`cairn snapshot restore: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });
}
