import type { ZoneSet } from "../zone/zone-set.js";
import type { QueryOutcome } from "./handle-query.js";

/** What the listeners share: the zones (swapped on reload) and an optional query observer. */
export interface DnsServerState {
  zones: ZoneSet;
  tcpIdleTimeout: number;
  onQuery: ((o: QueryOutcome, client: string, transport: "udp" | "tcp", ms: number) => void) | null;
}
