import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE_RUNTIME_FLAGS } from '../../src/node/runtime-flags.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test("the cairn executable's first line passes the node runtime flags, and runs", async () => {
  const first = readFileSync(MAIN, 'utf8').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_RUNTIME_FLAGS.join(' ')}`);
  // Executed through its first line (env -S splits the flags), as `cairn` on the PATH is.
  const { stdout } = await promisify(execFile)(MAIN, ['--help']);
  assert.match(stdout, /Usage: cairn/);
});

test('the flags are ones this node accepts', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [...NODE_RUNTIME_FLAGS, '-p', '1 + 1']);
  assert.equal(stdout.trim(), '2');
});
