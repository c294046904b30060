/** One zone's capacity, as the zone-aware picker sees it. */
export interface ZoneCapacity {
  /** Unique key of the zone (region and zone name together). */
  readonly key: string;
  readonly region: string;
  /** Σ weight of all configured hosts in the zone: stands for the demand its clients bring. */
  readonly configuredWeight: number;
  /** Σ weight of the zone's candidate (healthy) hosts: what it can serve. */
  readonly healthyWeight: number;
}

/** Share of one client zone's requests that goes to each zone (the shares sum to 1). */
export type ZoneRouting = ReadonlyArray<{ readonly key: string; readonly share: number }>;

/**
 * Where requests from the client zone `localKey` should go — Envoy's zone-aware routing, with the clients
 * assumed to be spread over zones like the configured capacity (demand share d_z = configured_z / Σ
 * configured; capacity share c_z = healthy_z / Σ healthy):
 *
 * - c_local ≥ d_local: the local zone can absorb its clients' traffic, so all of it stays local.
 * - otherwise c_local / d_local stays local and the rest spills to zones with spare capacity (c_z > d_z), in
 *   proportion to that spare: first to zones of the same region, as far as the region's spare covers the
 *   region's deficits, and only what is left to other regions (in proportion to the spare they keep after
 *   serving their own region).
 *
 * If every zone lost capacity in equal measure nothing moves; if one zone lost half its hosts, half its
 * traffic moves — and with clients spread as assumed every healthy host ends up equally loaded.
 * A client zone with no configured hosts gets no locality: its traffic is spread by healthy capacity over its
 * region if that has any, else over every zone. Returns [] when nothing is healthy.
 */
export function zoneRouting(
  zones: readonly ZoneCapacity[],
  localKey: string | null,
  localRegion: string | null,
): ZoneRouting {
  let totalConfigured = 0;
  let totalHealthy = 0;
  for (const zone of zones) {
    totalConfigured += zone.configuredWeight;
    totalHealthy += zone.healthyWeight;
  }
  if (totalHealthy <= 0) return [];
  const local = localKey === null ? undefined : zones.find((zone) => zone.key === localKey);
  if (!local || local.configuredWeight <= 0) {
    const inRegion = zones.filter((zone) => zone.region === localRegion && zone.healthyWeight > 0);
    return proportional(inRegion.length > 0 ? inRegion : zones, (zone) => zone.healthyWeight);
  }
  const demand = (zone: ZoneCapacity) => zone.configuredWeight / totalConfigured;
  const capacity = (zone: ZoneCapacity) => zone.healthyWeight / totalHealthy;
  const spare = (zone: ZoneCapacity) => Math.max(0, capacity(zone) - demand(zone));
  const deficit = (zone: ZoneCapacity) => Math.max(0, demand(zone) - capacity(zone));

  const keep = Math.min(1, capacity(local) / demand(local));
  if (keep >= 1) return [{ key: local.key, share: 1 }];

  const regionSpare = new Map<string, number>();
  const regionDeficit = new Map<string, number>();
  for (const zone of zones) {
    regionSpare.set(zone.region, (regionSpare.get(zone.region) ?? 0) + spare(zone));
    regionDeficit.set(zone.region, (regionDeficit.get(zone.region) ?? 0) + deficit(zone));
  }
  // The share of a region's deficits its own spare can cover.
  const coveredInRegion = (region: string) => {
    const need = regionDeficit.get(region) ?? 0;
    return need > 0 ? Math.min(1, (regionSpare.get(region) ?? 0) / need) : 0;
  };
  // What a zone has left to give other regions once its own region's deficits are served.
  const leftover = (zone: ZoneCapacity) => {
    const have = regionSpare.get(zone.region) ?? 0;
    const need = regionDeficit.get(zone.region) ?? 0;
    return have > 0 ? spare(zone) * Math.max(0, 1 - need / have) : 0;
  };

  const spilled = 1 - keep;
  const inRegionShare = spilled * coveredInRegion(local.region);
  const crossRegionShare = spilled - inRegionShare;
  const sameRegion = zones.filter((zone) => zone !== local && zone.region === local.region);
  const otherRegions = zones.filter((zone) => zone.region !== local.region);

  const shares = new Map<string, number>([[local.key, keep]]);
  const add = (routing: ZoneRouting, scale: number) => {
    for (const { key, share } of routing) shares.set(key, (shares.get(key) ?? 0) + share * scale);
  };
  // Whatever the spare arithmetic cannot place (rounding, or no spare anywhere) goes by healthy capacity,
  // and if there is no healthy capacity elsewhere at all, it stays local.
  const place = (share: number, first: ZoneRouting, ...fallbacks: ZoneRouting[]) => {
    if (share <= 0) return;
    for (const routing of [first, ...fallbacks]) {
      if (routing.length > 0) return add(routing, share);
    }
    add([{ key: local.key, share: 1 }], share);
  };
  const elsewhere = zones.filter((zone) => zone !== local);
  place(
    inRegionShare,
    proportional(sameRegion, spare),
    proportional(elsewhere, spare),
    proportional(elsewhere, (z) => z.healthyWeight),
  );
  place(
    crossRegionShare,
    proportional(otherRegions, leftover),
    proportional(otherRegions, spare),
    proportional(elsewhere, spare),
    proportional(elsewhere, (z) => z.healthyWeight),
  );
  return [...shares].filter(([, share]) => share > 0).map(([key, share]) => ({ key, share }));
}

/** Shares proportional to `amount` over the zones with a positive amount; [] if none has any. */
function proportional(zones: readonly ZoneCapacity[], amount: (zone: ZoneCapacity) => number): ZoneRouting {
  let total = 0;
  for (const zone of zones) total += Math.max(0, amount(zone));
  if (total <= 0) return [];
  return zones.filter((zone) => amount(zone) > 0).map((zone) => ({ key: zone.key, share: amount(zone) / total }));
}
