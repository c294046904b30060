import type { PaxosMessage } from '../../src/paxos/messages.js';
import { Paxos } from '../../src/paxos/paxos.js';
import { type MergedLog, mergePromisedValues } from '../../src/paxos/promise-merge.js';
import { type EngineFactory, paxosFactory } from '../../src/sim/engine-factory.js';

/**
 * Deliberately broken Multi-Paxos variants: the simulator must catch each one, or it proves nothing.
 */

/** A new leader that ignores the values in the promises it collected and keeps only its own log. */
class IgnoresPromisedValues extends Paxos {
  protected override mergePromises(): MergedLog {
    const own =
      this.log.lastIndex() > this.log.committed
        ? this.log.slice(this.log.committed + 1, this.log.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
        : [];
    return mergePromisedValues(this.log.committed + 1, [own]);
  }
}

/** An acceptor that promises every prepare, even one below a ballot it already promised. */
class PromisesWithoutBallotCheck extends Paxos {
  protected override canPromise(_m: PaxosMessage): boolean {
    return true;
  }
}

/** A leader that declares an instance chosen once any one acceptor (itself included) accepted it. */
class CommitsOnMinority extends Paxos {
  protected override quorumChosenIndex(): number {
    let max = 0;
    for (const pr of this.progress.values()) if (!pr.isLearner && pr.match > max) max = pr.match;
    return max;
  }
}

export const BROKEN_PAXOS_ENGINES: Record<string, EngineFactory> = {
  'ignores-promised-values': paxosFactory(undefined, IgnoresPromisedValues, 'ignores-promised-values'),
  'promises-without-ballot-check': paxosFactory(
    { preVote: false },
    PromisesWithoutBallotCheck,
    'promises-without-ballot-check',
  ),
  'commits-on-minority': paxosFactory(undefined, CommitsOnMinority, 'commits-on-minority'),
};
