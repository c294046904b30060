/**
 * What every consensus engine (Raft, Multi-Paxos) shares with the code that drives it: the log entry, the
 * durable hard state, membership, snapshots, the message envelope and the Ready/advance contract.
 *
 * An engine is a pure state machine (no timers, sockets, files or clocks inside). The driver feeds it ticks,
 * messages and proposals, then repeatedly takes a `Ready`, does the I/O it asks for, and calls `advance()`:
 *
 *   1. send `ready.sendNow` (safe before persisting: leader replication traffic, Raft thesis §10.2.1);
 *   2. persist `ready.snapshot`, `ready.entries` and `ready.hardState` durably (fsync);
 *   3. send `ready.sendAfterPersist` (votes, acknowledgements: they promise what was just persisted);
 *   4. apply `ready.committedEntries` in order; serve `ready.readStates` once applied >= their index;
 *   5. call `engine.advance(ready)`.
 */

/** A node's identity inside a cluster (its name, e.g. "n1"). */
export type NodeId = string;

/** A consensus group (a shard). A single-group cluster uses group 0. */
export type GroupId = number;

/** `normal` entries carry state-machine commands (empty data = a no-op); `confChange` entries carry membership. */
export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash before a node may vote or acknowledge: current term, vote in it, and commit index. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/**
 * A membership configuration. In a joint configuration (`votersOutgoing` non-empty) decisions need a majority
 * of `voters` AND a majority of `votersOutgoing`. `learnersNext` are voters of the outgoing configuration
 * that become learners when the joint configuration is left.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly learnersNext: readonly NodeId[];
  /** Leave the joint configuration automatically once it is committed. */
  readonly autoLeave: boolean;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/** The state machine at `meta.index`, opaque to the engine. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/** `addVoter` also promotes a learner; `addLearner` also demotes a voter. */
export type ConfChangeType = 'addVoter' | 'removeVoter' | 'addLearner';

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly node: NodeId;
}

/**
 * A membership change. One change of a voter is applied directly; several voter changes go through a joint
 * configuration. `transition`: `auto` leaves the joint configuration by itself (the default), `explicit` waits
 * for an empty change, which is also how an explicit joint configuration is left.
 * `context` is opaque to the engine (the node layer puts the new member's addresses there).
 */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  readonly transition?: 'auto' | 'joint' | 'explicit';
  readonly context?: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state the driver may want to react to (who leads, what we are). */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
}

/** A read that became safe: serve it from the state machine once applied >= `index`. */
export interface ReadState {
  readonly context: number;
  readonly index: number;
}

/** The fields every engine message carries, whatever the protocol. */
export interface MessageEnvelope {
  readonly group: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: string;
}

export interface Ready<M extends MessageEnvelope> {
  /** Persist when not null (it changed). */
  readonly hardState: HardState | null;
  /** Append to the durable log; an entry at an index already stored replaces it and every entry after it. */
  readonly entries: readonly Entry[];
  /** Install (persist, and restore the state machine from) when not null; comes before `entries`. */
  readonly snapshot: Snapshot | null;
  /** Send at once, even before persisting this Ready. */
  readonly sendNow: readonly M[];
  /** Send only after this Ready's hard state, entries and snapshot are durable. */
  readonly sendAfterPersist: readonly M[];
  /** Apply in order, after persisting. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Not null when leader or role changed. */
  readonly softState: SoftState | null;
  /** False when nothing in this Ready needs an fsync (only messages or committed entries to apply). */
  readonly mustSync: boolean;
}

/** A proposal accepted by a leader; a follower forwards and cannot tell where it will land. */
export type ProposeResult =
  | { readonly forwarded: false; readonly index: number; readonly term: number }
  | { readonly forwarded: true };

export interface ReadOptions {
  /**
   * `safe` (default): ReadIndex, a quorum round confirms leadership.
   * `lease`: served at once while the leader holds a lease (only with check-quorum); falls back to `safe`.
   */
  readonly mode?: 'safe' | 'lease';
}

