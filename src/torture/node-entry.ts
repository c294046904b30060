#!/usr/bin/env node
import { Command } from 'commander';
import { registerStartCommand } from '../cli/start-command.js';

/**
 * `cairn start`, exactly (the same command registration and code), under another script name: the harness runs
 * its nodes with `node dist/src/torture/node-entry.js <start flags>`. On a shared machine, other people's clean-up
 * of their own clusters by process name (`pkill -f "main.js start"`) then does not kill the harness's nodes in
 * the middle of a run, which it otherwise reports as interference (docs/testing.md).
 */
const program = new Command().name('cairn-torture-node');
registerStartCommand(program);
program.parseAsync(['node', 'cairn', 'start', ...process.argv.slice(2)]).catch((error: unknown) => {
  console.error(`cairn start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
