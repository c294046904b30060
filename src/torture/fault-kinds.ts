import { TortureError } from './errors.js';

/**
 * Every fault the harness can inject, by name. `--faults` takes these names, family names (which expand to their
 * members), `all` or `none`.
 */
export const FAULT_KINDS = [
  'kill-leader',
  'kill-node',
  'kill-minority',
  'pause-short',
  'pause-long',
  'isolate-leader',
  'isolate-node',
  'split',
  'oneway',
  'bridge',
  'latency',
  'slow-fsync',
  'membership',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** Families: `kill`, `pause`, `partition`, ... expand to these kinds. */
export const FAULT_FAMILIES: Readonly<Record<string, readonly FaultKind[]>> = {
  kill: ['kill-leader', 'kill-node', 'kill-minority'],
  pause: ['pause-short', 'pause-long'],
  partition: ['isolate-leader', 'isolate-node', 'split', 'oneway', 'bridge'],
  network: ['isolate-leader', 'isolate-node', 'split', 'oneway', 'bridge', 'latency'],
  disk: ['slow-fsync'],
  'slow-disk': ['slow-fsync'],
  all: FAULT_KINDS,
  none: [],
};

/** Which fault the plan may choose, from a comma-separated list of kinds and families. */
export function parseFaultKinds(text: string): FaultKind[] {
  const chosen = new Set<FaultKind>();
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new TortureError('INVALID_OPTION', '--faults is empty (use "none" for no faults)');
  for (const name of names) {
    const family = FAULT_FAMILIES[name];
    if (family) {
      for (const kind of family) chosen.add(kind);
    } else if ((FAULT_KINDS as readonly string[]).includes(name)) {
      chosen.add(name as FaultKind);
    } else {
      throw new TortureError(
        'INVALID_OPTION',
        `unknown fault "${name}": use ${[...Object.keys(FAULT_FAMILIES), ...FAULT_KINDS].join(', ')}`,
      );
    }
  }
  return FAULT_KINDS.filter((k) => chosen.has(k));
}
