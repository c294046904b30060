import { ConsensusError } from '../consensus/errors.js';
import type { Entry, MessageEnvelope, ReadState } from '../consensus/types.js';
import type { Random } from '../util/random.js';
import type { EventQueue } from './event-queue.js';
import { InvariantViolation } from './invariants.js';
import type { SimNode } from './sim-node.js';
import { decodeWrite, encodeWrite } from './state-machine.js';

interface PendingWrite {
  readonly node: SimNode<MessageEnvelope>;
  readonly startedAt: number;
}

interface PendingRead {
  readonly node: SimNode<MessageEnvelope>;
  readonly mode: 'safe' | 'lease';
  readonly startedAt: number;
  /** The highest index of a write acknowledged before this read began: the read must see at least that. */
  readonly mustSee: number;
}

export interface WorkloadStats {
  writesProposed: number;
  writesAcknowledged: number;
  writesUnknown: number;
  writesRefused: number;
  readsIssued: number;
  readsServed: number;
  leaseReadsServed: number;
  readsRefused: number;
}

/**
 * Simulated clients: each issues writes (proposals) and linearizable reads (ReadIndex or lease) to random live
 * nodes. A write is acknowledged when the node it was sent to applies it; a read is answered when its node's
 * state machine reaches the read index.
 */
export class Workload {
  private readonly writes = new Map<string, PendingWrite>();
  private readonly reads = new Map<number, PendingRead>();
  private nextContext = 1;
  private running = false;
  /** The highest log index of an acknowledged write. */
  maxAckedIndex = 0;
  readonly stats: WorkloadStats = {
    writesProposed: 0,
    writesAcknowledged: 0,
    writesUnknown: 0,
    writesRefused: 0,
    readsIssued: 0,
    readsServed: 0,
    leaseReadsServed: 0,
    readsRefused: 0,
  };

  constructor(
    private readonly queue: EventQueue,
    private readonly random: Random,
    private readonly liveNodes: () => SimNode<MessageEnvelope>[],
    private readonly trace: (line: string) => void,
    private readonly clients: number,
    private readonly writeTimeoutMs: number,
  ) {}

  start(): void {
    this.running = true;
    for (let c = 1; c <= this.clients; c++) this.queue.schedule(this.random.next() * 50, () => this.clientStep(c, 1));
  }

  stop(): void {
    this.running = false;
  }

  private clientStep(client: number, seq: number): void {
    if (!this.running) return;
    const nodes = this.liveNodes();
    if (nodes.length > 0) {
      const node = nodes[this.random.int(nodes.length)]!;
      if (this.random.chance(0.6)) this.write(node, client, seq);
      else this.read(node, this.random.chance(0.5) ? 'lease' : 'safe');
    }
    this.queue.schedule(5 + this.random.next() * 60, () => this.clientStep(client, seq + 1));
  }

  private write(node: SimNode<MessageEnvelope>, client: number, seq: number): void {
    const key = `${client}:${seq}`;
    try {
      node.withEngine((e) => e.propose(encodeWrite({ client, seq }, this.random.int(0xffffffff))));
    } catch (error) {
      if (!(error instanceof ConsensusError)) throw error;
      this.stats.writesRefused++;
      return;
    }
    this.stats.writesProposed++;
    this.writes.set(key, { node, startedAt: this.queue.now });
    this.queue.schedule(this.writeTimeoutMs, () => {
      if (this.writes.delete(key)) this.stats.writesUnknown++;
    });
  }

  private read(node: SimNode<MessageEnvelope>, mode: 'safe' | 'lease'): void {
    const context = this.nextContext++;
    try {
      node.withEngine((e) => e.readIndex(context, { mode }));
    } catch (error) {
      if (!(error instanceof ConsensusError)) throw error;
      this.stats.readsRefused++;
      return;
    }
    this.stats.readsIssued++;
    this.reads.set(context, { node, mode, startedAt: this.queue.now, mustSee: this.maxAckedIndex });
    this.queue.schedule(this.writeTimeoutMs, () => this.reads.delete(context));
  }

  /** A node applied an entry: if it carries a write sent to that node, the client gets its answer. */
  onApplied(node: SimNode<MessageEnvelope>, entry: Entry): void {
    if (entry.type !== 'normal') return;
    const w = decodeWrite(entry.data);
    if (!w) return;
    const key = `${w.client}:${w.seq}`;
    const pending = this.writes.get(key);
    if (!pending || pending.node !== node) return;
    this.writes.delete(key);
    this.stats.writesAcknowledged++;
    if (entry.index > this.maxAckedIndex) this.maxAckedIndex = entry.index;
  }

  onReadServed(node: SimNode<MessageEnvelope>, read: ReadState): void {
    const pending = this.reads.get(read.context);
    if (!pending || pending.node !== node) return;
    this.reads.delete(read.context);
    this.stats.readsServed++;
    if (pending.mode === 'lease') this.stats.leaseReadsServed++;
    if (read.index < pending.mustSee) {
      throw new InvariantViolation(
        'read freshness',
        `${pending.mode} read on ${node.id} (started t=${pending.startedAt}) got index ${read.index}, but the write at ${pending.mustSee} was acknowledged before it began`,
      );
    }
    this.trace(`${node.id} ${pending.mode} read → ${read.index}`);
  }

  pendingWrites(): number {
    return this.writes.size;
  }
}
