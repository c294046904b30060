import type { OpInput, OpKind } from '../check/index.js';
import type { Random } from '../util/random.js';
import type { HistoryRecorder } from './history-recorder.js';
import type { KvHttp, OpAnswer } from './kv-http.js';

/** A node the clients may send requests to. */
export interface Target {
  readonly name: string;
  readonly origin: string;
}

export interface WorkloadOptions {
  readonly clients: number;
  /** Keys in use at a time. */
  readonly keys: number;
  /** Clients move to fresh keys every so often (0 = never), so each key's history stays short. */
  readonly keyRotationMs: number;
  /** Every key starts with this (e.g. `t/`): watchers watch it. */
  readonly prefix: string;
  /** Share of reads made with `consistency=lease` instead of the default ReadIndex (0..1). */
  readonly leaseReads: number;
  /** A client pauses a random 0..thinkMs between operations (0 = back to back). */
  readonly thinkMs: number;
  /** The workload stops by itself once the history holds this many operations (the checker's input is bounded). */
  readonly maxOps: number;
}

export interface WorkloadDeps {
  readonly kv: KvHttp;
  readonly recorder: HistoryRecorder;
  /** One stream per client is forked from it. */
  readonly random: Random;
  /** The nodes to pick from, asked before each operation (membership changes as the run goes). */
  readonly targets: () => readonly Target[];
  /** Monotonic ms (the history's clock). */
  readonly now: () => number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The key a client uses: `<prefix>g<generation>/k<i>`. */
export function keyName(prefix: string, generation: number, i: number): string {
  return `${prefix}g${generation}/k${i}`;
}

/**
 * Concurrent clients, each a loop of single operations on random nodes: reads, blind puts, conditional puts
 * (`ifVersion` from what the client last saw of the key, sometimes deliberately stale), and deletes (half of
 * them conditional). Values are unique (`<client>-<seq>`), so a read names the write it saw. A client backs off
 * a little after an operation that failed or timed out, so a dead node does not turn into a busy loop.
 */
export class Workload {
  private stopping = false;
  /** True once the history reached `maxOps` and the clients stopped early. */
  full = false;
  private running: Promise<void>[] = [];
  private startedAt = 0;
  /** Keys of every generation used so far (for the final reads). */
  readonly usedKeys = new Set<string>();

  constructor(
    private readonly o: WorkloadOptions,
    private readonly d: WorkloadDeps,
  ) {}

  start(): void {
    this.startedAt = this.d.now();
    for (let c = 0; c < this.o.clients; c++) {
      const random = this.d.random.fork();
      this.running.push(this.client(`c${c}`, random));
    }
  }

  /** Lets every client finish its operation in flight (each is bounded by the op timeout), then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
    this.running = [];
  }

  private generation(): number {
    if (this.o.keyRotationMs <= 0) return 0;
    return Math.floor((this.d.now() - this.startedAt) / this.o.keyRotationMs);
  }

  private async client(clientId: string, random: Random): Promise<void> {
    const known = new Map<string, number>();
    let seq = 0;
    while (!this.stopping) {
      if (this.d.recorder.total >= this.o.maxOps) {
        this.full = true;
        return;
      }
      const targets = this.d.targets();
      if (targets.length === 0) {
        await sleep(50);
        continue;
      }
      const target = targets[random.int(targets.length)]!;
      const key = keyName(this.o.prefix, this.generation(), random.int(this.o.keys));
      this.usedKeys.add(key);
      const id = `${clientId}:${seq++}`;
      const roll = random.next();
      let op: OpKind;
      let input: OpInput;
      const knownVersion = known.get(key) ?? 0;
      // A condition that is usually right (from the last answer seen) but sometimes stale or off by one.
      const condition = () => (random.chance(0.8) ? knownVersion : Math.max(0, knownVersion + random.int(3) - 1));
      let lease = false;
      if (roll < 0.4) {
        op = 'get';
        input = {};
        lease = random.chance(this.o.leaseReads);
      } else if (roll < 0.65) {
        op = 'put';
        input = { value: `${clientId}-${seq}` };
      } else if (roll < 0.85) {
        op = 'put';
        input = { value: `${clientId}-${seq}`, ifVersion: condition() };
      } else {
        op = 'delete';
        input = random.chance(0.5) ? {} : { ifVersion: condition() };
      }
      const call = this.d.now();
      let answer: OpAnswer;
      if (op === 'get') answer = await this.d.kv.get(target.origin, key, lease ? 'lease' : 'linearizable');
      else if (op === 'put') answer = await this.d.kv.put(target.origin, key, input.value!, input.ifVersion);
      else answer = await this.d.kv.del(target.origin, key, input.ifVersion);
      const returned = this.d.now();
      this.d.recorder.record(id, clientId, target.name, key, op, input, call, returned, answer, lease);
      if (answer.kind === 'ok') {
        const out = answer.output as { found?: boolean; version?: number; deleted?: number; ok?: boolean };
        if (out.found === false || out.deleted !== undefined) known.set(key, 0);
        else if (out.version !== undefined) known.set(key, out.version);
      } else {
        await sleep(10 + random.int(50));
      }
      if (this.o.thinkMs > 0) await sleep(random.int(this.o.thinkMs + 1));
    }
  }
}
