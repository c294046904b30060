import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { NODE_RUNTIME_FLAGS } from '../node/runtime-flags.js';

interface DevOptions {
  nodes: string;
  dataDir: string;
  host: string;
  peerPort: string;
  httpPort: string;
  logLevel: string;
  consensus: string;
}

/**
 * `cairn dev`: a local cluster of node processes (3 by default), data under ./data, each node's output prefixed
 * with its name. Ctrl-C stops every node cleanly; starting again keeps the data.
 */
export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run a local cluster of node processes (what `npm start` runs)')
    .option('--nodes <n>', 'how many nodes', '3')
    .option('--data-dir <dir>', "parent directory of the nodes' data", 'data')
    .option('--host <host>', 'address every node listens on', '127.0.0.1')
    .option('--peer-port <port>', 'peer port of the first node (the others follow)', '7101')
    .option('--http-port <port>', 'HTTP port of the first node (the others follow)', '7201')
    .option('--log-level <level>', 'node log level', 'warn')
    .option('--consensus <engine>', 'raft or paxos', 'raft')
    .action((o: DevOptions) => {
      const n = Number(o.nodes);
      const peerBase = Number(o.peerPort);
      const httpBase = Number(o.httpPort);
      if (!Number.isSafeInteger(n) || n < 1 || n > 9) {
        console.error('cairn dev: --nodes must be between 1 and 9');
        process.exit(64);
      }
      const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
      const initialCluster = names.map((name, i) => `${name}=${o.host}:${peerBase + i}`).join(',');
      const main = fileURLToPath(new URL('./main.js', import.meta.url));
      const children: ChildProcess[] = [];
      let stopping = false;
      names.forEach((name, i) => {
        const child = spawn(
          process.execPath,
          [
            ...NODE_RUNTIME_FLAGS,
            main,
            'start',
            '--name',
            name,
            '--data-dir',
            `${o.dataDir}/${name}`,
            '--peer-listen',
            `${o.host}:${peerBase + i}`,
            '--http-listen',
            `${o.host}:${httpBase + i}`,
            '--initial-cluster',
            initialCluster,
            '--log-level',
            o.logLevel,
            '--consensus',
            o.consensus,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const prefix = (line: string) => `[${name}] ${line}`;
        for (const stream of [child.stdout, child.stderr]) {
          let rest = '';
          stream?.on('data', (chunk: Buffer) => {
            const lines = (rest + chunk.toString('utf8')).split('\n');
            rest = lines.pop() ?? '';
            for (const line of lines) if (line.trim()) process.stderr.write(`${prefix(line)}\n`);
          });
        }
        child.on('exit', (code, signal) => {
          if (!stopping) console.error(prefix(`exited (${signal ?? code}); stopping the cluster`));
          shutdown();
        });
        children.push(child);
      });
      const endpoints = names.map((_, i) => `http://${o.host}:${httpBase + i}`).join(',');
      console.log(`Cairn dev cluster: ${n} node(s), data under ${o.dataDir}/`);
      names.forEach((name, i) => {
        console.log(`  ${name}  http://${o.host}:${httpBase + i}  (peer ${o.host}:${peerBase + i})`);
      });
      console.log(`Point a client at: CAIRN_ENDPOINTS=${endpoints}`);
      console.log('  npx cairn put foo bar && npx cairn get foo      (Ctrl-C stops the cluster)');
      function shutdown(): void {
        if (stopping) return;
        stopping = true;
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
        const deadline = setTimeout(() => {
          for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
        }, 10_000);
        deadline.unref();
        let left = children.filter((c) => c.exitCode === null).length;
        if (left === 0) process.exit(0);
        for (const c of children) {
          c.once('exit', () => {
            left--;
            if (left <= 0) process.exit(0);
          });
        }
      }
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
}
