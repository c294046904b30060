import { ConsensusError } from '../consensus/errors.js';
import type { ConfChange, ConfChangeSingle, NodeId } from '../consensus/types.js';
import type { Progress } from './progress.js';
import { type Config, isJoint, type ProgressTracker } from './tracker.js';

/**
 * Computes membership transitions (the `confchange/` package of etcd-io/raft) without touching the tracker:
 * every function returns a new configuration and progress map, or throws INVALID_CONF_CHANGE.
 *
 * - simple: at most one voter changes, applied directly (any two majorities of the old and new config overlap).
 * - enterJoint: the old voters become `outgoing`, the changes apply to `incoming`; decisions need both majorities.
 * - leaveJoint: drop `outgoing`, turn `learnersNext` into learners.
 */

interface MutableConfig {
  /** isLearner flags to set on existing progress once the transition is known to be valid. */
  learnerFlags: Map<NodeId, boolean>;
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export interface ConfTransition {
  readonly config: Config;
  readonly progress: Map<NodeId, Progress>;
}

function invalid(message: string): never {
  throw new ConsensusError('INVALID_CONF_CHANGE', message);
}

function copyConfig(c: Config): MutableConfig {
  return {
    learnerFlags: new Map(),
    incoming: new Set(c.incoming),
    outgoing: new Set(c.outgoing),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** Whether this change asks to leave a joint configuration (an empty change list). */
export function isLeaveJoint(change: ConfChange): boolean {
  return change.changes.length === 0;
}

/** Whether `change` must go through a joint configuration. */
export function needsJoint(change: ConfChange): boolean {
  if (change.transition === 'joint' || change.transition === 'explicit') return true;
  // More than one change of a voter set cannot be done safely in one step.
  return change.changes.length > 1;
}

export class ConfChanger {
  constructor(
    private readonly tracker: ProgressTracker,
    /** The leader's last log index: new members are probed from here. */
    private readonly lastIndex: number,
  ) {}

  /** Applies `change` as the right kind of transition. */
  apply(change: ConfChange): ConfTransition {
    if (isLeaveJoint(change)) return this.leaveJoint();
    if (needsJoint(change)) return this.enterJoint(change.transition !== 'explicit', change.changes);
    return this.simple(change.changes);
  }

  enterJoint(autoLeave: boolean, changes: readonly ConfChangeSingle[]): ConfTransition {
    const { config, progress } = this.start();
    if (isJoint(config)) invalid('already in a joint configuration');
    if (config.incoming.size === 0) invalid('cannot make a configuration without voters joint');
    config.outgoing = new Set(config.incoming);
    this.applyChanges(config, progress, changes);
    config.autoLeave = autoLeave;
    return this.finish(config, progress);
  }

  leaveJoint(): ConfTransition {
    const { config, progress } = this.start();
    if (!isJoint(config)) invalid('not in a joint configuration');
    for (const id of config.learnersNext) {
      config.learners.add(id);
      config.learnerFlags.set(id, true);
    }
    config.learnersNext.clear();
    for (const id of config.outgoing) {
      if (!config.incoming.has(id) && !config.learners.has(id)) progress.delete(id);
    }
    config.outgoing.clear();
    config.autoLeave = false;
    return this.finish(config, progress);
  }

  simple(changes: readonly ConfChangeSingle[]): ConfTransition {
    const { config, progress } = this.start();
    if (isJoint(config)) invalid('cannot apply a simple change in a joint configuration; leave it first');
    const before = new Set(config.incoming);
    this.applyChanges(config, progress, changes);
    let changed = 0;
    for (const id of before) if (!config.incoming.has(id)) changed++;
    for (const id of config.incoming) if (!before.has(id)) changed++;
    if (changed > 1) invalid('more than one voter changed without a joint configuration');
    return this.finish(config, progress);
  }

  private start(): { config: MutableConfig; progress: Map<NodeId, Progress> } {
    return { config: copyConfig(this.tracker.config), progress: new Map(this.tracker.progress) };
  }

  private applyChanges(config: MutableConfig, progress: Map<NodeId, Progress>, changes: readonly ConfChangeSingle[]) {
    for (const c of changes) {
      switch (c.type) {
        case 'addVoter':
          this.makeVoter(config, progress, c.node);
          break;
        case 'addLearner':
          this.makeLearner(config, progress, c.node);
          break;
        case 'removeVoter':
          this.remove(config, progress, c.node);
          break;
      }
    }
    if (config.incoming.size === 0) invalid('the change removes every voter');
  }

  private initProgress(progress: Map<NodeId, Progress>, id: NodeId, isLearner: boolean): void {
    const pr = this.tracker.newProgress(this.lastIndex + 1, isLearner);
    // A new member counts as active, or check-quorum could depose the leader before it ever answers.
    pr.recentActive = true;
    progress.set(id, pr);
  }

  private makeVoter(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    if (!progress.has(id)) this.initProgress(progress, id, false);
    else config.learnerFlags.set(id, false);
    config.learners.delete(id);
    config.learnersNext.delete(id);
    config.incoming.add(id);
  }

  private makeLearner(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    const pr = progress.get(id);
    if (!pr) {
      this.initProgress(progress, id, true);
      config.learners.add(id);
      return;
    }
    if (config.learners.has(id)) return;
    config.incoming.delete(id);
    if (config.outgoing.has(id)) {
      // Still a voter of the outgoing half: it becomes a learner only when the joint configuration is left.
      config.learnersNext.add(id);
    } else {
      config.learnerFlags.set(id, true);
      config.learners.add(id);
    }
  }

  private remove(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
    if (!progress.has(id)) return;
    config.incoming.delete(id);
    config.learners.delete(id);
    config.learnersNext.delete(id);
    // A voter of the outgoing half keeps its progress until the joint configuration is left.
    if (!config.outgoing.has(id)) progress.delete(id);
  }

  private finish(config: MutableConfig, progress: Map<NodeId, Progress>): ConfTransition {
    for (const id of config.learners) {
      if (config.incoming.has(id) || config.outgoing.has(id)) invalid(`${id} is both a voter and a learner`);
    }
    for (const id of config.learnersNext) {
      if (!config.outgoing.has(id)) invalid(`${id} is in learnersNext but not an outgoing voter`);
    }
    if (!isJoint(config) && config.autoLeave) invalid('autoLeave set outside a joint configuration');
    for (const id of [...config.incoming, ...config.outgoing, ...config.learners, ...config.learnersNext]) {
      if (!progress.has(id)) invalid(`no progress for member ${id}`);
    }
    for (const [id, isLearner] of config.learnerFlags) {
      const pr = progress.get(id);
      if (pr) pr.isLearner = isLearner;
    }
    const { learnerFlags: _, ...result } = config;
    return { config: result, progress };
  }
}
