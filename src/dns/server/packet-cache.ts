/**
 * A packet cache: the encoded answer to a query, keyed by every byte of the
 * query but its ID (question as sent, flags, EDNS). An authoritative answer
 * depends on nothing else, so a hit is the same answer without decoding or
 * encoding anything. A new cache comes with every zone (re)load; it is bounded.
 */
import type { QueryOutcome } from "./handle-query.js";

interface Cached {
  wire: Buffer;
  outcome: QueryOutcome | null;
}

/** Queries longer than this are not cached (they carry options such as cookies that rarely repeat). */
const MAX_KEY = 300;

export class PacketCache {
  private readonly udp = new Map<string, Cached>();
  private readonly tcp = new Map<string, Cached>();
  private readonly max: number;

  constructor(maxEntries = 20_000) {
    this.max = maxEntries;
  }

  /** The key of a query, or null when it should not be cached. */
  static key(query: Buffer): string | null {
    return query.length <= MAX_KEY && query.length > 12 ? query.toString("latin1", 2) : null;
  }

  /** A copy of the cached answer with the query's ID, or null. */
  get(key: string, udp: boolean, id: number): { wire: Buffer; outcome: QueryOutcome | null } | null {
    const hit = (udp ? this.udp : this.tcp).get(key);
    if (hit === undefined) return null;
    const wire = Buffer.allocUnsafe(hit.wire.length);
    hit.wire.copy(wire);
    wire.writeUInt16BE(id, 0);
    return { wire, outcome: hit.outcome };
  }

  set(key: string, udp: boolean, wire: Buffer, outcome: QueryOutcome | null): void {
    const map = udp ? this.udp : this.tcp;
    if (map.size >= this.max) map.clear();
    map.set(key, { wire: Buffer.from(wire), outcome });
  }
}
