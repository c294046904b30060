import type { ConsensusEngine } from '../../src/consensus/types.js';

/**
 * What a driver's commit-announcement timer does once a test network is quiet: every leader tells its followers
 * the commit index no append (accept) carried. Returns whether any engine had one to announce.
 */
export function announceCommits(engines: Iterable<ConsensusEngine>): boolean {
  let announced = false;
  for (const engine of engines) {
    if (!engine.hasUnannouncedCommit()) continue;
    engine.announceCommit();
    announced = true;
  }
  return announced;
}
