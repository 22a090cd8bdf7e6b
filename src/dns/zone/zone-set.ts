/** The zones a server answers for, picked by the longest matching suffix (like CoreDNS). */
import type { Zone } from "./zone.js";

export class ZoneSet {
  private readonly byApex = new Map<string, Zone>();

  constructor(zones: Zone[]) {
    for (const z of zones) this.byApex.set(z.apex, z);
  }

  get zones(): Zone[] {
    return [...this.byApex.values()];
  }

  /** The most specific zone containing `key` (lower case), or null. */
  find(key: string): Zone | null {
    let k = key;
    for (;;) {
      const z = this.byApex.get(k);
      if (z) return z;
      if (k === "") return null;
      const dot = k.indexOf(".");
      k = dot < 0 ? "" : k.slice(dot + 1);
    }
  }
}
