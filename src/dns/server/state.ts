import type { Forwarder } from "../forward/forwarder.js";
import type { TransferGate } from "../transfer/gate.js";
import { ReplayCache } from "../transfer/replay.js";
import {
  answerNotify,
  answerTransfer,
  checkTsig,
  IXFR,
  type NotifyHandler,
  type SignedQuery,
  signAnswer,
  type TransferAnswer,
  type TransferOutcome,
  type TransferState,
  transferType,
} from "../transfer/serve.js";
import { tsigSize } from "../transfer/tsig.js";
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
  tcp: { idleTimeout: number; messageTimeout: number; maxConnections: number; maxTransfers: number };
  /** Zone transfers over TCP whose messages are still queued for their clients (at most `tcp.maxTransfers`). */
  transfersOut: number;
  /** With workers, the primary's say on replays and the transfer cap for all of them (transfer/gate.ts); null alone. */
  transferGate: TransferGate | null;
  onQuery:
    | ((o: QueryOutcome, client: string, transport: "udp" | "tcp" | "doh" | "dot", ms: number) => void)
    | null;
  /** TSIG keys, who may transfer which zone, and the IXFR journals. */
  transfer: TransferState;
  /** Sees every transfer (served or refused) and every failed TSIG check. */
  onTransfer: ((o: TransferOutcome, client: string, ms: number) => void) | null;
  /** Decides NOTIFY messages (secondary zones); null: every NOTIFY gets NOTAUTH. */
  onNotify: NotifyHandler | null;
}

const UNSIGNED: SignedQuery = { kind: "unsigned" };

/** A state for `zones` with no forwarder and no observer (`setForwarder` adds one). */
export function createState(zones: ZoneSet, tcp: DnsServerState["tcp"]): DnsServerState {
  return {
    zones,
    cache: new PacketCache(),
    forwarder: null,
    chain: buildChain(zones, null),
    tcp,
    transfersOut: 0,
    transferGate: null,
    onQuery: null,
    transfer: { keys: new Map(), policies: new Map(), journals: new Map(), replays: new ReplayCache() },
    onTransfer: null,
    onNotify: null,
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

/** A transfer (or its refusal) as the query it answered, for the query counters and the inspector. */
export function transferAsQuery(t: TransferAnswer, type: number): QueryOutcome {
  const flags = t.messages[0]!.readUInt16BE(2);
  return {
    name: t.outcome.zone,
    type,
    rcode: flags & 0xf,
    flags,
    answers: t.outcome.records,
    truncated: false,
    source: "zone",
    records: [],
  };
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
  client = "",
): Buffer | null | Promise<Buffer | null> {
  // An IXFR over UDP is answered by the transfer code (who may ask, TSIG), before the packet cache.
  if (udp && transferType(buf) === IXFR) {
    const t = answerTransfer(buf, state.zones, state.transfer, client, true);
    if (t !== null) {
      state.onTransfer?.(t.outcome, client, 0);
      // Counted among the queries too, as the TCP path counts its transfers.
      report?.(transferAsQuery(t, IXFR));
      return t.messages[0]!;
    }
  }
  const key = PacketCache.key(buf);
  if (key !== null) {
    const hit = state.cache.get(key, udp, buf.readUInt16BE(0));
    if (hit) {
      if (report && hit.outcome) report(hit.outcome);
      return hit.wire;
    }
  }
  // Responses are never answered (handleQuery drops them too): a forged response with a bad TSIG must
  // not get a NOTAUTH that another server answers in turn, for ever.
  if (buf.length < 12 || (buf[2]! & 0x80) !== 0) return null;
  // A signed query (never in the packet cache: its time and MAC never repeat) is verified and its answer signed.
  let signed = UNSIGNED;
  if (buf.length >= 12 && buf.readUInt16BE(10) !== 0) {
    try {
      signed = checkTsig(buf, state.transfer.keys);
    } catch {
      signed = UNSIGNED; // a malformed TSIG record: the message is answered as the decoder finds it
    }
  }
  if (signed.kind === "failed") {
    state.onTransfer?.(signed.outcome, client, 0);
    return signed.answer;
  }
  // NOTIFY (opcode 4, not a response): a secondary zone's primary says there is a new serial.
  const plain = signed.kind === "signed" ? signed.query : buf;
  if (plain.length >= 12 && (plain[2]! & 0xf8) === 0x20) {
    const out = answerNotify(
      plain,
      state.onNotify,
      client,
      signed.kind === "signed" ? signed.key.name : null,
    );
    return out !== null && signed.kind === "signed" ? signAnswer(out, signed) : out;
  }
  if (signed.kind === "signed") {
    // Room for the TSIG record on TCP too: a signed answer must still fit a 65,535-byte TCP message.
    const out = handleQuery(signed.query, state.chain, udp, report, tsigSize(signed.key));
    if (out instanceof Promise) return out.then((b) => b && signAnswer(b, signed));
    return out && signAnswer(out, signed);
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
