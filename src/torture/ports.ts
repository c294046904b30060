import { freePortBase, NoFreePortError } from '../util/free-ports.js';
import { TortureError } from './errors.js';

export { ephemeralRangeStart } from '../util/free-ports.js';

/**
 * A port that is free on `host` now and below the ephemeral range (see src/util/free-ports.ts for why), not one
 * of `taken`; `random` in [0, 1) picks candidates. Throws TortureError NO_FREE_PORT.
 */
export async function reservePort(
  host: string,
  random: () => number,
  taken: ReadonlySet<number> = new Set(),
): Promise<number> {
  try {
    return await freePortBase(host, [0], random, taken);
  } catch (error) {
    if (error instanceof NoFreePortError) throw new TortureError('NO_FREE_PORT', error.message);
    throw error;
  }
}