export interface PeerProgress {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface EngineStatus {
  readonly id: NodeId;
  readonly group: GroupId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly confState: ConfState;
  /** Only on the leader: what it knows of every member. */
  readonly progress: readonly PeerProgress[];
  readonly leadTransferee: NodeId | null;
}

/**
 * How this node takes part in elections, set by the node's health layer: a degraded node campaigns later than
 * healthy ones (so they win first), and a node may refuse pre-votes to candidates it knows are unhealthy while a
 * healthy one could lead. Pre-votes are advisory, so neither affects safety.
 */
export interface CampaignPolicy {
  /** Extra ticks to wait, beyond the randomized election timeout, before campaigning. Default 0. */
  readonly deferTicks: number;
  /** Grant a pre-vote to this candidate? null: always (subject to the usual checks). */
  readonly acceptCandidate: ((candidate: NodeId) => boolean) | null;
}

/** The interface the node, the simulator and the torture harness drive; Raft and Multi-Paxos implement it. */
export interface ConsensusEngine<M extends MessageEnvelope = MessageEnvelope> {
  readonly id: NodeId;
  readonly group: GroupId;
  /** Advance logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void;
  /** Handle a message from a peer. Messages for another group or from a stale term are ignored. */
  step(message: M): void;
  /** Throws ConsensusError (NOT_LEADER, NO_LEADER, PROPOSALS_OVER_LIMIT, TRANSFER_IN_PROGRESS...). */
  propose(data: Uint8Array): ProposeResult;
  proposeConfChange(change: ConfChange): ProposeResult;
  /** Ask for a linearizable read point; the answer comes back in `Ready.readStates` with the same context. */
  readIndex(context: number, options?: ReadOptions): void;
  /** Ask the leader to hand leadership to `to` (catching it up first). */
  transferLeadership(to: NodeId): void;
  /** The driver finished (ok) or failed sending a snapshot the engine asked to send to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void;
  /** The driver could not deliver to `to` (connection down): stop pipelining to it for now. */
  reportUnreachable(to: NodeId): void;
  /** Health-aware election behaviour (see CampaignPolicy). */
  setCampaignPolicy(policy: CampaignPolicy): void;
  /**
   * The driver knows `peer`'s process is gone (nothing listens on its port any more). If it was our leader, we
   * stop honouring its lease and campaign within a few ticks instead of a whole election timeout. A dead process
   * serves no lease reads, so this costs no safety.
   */
  reportPeerDown(peer: NodeId): void;
  /**
   * Leader: whether some follower holds committed entries it has not been told are committed. A new commit index
   * travels with the next append or heartbeat; no message is sent only for it, unless the driver calls
   * `announceCommit` (it does when nothing carried it within `commitAnnounceDelayMs`).
   */
  hasUnannouncedCommit(): boolean;
  /** Leader: sends the commit index to every follower that awaits it (see `hasUnannouncedCommit`). */
  announceCommit(): void;
  hasReady(): boolean;
  ready(): Ready<M>;
  /** Synchronous driving: everything in `ready` was persisted, sent and applied (accept + persisted + applied). */
  advance(ready: Ready<M>): void;
  /** Asynchronous driving: `ready` was taken and its write started; the next Ready may be taken at once. */
  accept(ready: Ready<M>): void;
  /** Asynchronous driving: an accepted Ready's snapshot, entries and hard state are durable (call in order). */
  persisted(ready: Ready<M>): void;
  /** Asynchronous driving: these committed entries (from accepted Readys, in order) were applied. */
  applied(entries: readonly Entry[]): void;
  status(): EngineStatus;
  /** The term of the entry at `index` in this engine's log (stable or not), or undefined if it holds none there.
   * For checkers (the simulator's leader-completeness check), not for the data path. */
  termAt(index: number): number | undefined;
}
