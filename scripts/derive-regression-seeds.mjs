// Re-derives the simulator regression seeds (test/sim/regression-seeds.test.ts): reverts one fixed bug in
// memory and lists the first seeds that fail. Usage: npm run build && node scripts/derive-regression-seeds.mjs <bug>
// with <bug> one of: stale-snapshot, no-empty-append, no-free-first, late-in-progress.
import { Raft } from '../dist/src/raft/raft.js';
import { runSeed } from '../dist/src/sim/cluster-sim.js';
import { raftFactory } from '../dist/src/sim/engine-factory.js';
import { SimNode } from '../dist/src/sim/sim-node.js';

const which = process.argv[2];
if (which === 'stale-snapshot') SimNode.prototype.freshSnapshotMessage = (m) => m;
if (which === 'no-empty-append') {
  Raft.prototype.handleHeartbeatResponse = function (m) {
    const pr = this.tracker.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppendsTo(m.from, false);
    this.rounds.ack(m.from, m.context);
    this.releaseConfirmedReads();
  };
}
if (which === 'no-free-first') {
  Raft.prototype.handleHeartbeatResponse = function (m) {
    const pr = this.tracker.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.match < this.log.lastIndex()) this.sendAppendsTo(m.from, true);
    this.rounds.ack(m.from, m.context);
    this.releaseConfirmedReads();
  };
}
if (which === 'late-in-progress') {
  const { RaftEngine } = await import('../dist/src/raft/raft-engine.js');
  const origReady = RaftEngine.prototype.ready;
  RaftEngine.prototype.ready = function () {
    const u = this.raft.log.unstable;
    const before = u.inProgressUpTo;
    const snapBefore = u.snapshotInProgress;
    const rd = origReady.call(this);
    u.inProgressUpTo = before;
    u.snapshotInProgress = snapBefore;
    return rd;
  };
  const origAccept = RaftEngine.prototype.accept;
  RaftEngine.prototype.accept = function (rd) {
    origAccept.call(this, rd);
    const last = rd.entries[rd.entries.length - 1];
    this.raft.log.unstable.acceptInProgress(last ? last.index : -1, rd.snapshot !== null);
  };
}
for (const nodes of [3, 5]) {
  const found = [];
  for (let seed = 1; seed <= 1500 && found.length < 3; seed++) {
    const r = runSeed(raftFactory(), { seed, nodes });
    if (!r.ok) found.push([seed, r.violation.invariant, r.violation.message.slice(0, 100)]);
  }
  console.log(which, nodes, JSON.stringify(found));
}
