import { parseIpAddress } from '../hashing/ip-address.js';
import { murmur3Bytes, murmur3String } from '../hashing/murmur3.js';
import type { BalanceRequest } from '../types.js';
import { type ConsistentHashOptions, ConsistentHashPicker } from './consistent-hash-picker.js';
import type { PickerContext } from './picker.js';

const IP_SEED = 0x49504831; // "IPH1"

/**
 * The hash ip-hash uses: of the client address's canonical bytes — all 4 of IPv4 or all 16 of IPv6 (nginx's
 * ip_hash only uses the first three octets, which sends a whole /24 to one host). Different spellings of one
 * address hash alike; text that is no IP address is hashed as given. Null when the request has no address.
 */
export function ipHash(request: BalanceRequest): number | null {
  const address = request.clientAddress;
  if (address === undefined) return null;
  const bytes = parseIpAddress(address);
  return bytes ? murmur3Bytes(bytes, IP_SEED) : murmur3String(address.trim().toLowerCase(), IP_SEED);
}

/** ip-hash: each client sticks to one host (session affinity) through the same consistent-hash machinery. */
export function createIpHashPicker(
  context: Pick<PickerContext, 'random' | 'configuredHostCount'>,
  options: ConsistentHashOptions = {},
): ConsistentHashPicker {
  return new ConsistentHashPicker('ip-hash', ipHash, context, options);
}
