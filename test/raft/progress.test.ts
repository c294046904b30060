import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inflights } from '../../src/raft/inflights.js';
import { Progress } from '../../src/raft/progress.js';

describe('inflights', () => {
  test('bounded by count and by bytes; acknowledgements free in order', () => {
    const inf = new Inflights(3, 100);
    inf.add(1, 10);
    inf.add(2, 10);
    inf.add(3, 10);
    assert.ok(inf.full());
    assert.throws(() => inf.add(4, 1));
    inf.freeLE(2);
    assert.equal(inf.length, 1);
    inf.add(4, 95);
    assert.ok(inf.full(), 'full by bytes');
    inf.freeFirstOne();
    assert.equal(inf.length, 1);
    assert.equal(inf.totalBytes, 95);
    inf.freeLE(10);
    assert.equal(inf.length, 0);
  });
});

describe('progress', () => {
  test('probe sends one message at a time; replicate pipelines until the window is full', () => {
    const pr = new Progress(5, false, 2, 0);
    assert.equal(pr.isPaused(), false);
    pr.sentEntries(1, 10, 5);
    assert.equal(pr.isPaused(), true, 'probe waits for an answer');
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    assert.equal(pr.next, 6);
    pr.sentEntries(2, 20, 7);
    pr.sentEntries(1, 10, 8);
    assert.equal(pr.next, 9);
    assert.equal(pr.isPaused(), true, 'window of 2 is full');
    pr.maybeUpdate(7);
    pr.inflights.freeLE(7);
    assert.equal(pr.isPaused(), false);
  });

  test('maybeDecrTo ignores stale rejections and uses the hint', () => {
    const pr = new Progress(11, false, 4, 0);
    assert.equal(pr.maybeDecrTo(5, 3), false, 'not the probe we sent (next - 1 = 10)');
    assert.equal(pr.maybeDecrTo(10, 3), true);
    assert.equal(pr.next, 4);
    pr.maybeUpdate(3);
    pr.becomeReplicate();
    assert.equal(pr.maybeDecrTo(2, 0), false, 'below match: stale');
    assert.equal(pr.maybeDecrTo(7, 0), true);
    assert.equal(pr.next, 4);
  });

  test('after a snapshot, probing resumes after the snapshot index', () => {
    const pr = new Progress(3, false, 4, 0);
    pr.becomeSnapshot(50);
    assert.equal(pr.isPaused(), true);
    pr.becomeProbe();
    assert.equal(pr.next, 51);
  });
});
