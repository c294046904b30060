import { Packr } from 'msgpackr';
import { ConsensusError } from './errors.js';
import type { ConfChange, ConfChangeSingle, ConfChangeType } from './types.js';

const packr = new Packr({ useRecords: false });
const CHANGE_TYPES: ReadonlySet<string> = new Set<ConfChangeType>(['addVoter', 'removeVoter', 'addLearner']);
const TRANSITIONS: ReadonlySet<string> = new Set(['auto', 'joint', 'explicit']);

/** Encodes a membership change as the data of a `confChange` log entry. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  validateConfChange(change);
  return packr.pack({ changes: change.changes, transition: change.transition, context: change.context });
}

/** Decodes and validates the data of a `confChange` entry; throws INVALID_CONF_CHANGE on garbage. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let raw: unknown;
  try {
    raw = packr.unpack(data);
  } catch (error) {
    throw new ConsensusError('INVALID_CONF_CHANGE', `undecodable membership change: ${String(error)}`);
  }
  const change = raw as ConfChange;
  validateConfChange(change);
  const context = change.context === undefined || change.context === null ? undefined : new Uint8Array(change.context);
  return {
    changes: change.changes.map((c) => ({ type: c.type, node: c.node })),
    ...(change.transition === undefined || change.transition === null ? {} : { transition: change.transition }),
    ...(context === undefined ? {} : { context }),
  };
}

export function validateConfChange(change: ConfChange): void {
  if (typeof change !== 'object' || change === null || !Array.isArray(change.changes)) {
    throw new ConsensusError('INVALID_CONF_CHANGE', 'a membership change needs a list of changes');
  }
  for (const c of change.changes as ConfChangeSingle[]) {
    if (typeof c !== 'object' || c === null || !CHANGE_TYPES.has(c.type)) {
      throw new ConsensusError('INVALID_CONF_CHANGE', `unknown membership change type ${JSON.stringify(c?.type)}`);
    }
    if (typeof c.node !== 'string' || c.node.length === 0) {
      throw new ConsensusError('INVALID_CONF_CHANGE', 'a membership change needs a node id');
    }
  }
  if (change.transition !== undefined && change.transition !== null && !TRANSITIONS.has(change.transition)) {
    throw new ConsensusError('INVALID_CONF_CHANGE', `unknown transition ${JSON.stringify(change.transition)}`);
  }
}
