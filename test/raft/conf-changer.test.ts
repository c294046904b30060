import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsensusError } from '../../src/consensus/errors.js';
import { ConfChanger } from '../../src/raft/conf-changer.js';
import { configFromConfState, confStateFromConfig, ProgressTracker } from '../../src/raft/tracker.js';

function trackerWith(voters: string[], learners: string[] = []): ProgressTracker {
  const t = new ProgressTracker(8, 0);
  t.config = configFromConfState({ voters, votersOutgoing: [], learners, learnersNext: [], autoLeave: false });
  for (const id of voters) t.progress.set(id, t.newProgress(1, false));
  for (const id of learners) t.progress.set(id, t.newProgress(1, true));
  return t;
}

const isInvalid = (e: ConsensusError) => e.code === 'INVALID_CONF_CHANGE';

describe('membership transitions', () => {
  test('a simple change may change at most one voter', () => {
    const t = trackerWith(['a', 'b', 'c']);
    const { config } = new ConfChanger(t, 10).simple([{ type: 'addVoter', node: 'd' }]);
    assert.deepEqual([...config.incoming].sort(), ['a', 'b', 'c', 'd']);
    assert.throws(
      () =>
        new ConfChanger(t, 10).simple([
          { type: 'addVoter', node: 'd' },
          { type: 'removeVoter', node: 'a' },
        ]),
      isInvalid,
    );
  });

  test('entering and leaving a joint configuration; demoted voters become learners on leaving', () => {
    const t = trackerWith(['a', 'b', 'c']);
    const joint = new ConfChanger(t, 10).enterJoint(true, [
      { type: 'addVoter', node: 'd' },
      { type: 'addLearner', node: 'c' },
    ]);
    assert.deepEqual(confStateFromConfig(joint.config), {
      voters: ['a', 'b', 'd'],
      votersOutgoing: ['a', 'b', 'c'],
      learners: [],
      learnersNext: ['c'],
      autoLeave: true,
    });
    t.config = joint.config;
    t.progress = joint.progress;
    const left = new ConfChanger(t, 10).leaveJoint();
    assert.deepEqual(confStateFromConfig(left.config), {
      voters: ['a', 'b', 'd'],
      votersOutgoing: [],
      learners: ['c'],
      learnersNext: [],
      autoLeave: false,
    });
    assert.equal(left.progress.get('c')!.isLearner, true);
  });

  test('a rejected transition leaves the current progress untouched', () => {
    const t = trackerWith(['a'], ['l']);
    assert.throws(
      () =>
        new ConfChanger(t, 10).simple([
          { type: 'addVoter', node: 'l' },
          { type: 'removeVoter', node: 'a' },
        ]),
      isInvalid,
    );
    assert.equal(t.progress.get('l')!.isLearner, true);
  });

  test('invalid transitions are refused', () => {
    const t = trackerWith(['a', 'b']);
    assert.throws(() => new ConfChanger(t, 1).leaveJoint(), isInvalid);
    assert.throws(
      () =>
        new ConfChanger(t, 1).simple([
          { type: 'removeVoter', node: 'a' },
          { type: 'removeVoter', node: 'b' },
        ]),
      isInvalid,
    );
    assert.throws(() => new ConfChanger(trackerWith([]), 1).enterJoint(true, []), isInvalid);
  });
});
