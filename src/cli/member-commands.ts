import type { Command } from 'commander';
import { Client } from '../client/client.js';
import { CairnError } from '../client/errors.js';
import { parseEndpoints } from './endpoints.js';

function client(cmd: Command): Client {
  const g = cmd.optsWithGlobals<{ endpoints?: string; timeoutMs?: string }>();
  return new Client({
    endpoints: parseEndpoints(g.endpoints ?? process.env.CAIRN_ENDPOINTS),
    timeoutMs: Number(g.timeoutMs ?? 10000),
  });
}

async function guarded(c: Client, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    console.error(error instanceof CairnError ? `error: ${error.code}: ${error.message}` : `error: ${String(error)}`);
    process.exitCode = 1;
  } finally {
    await c.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `cairn member add|promote|remove|list`. `add` adds the node as a learner, shows its catch-up progress, and
 * promotes it to voter once it holds 90 % of the leader's log (unless --learner).
 */
export function registerMemberCommands(program: Command): void {
  const member = program.command('member').description('cluster membership');

  member
    .command('add <name>')
    .description('add a member: it joins as a learner, catches up, then is promoted to voter')
    .requiredOption('--peer <host:port>', 'its peer address (what it passes as --peer-listen)')
    .option('--http <host:port>', 'its API address')
    .option('--learner', 'stay a learner (do not promote)')
    .option('--wait-ms <ms>', 'how long to wait for it to catch up', '120000')
    .action(
      async (name: string, o: { peer: string; http?: string; learner?: boolean; waitMs: string }, cmd: Command) => {
        const c = client(cmd);
        await guarded(c, async () => {
          await c.addMember(name, o.peer, o.http);
          console.log(
            `${name} added as a learner. Start it with --initial-cluster-state existing and the full --initial-cluster.`,
          );
          if (o.learner) return;
          const deadline = Date.now() + Number(o.waitMs);
          let lastShown = '';
          for (;;) {
            try {
              const r = await c.promoteMember(name);
              console.log(`${name} promoted to voter (voters: ${r.voters.join(', ')})`);
              return;
            } catch (error) {
              if (!(error instanceof CairnError) || error.code !== 'LEARNER_NOT_READY') throw error;
              const { match, lastIndex } = error.details as { match: number; lastIndex: number };
              const line = `catching up: ${match}/${lastIndex} entries (${lastIndex ? Math.floor((100 * match) / lastIndex) : 0}%)`;
              if (line !== lastShown) {
                process.stderr.write(`\r${line}`);
                lastShown = line;
              }
            }
            if (Date.now() > deadline)
              throw new CairnError('TIMEOUT', 0, `${name} did not catch up in time; it stays a learner`);
            await sleep(500);
          }
        });
      },
    );

  member
    .command('promote <name>')
    .description('promote a caught-up learner to voter')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const c = client(cmd);
      await guarded(c, async () => {
        const r = await c.promoteMember(name);
        console.log(`${name} promoted (voters: ${r.voters.join(', ')})`);
      });
    });

  member
    .command('remove <name>')
    .description('remove a member (voter or learner)')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const c = client(cmd);
      await guarded(c, async () => {
        const r = await c.removeMember(name);
        console.log(`${name} removed (voters: ${r.voters.join(', ')}; learners: ${r.learners.join(', ') || 'none'})`);
      });
    });

  member
    .command('list')
    .description('list members')
    .action(async (_o: unknown, cmd: Command) => {
      const c = client(cmd);
      await guarded(c, async () => {
        const s = await c.status();
        for (const m of s.members) console.log(`${m.name}\t${m.role}\tpeer=${m.peer}\thttp=${m.http ?? '-'}`);
      });
    });
}
