import type { MemoryLogStorage } from '../consensus/memory-log-storage.js';
import type { ConsensusEngine, Entry, NodeId } from '../consensus/types.js';
import { type EngineSemantics, RAFT_SEMANTICS } from './engine-factory.js';
import { entryFingerprint, valueFingerprint } from './state-machine.js';

export type InvariantName =
  | 'election safety'
  | 'log matching'
  | 'leader completeness'
  | 'state machine safety'
  | 'no lost writes'
  | 'read freshness'
  | 'liveness'
  | 'engine crashed';

/** Thrown by the checker the moment something that must never happen happens. */
export class InvariantViolation extends Error {
  constructor(
    readonly invariant: InvariantName,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
    this.name = 'InvariantViolation';
  }
}

interface AppliedRecord {
  readonly term: number;
  readonly fingerprint: number;
  readonly digest: number;
  readonly by: NodeId;
}

/**
 * Raft's safety properties (Figure 3 of the paper) plus client-visible guarantees, checked as the run goes:
 * - election safety: at most one leader per term;
 * - log matching: two logs with an entry of the same index and term are identical up to it;
 * - leader completeness: a new leader holds every entry applied anywhere;
 * - state machine safety: no two nodes apply different entries at one index (checked through chain digests);
 * - read freshness: a read reflects every write acknowledged before it began;
 * - no lost writes: at the end, every acknowledged write is applied on every member.
 */
export class InvariantChecker {
  private readonly leaders = new Map<number, NodeId>();
  private readonly applied = new Map<number, AppliedRecord>();
  maxAppliedIndex = 0;
  private readonly fingerprint: (e: Entry) => number;

  /**
   * With Raft's semantics (the default) entries are compared by term and value. With `value` identity (Multi-Paxos,
   * where a chosen value may be re-proposed under a newer ballot) the same properties are checked on values: at
   * most one value is chosen (applied) per index, and a new leader holds the chosen value at every index.
   */
  constructor(private readonly semantics: EngineSemantics = RAFT_SEMANTICS) {
    this.fingerprint = semantics.entryIdentity === 'value' ? valueFingerprint : entryFingerprint;
  }

  leaderElected(node: NodeId, term: number, engine: ConsensusEngine, snapshotIndex: number): void {
    const previous = this.leaders.get(term);
    if (previous !== undefined && previous !== node) {
      throw new InvariantViolation('election safety', `${previous} and ${node} both lead term ${term}`);
    }
    this.leaders.set(term, node);
    if (this.semantics.entryIdentity === 'value') {
      this.checkLeaderHoldsValues(node, engine, snapshotIndex);
      return;
    }
    for (let i = snapshotIndex + 1; i <= this.maxAppliedIndex; i++) {
      const record = this.applied.get(i);
      if (!record) continue;
      const term = engine.termAt(i);
      if (term !== record.term) {
        throw new InvariantViolation(
          'leader completeness',
          `leader ${node} has term ${term ?? 'nothing'} at ${i}, where ${record.by} applied an entry of term ${record.term}`,
        );
      }
    }
  }

  private checkLeaderHoldsValues(node: NodeId, engine: ConsensusEngine, snapshotIndex: number): void {
    const entryAt = this.semantics.entryAt;
    if (!entryAt) throw new Error('value identity needs EngineSemantics.entryAt');
    for (let i = snapshotIndex + 1; i <= this.maxAppliedIndex; i++) {
      const record = this.applied.get(i);
      if (!record) continue;
      const entry = entryAt(engine, i);
      if (!entry || this.fingerprint(entry) !== record.fingerprint) {
        throw new InvariantViolation(
          'leader completeness',
          `leader ${node} has ${entry ? 'another value' : 'nothing'} at ${i}, where ${record.by} applied a chosen value`,
        );
      }
    }
  }

  entryApplied(node: NodeId, entry: Entry, digest: number): void {
    const fingerprint = this.fingerprint(entry);
    const known = this.applied.get(entry.index);
    if (!known) {
      this.applied.set(entry.index, { term: entry.term, fingerprint, digest, by: node });
      if (entry.index > this.maxAppliedIndex) this.maxAppliedIndex = entry.index;
      return;
    }
    const termDiffers = this.semantics.entryIdentity === 'termAndValue' && known.term !== entry.term;
    if (termDiffers || known.fingerprint !== fingerprint) {
      throw new InvariantViolation(
        'state machine safety',
        `${node} applied term ${entry.term} at ${entry.index}, ${known.by} applied term ${known.term}`,
      );
    }
    if (known.digest !== digest) {
      throw new InvariantViolation(
        'state machine safety',
        `${node} reached a different state at ${entry.index} than ${known.by} (an earlier entry differs)`,
      );
    }
  }

  snapshotInstalled(node: NodeId, index: number, digest: number): void {
    const known = this.applied.get(index);
    if (known && known.digest !== digest) {
      throw new InvariantViolation(
        'state machine safety',
        `${node} installed a snapshot at ${index} whose state differs from what ${known.by} applied`,
      );
    }
  }

  digestAt(index: number): number | undefined {
    return this.applied.get(index)?.digest;
  }

  termAt(index: number): number | undefined {
    return this.applied.get(index)?.term;
  }

  /**
   * Multi-Paxos's log matching: where two durable logs hold an entry of the same index and term (ballot), they hold
   * the same value (one proposer per ballot, one value per instance and ballot). Their prefixes may differ.
   */
  static checkEntryMatching(aId: NodeId, a: MemoryLogStorage, bId: NodeId, b: MemoryLogStorage): void {
    const lo = Math.max(a.firstIndex(), b.firstIndex());
    const hi = Math.min(a.lastIndex(), b.lastIndex());
    if (lo > hi) return;
    const ea = a.entries(lo, hi + 1, Number.MAX_SAFE_INTEGER);
    const eb = b.entries(lo, hi + 1, Number.MAX_SAFE_INTEGER);
    for (let k = 0; k < ea.length; k++) {
      const x = ea[k]!;
      const y = eb[k]!;
      if (x.term === y.term && valueFingerprint(x) !== valueFingerprint(y)) {
        throw new InvariantViolation(
          'log matching',
          `${aId} and ${bId} hold different values at ${x.index} accepted in the same ballot ${x.term}`,
        );
      }
    }
  }

  /** Compares two nodes' durable logs where they overlap. */
  static checkLogMatching(aId: NodeId, a: MemoryLogStorage, bId: NodeId, b: MemoryLogStorage): void {
    const lo = Math.max(a.firstIndex(), b.firstIndex());
    const hi = Math.min(a.lastIndex(), b.lastIndex());
    if (lo > hi) return;
    let highestSame = -1;
    for (let i = hi; i >= lo; i--) {
      if (a.term(i) === b.term(i)) {
        highestSame = i;
        break;
      }
    }
    if (highestSame < 0) return;
    const ea = a.entries(lo, highestSame + 1, Number.MAX_SAFE_INTEGER);
    const eb = b.entries(lo, highestSame + 1, Number.MAX_SAFE_INTEGER);
    for (let k = 0; k < ea.length; k++) {
      const x = ea[k]!;
      const y = eb[k]!;
      if (x.term !== y.term || entryFingerprint(x) !== entryFingerprint(y)) {
        throw new InvariantViolation(
          'log matching',
          `${aId} and ${bId} agree on term ${a.term(highestSame)} at ${highestSame} but differ at ${x.index}`,
        );
      }
    }
  }
}
