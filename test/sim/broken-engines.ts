import type { RaftMessage } from '../../src/raft/messages.js';
import type { RaftOptions } from '../../src/raft/options.js';
import { Raft } from '../../src/raft/raft.js';
import { type EngineFactory, raftFactory } from '../../src/sim/engine-factory.js';

/**
 * Deliberately broken Raft variants: the simulator must catch each one, or it proves nothing.
 */

/** Commits whatever a quorum holds, even an entry of an earlier term (ignores Raft §5.4.2). */
class CommitsPreviousTermEntries extends Raft {
  protected override maybeCommit(): boolean {
    const index = Math.min(this.tracker.committed(), this.log.lastIndex());
    if (index <= this.log.committed) return false;
    this.log.commitTo(index);
    return true;
  }
}

/** Grants votes without the up-to-date log check (ignores §5.4.1). */
class VotesWithoutLogCheck extends Raft {
  protected override canGrantVote(m: RaftMessage): boolean {
    return (
      this.vote === m.from || (this.vote === null && this.lead === null) || (m.type === 'preVote' && m.term > this.term)
    );
  }
}

/**
 * Serves lease reads without check-quorum, trusting its role as etcd's lease-based reads do: a leader cut off from
 * the others never steps down, and keeps answering from a state the new leader has moved past.
 */
class LeaseReadWithoutCheckQuorum extends Raft {
  constructor(options: RaftOptions) {
    super({ ...options, checkQuorum: false });
  }

  protected override leaseValid(): boolean {
    return this.role === 'leader';
  }
}

/** A lease longer than the election timeout: followers may elect a new leader while the old one still reads. */
class LeaseOutlivesElectionTimeout extends Raft {
  constructor(options: RaftOptions) {
    super(options);
    const opts = this.opts as { leaseTicks: number };
    opts.leaseTicks = this.opts.electionTicks * 3;
  }
}

/** Grants a vote to every candidate, twice in a term if asked (ignores §5.2's one vote per term). */
class VotesTwicePerTerm extends Raft {
  protected override canGrantVote(m: RaftMessage): boolean {
    return this.log.isUpToDate(m.index, m.logTerm);
  }
}

export const BROKEN_ENGINES: Record<string, EngineFactory> = {
  'commits-previous-term-entries': raftFactory(undefined, CommitsPreviousTermEntries, 'commits-previous-term-entries'),
  'votes-without-log-check': raftFactory(undefined, VotesWithoutLogCheck, 'votes-without-log-check'),
  'lease-read-without-check-quorum': raftFactory(
    undefined,
    LeaseReadWithoutCheckQuorum,
    'lease-read-without-check-quorum',
  ),
  'lease-outlives-election-timeout': raftFactory(
    undefined,
    LeaseOutlivesElectionTimeout,
    'lease-outlives-election-timeout',
  ),
  'votes-twice-per-term': raftFactory(undefined, VotesTwicePerTerm, 'votes-twice-per-term'),
};
