import { checkHistory } from '../src/check/check-history.js';
import { generateHistory } from '../test/check/history-generator.js';

/**
 * How fast the linearizability checker handles torture-sized histories.
 * Usage: node dist/bench/check.js [ops] [keys] [clients] [unknownRate]
 */
const [opsArg, keysArg, clientsArg, unknownArg] = process.argv.slice(2);
const ops = Number(opsArg ?? 50_000);
const keys = Number(keysArg ?? 5);
const clients = Number(clientsArg ?? 16);
const unknownRate = Number(unknownArg ?? 0.02);

for (const seed of [1, 2, 3]) {
  const history = generateHistory({ seed, ops, keys, clients, unknownRate });
  const result = checkHistory(history);
  const slowest = Math.max(...result.keys.map((k) => k.elapsedMs));
  console.log(
    `seed ${seed}: ${ops} ops, ${keys} keys, ${clients} clients, unknown ${unknownRate}: ${result.verdict} in ` +
      `${result.elapsedMs.toFixed(0)} ms (slowest key ${slowest.toFixed(0)} ms, ` +
      `${result.keys.reduce((s, k) => s + k.configurations, 0)} configurations)`,
  );
  // The same history with one read changed to a value never written: must be found not linearizable.
  const index = history.findIndex((op, i) => i > ops / 2 && op.op === 'get' && op.output !== null);
  const broken = history.map((op, i) =>
    i === index ? { ...op, output: { found: true as const, value: 'never-written' } } : op,
  );
  const bad = checkHistory(broken);
  console.log(`  with one corrupted read: ${bad.verdict} in ${bad.elapsedMs.toFixed(0)} ms`);
}
