import { zonesOf as catalogZonesOf } from "./config/catalog";

/**
 * Zones of a region that regional instance groups, GKE node pools and zonal resources spread over (GCP picks up to
 * three for a regional managed instance group), from the catalog of Google's published zone lists
 * (data/gcp-catalog.json): not always a, b, c (us-central1 has f, europe-west1 b, c, d).
 */
export function zonesOf(region: string): string[] {
  return catalogZonesOf(region);
}

/** The (up to) three zones a regional group spreads over: the first three of the region. */
export const spreadZones = (region: string): string[] => zonesOf(region).slice(0, 3);

/** The single VM's default zone: -b exists in every region (europe-west1 has b, c, d; not a). */
export const defaultVmZone = (region: string): string => `${region}-b`;
