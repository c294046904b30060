import type { HistoryOp, OpOutput } from '../../src/check/history.js';
import { SeededRandom } from '../../src/util/random.js';

/**
 * Builds histories that are linearizable by construction: concurrent clients issue operations with random
 * durations; each operation takes effect at a random instant between its call and return, and its answer is what
 * a plain sequential register (written here independently of the checker's model) gives at that instant.
 * Some answers are then lost (outcome unknown); such an operation took effect, later than its nominal timeout,
 * or never.
 */
export interface GeneratorOptions {
  readonly seed: number;
  readonly ops: number;
  readonly clients: number;
  readonly keys: number;
  /** Probability that an operation's outcome is unknown. */
  readonly unknownRate?: number;
  /** Probability that a put or delete carries ifVersion. */
  readonly conditionalRate?: number;
  /** Share of operations that are deletes (the rest: 45 % gets, puts). */
  readonly deleteRate?: number;
  /** Draw values from this many distinct strings; undefined = every put writes a new value. */
  readonly valueDomain?: number;
  /** Longest operation, in ms. */
  readonly maxDurationMs?: number;
  /** Record versions in outputs (false = version-less outputs). */
  readonly recordVersions?: boolean;
}

interface Planned {
  readonly id: number;
  readonly clientId: number;
  readonly key: string;
  readonly op: 'get' | 'put' | 'delete';
  readonly input: { value?: string; ifVersion?: number };
  readonly call: number;
  readonly return: number;
  readonly unknown: boolean;
  /** When it takes effect; null = never (an unknown outcome that was lost). */
  readonly effectAt: number | null;
}

export function generateHistory(options: GeneratorOptions): HistoryOp[] {
  const rng = new SeededRandom(options.seed);
  const unknownRate = options.unknownRate ?? 0.05;
  const conditionalRate = options.conditionalRate ?? 0.2;
  const maxDuration = options.maxDurationMs ?? 5;
  const recordVersions = options.recordVersions ?? true;
  const freeAt = new Array<number>(options.clients).fill(0);
  const writesSoFar = new Map<string, number>();
  const planned: Planned[] = [];

  for (let id = 0; id < options.ops; id++) {
    let clientId = 0;
    for (let c = 1; c < options.clients; c++) if (freeAt[c]! < freeAt[clientId]!) clientId = c;
    const call = freeAt[clientId]! + rng.next() * 0.5;
    const duration = 0.05 + rng.next() * maxDuration;
    const ret = call + duration;
    const key = `k${rng.int(options.keys)}`;
    const roll = rng.next();
    const op = roll < 0.45 ? 'get' : roll < 1 - (options.deleteRate ?? 0.15) ? 'put' : 'delete';
    const input: { value?: string; ifVersion?: number } = {};
    if (op === 'put') {
      input.value = options.valueDomain === undefined ? `v${id}` : `v${rng.int(options.valueDomain)}`;
    }
    if (op !== 'get' && rng.chance(conditionalRate)) {
      // A rough guess near the key's version, so that some conditions hold and some fail.
      const guess = writesSoFar.get(key) ?? 0;
      input.ifVersion = Math.max(0, guess - rng.int(3));
    }
    if (op !== 'get') writesSoFar.set(key, op === 'delete' ? 0 : (writesSoFar.get(key) ?? 0) + 1);
    const unknown = rng.chance(unknownRate);
    // A lost answer: the operation may land long after the client gave up, or never.
    const effectAt = unknown
      ? rng.chance(0.5)
        ? call + rng.next() * duration * 4
        : null
      : call + rng.next() * duration;
    planned.push({ id, clientId, key, op, input, call, return: ret, unknown, effectAt });
    freeAt[clientId] = ret;
  }

  const register = new Map<string, { value: string; version: number }>();
  const outputs = new Map<number, OpOutput>();
  const effective = planned.filter((p) => p.effectAt !== null).sort((a, b) => a.effectAt! - b.effectAt!);
  for (const p of effective) {
    const current = register.get(p.key);
    const version = current?.version ?? 0;
    const conditionHolds = p.input.ifVersion === undefined || p.input.ifVersion === version;
    let output: OpOutput;
    if (p.op === 'get') {
      output =
        current === undefined
          ? { found: false }
          : recordVersions
            ? { found: true, value: current.value, version: current.version }
            : { found: true, value: current.value };
    } else if (!conditionHolds) {
      output = { ok: false, code: 'COMPARE_FAILED' };
    } else if (p.op === 'put') {
      register.set(p.key, { value: p.input.value!, version: version + 1 });
      output = recordVersions ? { ok: true, version: version + 1 } : { ok: true };
    } else {
      register.delete(p.key);
      output = { deleted: current === undefined ? 0 : 1 };
    }
    outputs.set(p.id, output);
  }

  return planned.map((p) => ({
    id: p.id,
    clientId: p.clientId,
    key: p.key,
    op: p.op,
    input: p.input,
    call: p.call,
    return: p.unknown ? null : p.return,
    output: p.unknown ? null : outputs.get(p.id)!,
  }));
}
