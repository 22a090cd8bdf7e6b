import type { Forwarder } from "../forward/forwarder.js";
import type { ZoneSet } from "../zone/zone-set.js";
import { buildChain, type QueryChain } from "./chain.js";
import { handleQuery, type QueryOutcome } from "./handle-query.js";
import { PacketCache } from "./packet-cache.js";

/** What the listeners share: the zones and their packet cache (swapped together on reload) and an optional query observer. */
export interface DnsServerState {
  zones: ZoneSet;
  cache: PacketCache;
  /** Where names outside the zones go; null answers them REFUSED. */
  forwarder: Forwarder | null;
  /** Zones then forwarder, built once from the two above (`setZones`, `setForwarder`). */
  chain: QueryChain;
  /** DNS-over-TCP limits (read per connection, so a reload applies to new ones). */
  tcp: { idleTimeout: number; messageTimeout: number; maxConnections: number };
  onQuery:
    | ((o: QueryOutcome, client: string, transport: "udp" | "tcp" | "doh" | "dot", ms: number) => void)
    | null;
}

/** A state for `zones` with no forwarder and no observer (`setForwarder` adds one). */
export function createState(zones: ZoneSet, tcp: DnsServerState["tcp"]): DnsServerState {
  return {
    zones,
    cache: new PacketCache(),
    forwarder: null,
    chain: buildChain(zones, null),
    tcp,
    onQuery: null,
  };
}

/** Swaps in new zones with a fresh packet cache. */
export function setZones(state: DnsServerState, zones: ZoneSet): void {
  state.zones = zones;
  state.cache = new PacketCache();
  state.chain = buildChain(zones, state.forwarder);
}

/** Swaps in a new forwarder (or none). */
export function setForwarder(state: DnsServerState, forwarder: Forwarder | null): void {
  state.forwarder = forwarder;
  state.chain = buildChain(state.zones, forwarder);
}

/**
 * Answers one query through the packet cache (zone answers only: forwarded
 * answers age with their TTLs). `report` sees the outcome of every answered query.
 */
export function answerQuery(
  buf: Buffer,
  state: DnsServerState,
  udp: boolean,
  report?: (o: QueryOutcome) => void,
): Buffer | null | Promise<Buffer | null> {
  const key = PacketCache.key(buf);
  if (key !== null) {
    const hit = state.cache.get(key, udp, buf.readUInt16BE(0));
    if (hit) {
      if (report && hit.outcome) report(hit.outcome);
      return hit.wire;
    }
  }
  let outcome: QueryOutcome | null = null;
  const out = handleQuery(buf, state.chain, udp, (o) => {
    outcome = o;
    report?.(o);
  });
  if (out instanceof Promise) return out;
  // Only well-formed queries answered from a zone are cached (never drops or FORMERR of broken input).
  const o = outcome as QueryOutcome | null;
  if (out !== null && key !== null && o !== null && o.source === "zone") state.cache.set(key, udp, out, o);
  return out;
}
