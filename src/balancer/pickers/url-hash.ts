import { murmur3String } from '../hashing/murmur3.js';
import type { BalanceRequest } from '../types.js';
import { type ConsistentHashOptions, ConsistentHashPicker } from './consistent-hash-picker.js';
import type { PickerContext } from './picker.js';

const URL_SEED = 0x55524c31; // "URL1"

/** The hash url-hash uses: of `request.key`, else of `request.path`; null when the request has neither. */
export function urlHash(request: BalanceRequest): number | null {
  const text = request.key ?? request.path;
  return text === undefined ? null : murmur3String(text, URL_SEED);
}

/**
 * url-hash: the same key always goes to the same host (while it is a candidate), so each host's cache holds
 * its own slice of the keys. Consistent hashing (rendezvous or Maglev) keeps that mapping through membership
 * and health changes, moving little more than the keys of the host that came or went.
 */
export function createUrlHashPicker(
  context: Pick<PickerContext, 'random' | 'configuredHostCount'>,
  options: ConsistentHashOptions = {},
): ConsistentHashPicker {
  return new ConsistentHashPicker('url-hash', urlHash, context, options);
}
