import { encodeConfChange } from '../consensus/conf-change-codec.js';
import type { Entry, HardState, NodeId } from '../consensus/types.js';

/**
 * The initial log of a brand-new cluster, identical on every founding member: one committed membership entry per
 * founding voter (each a simple change, so no joint configuration is needed to start). Putting the founding
 * configuration in the log, not only in local state, lets members added later learn it by replication.
 */
export function bootstrapLog(voters: readonly NodeId[]): { entries: Entry[]; hardState: HardState } {
  if (voters.length === 0) throw new Error('bootstrap needs at least one voter');
  const sorted = [...new Set(voters)].sort();
  const entries: Entry[] = sorted.map((node, i) => ({
    term: 1,
    index: i + 1,
    type: 'confChange',
    data: encodeConfChange({ changes: [{ type: 'addVoter', node }] }),
  }));
  return { entries, hardState: { term: 1, vote: null, commit: entries.length } };
}
