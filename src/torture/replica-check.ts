import type { ChecksumAnswer } from './admin-http.js';

/** Whether every replica holds identical data. */
export interface ReplicaCheck {
  /** `identical`: every member answered at one applied index with one checksum. */
  readonly verdict: 'identical' | 'different' | 'not-compared';
  /** The applied index and revision they were compared at. */
  readonly applied: number | null;
  readonly revision: number | null;
  /** Per node: applied index, revision, checksum (null: no answer). */
  readonly nodes: Readonly<Record<string, ChecksumAnswer | null>>;
  readonly detail: string;
}

/**
 * Compares one round of checksum answers. Identical only when every member answered, all at the same applied
 * index (replicas at different indexes may legitimately differ) with the same checksum; `null` when they are
 * not all at one index yet (poll again).
 */
export function compareChecksums(
  answers: ReadonlyMap<string, ChecksumAnswer | null>,
  minRevision = 0,
): ReplicaCheck | null {
  const nodes = Object.fromEntries(answers);
  const got = [...answers.values()];
  if (got.length === 0 || got.some((a) => a === null)) return null;
  const present = got as ChecksumAnswer[];
  const applied = present[0]!.applied;
  if (present.some((a) => a.applied !== applied || a.revision < minRevision)) return null;
  const sums = new Set(present.map((a) => a.checksum));
  const revision = present[0]!.revision;
  if (sums.size === 1) {
    return {
      verdict: 'identical',
      applied,
      revision,
      nodes,
      detail: `${present.length} replicas identical at applied index ${applied} (revision ${revision})`,
    };
  }
  const groups = new Map<string, string[]>();
  for (const [name, a] of answers) groups.set(a!.checksum, [...(groups.get(a!.checksum) ?? []), name]);
  const text = [...groups.entries()].map(([sum, names]) => `${names.join(',')}=${sum.slice(0, 12)}`).join(' vs ');
  return {
    verdict: 'different',
    applied,
    revision,
    nodes,
    detail: `replicas DIFFER at applied index ${applied}: ${text}`,
  };
}
