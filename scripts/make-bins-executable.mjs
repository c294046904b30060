// tsc writes plain files; the package's command-line entry points must be executable for `npx cairn`.
import { chmodSync, existsSync } from 'node:fs';

for (const bin of ['dist/src/cli/main.js', 'dist/src/sim/cli.js', 'dist/src/check/cli.js']) {
  if (existsSync(bin)) chmodSync(bin, 0o755);
}
