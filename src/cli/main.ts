#!/usr/bin/env -S node --max-semi-space-size=64 --min-semi-space-size=16
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerDevCommand } from './dev-command.js';
import { registerGatewayCommand } from './gateway-command.js';
import { registerMemberCommands } from './member-commands.js';
import { registerSnapshotCommands } from './snapshot-commands.js';
import { registerStartCommand } from './start-command.js';

const program = new Command()
  .name('cairn')
  .description('Cairn: a self-managing distributed key-value store')
  .option('--endpoints <list>', 'node API addresses, comma-separated (or CAIRN_ENDPOINTS; default: the dev cluster)')
  .option('--timeout-ms <ms>', 'per-request timeout', '10000')
  .option('--json', 'machine-readable output')
  .showHelpAfterError();

registerStartCommand(program);
registerDevCommand(program);
registerClientCommands(program);
registerMemberCommands(program);
registerSnapshotCommands(program);
registerGatewayCommand(program);

program.parseAsync().catch((error: unknown) => {
  console.error(`cairn: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
