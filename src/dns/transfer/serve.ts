/**
 * The primary's side of zone transfers and signed queries:
 * - `answerSigned`: a query that carries TSIG is verified, answered through
 *   the chain like any other, and its answer signed with the same key; a bad
 *   signature gets NOTAUTH with the TSIG error (BADSIG, BADKEY, BADTIME).
 * - `answerTransfer`: AXFR and IXFR over TCP, for the clients a zone's
 *   `transfer.allow` lists (and, when the zone names a key, only when signed
 *   with it); anyone else gets REFUSED. Every message of the answer is signed
 *   when the query was.
 */
import type { AddressSet } from "../../core/cidr.js";
import { Flag, Opcode, RRType } from "../wire/constants.js";
import { DnsFormatError } from "../wire/errors.js";
import type { Message, Question } from "../wire/message.js";
import { decodeMessage } from "../wire/reader.js";
import { encodeMessage } from "../wire/writer.js";
import type { ZoneSet } from "../zone/zone-set.js";
import type { Journal } from "./journal.js";
import type { ReplayCache } from "./replay.js";
import {
  appendTsigError,
  findTsig,
  signMessage,
  TsigError,
  type TsigKey,
  type TsigRecord,
  verifyTsig,
} from "./tsig.js";
import { axfrRecords, ixfrRecords, transferMessages } from "./xfr.js";

export const IXFR = 251;
/** NOTAUTH (RFC 8945 §5.2: a TSIG failure; RFC 5936: not authoritative for the zone asked). */
export const NOTAUTH = 9;

/** Who may transfer one zone. */
export interface TransferPolicy {
  allow: AddressSet;
  /** The key a transfer must be signed with (lower case), or null. */
  tsig: string | null;
}

/** What the server knows for transfers and signed queries; swapped whole on reload. */
export interface TransferState {
  keys: ReadonlyMap<string, TsigKey>;
  /** By zone apex; a zone not here is transferred to no one. */
  policies: ReadonlyMap<string, TransferPolicy>;
  /** By zone apex: the differences kept for IXFR (they outlive reloads). */
  journals: ReadonlyMap<string, Journal>;
  /** MACs of signed transfer requests answered over TCP (they outlive reloads). */
  replays: ReplayCache;
}

/** The messages of a transfer's answer, in order, and what it came to. */
export interface TransferAnswer {
  messages: Buffer[];
  outcome: TransferOutcome;
}

/** What the primary process of a cluster decided for a worker's transfer (gate.ts). */
export type TransferVerdict = "ok" | "replayed" | "busy" | "unanswered";

/**
 * A transfer that passed this process's checks and waits for the primary's
 * verdict (workers): `hold` is what the primary checks, `decide` the answer
 * for its verdict.
 */
export interface TransferHold {
  hold: { key: string | null; mac: Buffer | null; expires: number };
  decide: (verdict: TransferVerdict) => TransferAnswer;
}

const BUSY = "too many zone transfers in progress (dns.transfersOut)";

/** What a transfer or a refused one came to, for logs and the inspector. */
export interface TransferOutcome {
  zone: string;
  kind: "axfr" | "ixfr" | "refused" | "notauth";
  /** For IXFR: answered with the whole zone because the journal did not reach back. */
  full: boolean;
  serial: number;
  records: number;
  messages: number;
  /** The key the query was signed with, or null. */
  key: string | null;
  /** Why it was refused (words for the log), or null. */
  reason: string | null;
  /** An IXFR asked over UDP: answered with the zone's SOA alone (RFC 1995 §2), the client goes on over TCP. */
  udp?: boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function errorAnswer(query: Message, rcode: number): Buffer {
  return encodeMessage({
    id: query.id,
    flags: Flag.QR | (query.flags & Flag.RD),
    opcode: query.opcode,
    rcode,
    questions: query.questions,
    answers: [],
    authority: [],
    additional: [],
  });
}

function question(query: Message): Question | null {
  return query.questions.length === 1 ? query.questions[0]! : null;
}

/** The message without its TSIG record (what the chain answers). */
function stripTsig(buf: Buffer, tsig: TsigRecord): Buffer {
  const out = Buffer.from(buf.subarray(0, tsig.start));
  out.writeUInt16BE(buf.readUInt16BE(10) - 1, 10);
  return out;
}

/** The answer to a signed query whose signature failed: NOTAUTH with the TSIG error (§5.2). */
function tsigFailure(buf: Buffer, tsig: TsigRecord, error: number, key: TsigKey | null, now: number): Buffer {
  let query: Message;
  try {
    query = decodeMessage(stripTsig(buf, tsig));
  } catch {
    query = {
      id: buf.readUInt16BE(0),
      flags: 0,
      opcode: 0,
      rcode: 0,
      questions: [],
      answers: [],
      authority: [],
      additional: [],
    };
  }
  const msg = errorAnswer(query, NOTAUTH);
  // BADTIME is signed (the client can check it); BADKEY and BADSIG cannot be.
  // RFC 8945 §5.2.3: the request's time and fudge, and the server's time as other data.
  if (error === TsigError.BADTIME && key !== null)
    return signMessage(msg, key, {
      now: tsig.timeSigned,
      fudge: tsig.fudge,
      priorMac: tsig.mac,
      error,
      serverTime: now,
    }).wire;
  return appendTsigError(msg, tsig, error, now);
}

/** What verifying a message's TSIG came to: none, a failure answer, or the key and request MAC. */
export type SignedQuery =
  | { kind: "unsigned" }
  | { kind: "failed"; answer: Buffer; outcome: TransferOutcome }
  | { kind: "signed"; query: Buffer; key: TsigKey; mac: Buffer; expires: number };

/** Reads and checks a query's TSIG (throws `DnsFormatError` for a malformed one). */
export function checkTsig(buf: Buffer, keys: ReadonlyMap<string, TsigKey>): SignedQuery {
  // Unsigned queries with no additional records are most; they skip the walk.
  if (buf.length < 12 || buf.readUInt16BE(10) === 0) return { kind: "unsigned" };
  const tsig = findTsig(buf);
  if (tsig === null) return { kind: "unsigned" };
  const now = nowSeconds();
  const v = verifyTsig(buf, tsig, keys, now);
  if (v.error !== TsigError.NOERROR) {
    let zone = "";
    try {
      zone = question(decodeMessage(stripTsig(buf, tsig)))?.name ?? "";
    } catch {}
    return {
      kind: "failed",
      answer: tsigFailure(buf, tsig, v.error, v.key, now),
      outcome: {
        zone,
        kind: "notauth",
        full: false,
        serial: 0,
        records: 0,
        messages: 1,
        key: tsig.keyName,
        reason: `TSIG ${TSIG_ERROR_NAMES[v.error] ?? v.error} for key ${tsig.keyName}`,
      },
    };
  }
  return {
    kind: "signed",
    query: stripTsig(buf, tsig),
    key: v.key!,
    mac: tsig.mac,
    expires: tsig.timeSigned + tsig.fudge,
  };
}

/** Signs an answer to a signed query. */
export function signAnswer(out: Buffer, s: { key: TsigKey; mac: Buffer }): Buffer {
  return signMessage(out, s.key, { now: nowSeconds(), priorMac: s.mac }).wire;
}

/** True for a query that asks for AXFR or IXFR (what `answerTransfer` takes over on TCP). */
export function isTransferQuery(buf: Buffer): boolean {
  const type = transferType(buf);
  return type === RRType.AXFR || type === IXFR;
}

/** The type of a query's one question (0 when it is not a one-question query with a plain name). */
export function transferType(buf: Buffer): number {
  if (buf.length < 17 || buf.readUInt16BE(4) !== 1 || (buf.readUInt16BE(2) & 0x8000) !== 0) return 0;
  // Skip the question name (uncompressed in a query's first name).
  let at = 12;
  while (at < buf.length && buf[at]! !== 0) {
    if ((buf[at]! & 0xc0) !== 0) return 0;
    at += buf[at]! + 1;
  }
  if (at + 3 > buf.length) return 0;
  return buf.readUInt16BE(at + 1);
}

/**
 * Answers AXFR or IXFR for `client`: the encoded messages to send, in order,
 * and what it came to. Null for input that is not a transfer query (the
 * normal path answers it, FORMERR included). `shared` (workers): a TCP
 * transfer that passes this process's checks is held for the primary's
 * verdict on replays and the transfer cap instead (`TransferHold`).
 */
export function answerTransfer(
  buf: Buffer,
  zones: ZoneSet,
  state: TransferState,
  client: string,
  udp?: boolean,
  busy?: boolean,
): TransferAnswer | null;
export function answerTransfer(
  buf: Buffer,
  zones: ZoneSet,
  state: TransferState,
  client: string,
  udp: boolean,
  busy: boolean,
  shared: boolean,
): TransferAnswer | TransferHold | null;
export function answerTransfer(
  buf: Buffer,
  zones: ZoneSet,
  state: TransferState,
  client: string,
  udp = false,
  busy = false,
  shared = false,
): TransferAnswer | TransferHold | null {
  let signed: SignedQuery;
  let query: Message;
  try {
    signed = checkTsig(buf, state.keys);
    if (signed.kind === "failed") return { messages: [signed.answer], outcome: signed.outcome };
    query = decodeMessage(signed.kind === "signed" ? signed.query : buf);
  } catch (err) {
    if (err instanceof DnsFormatError) return null;
    throw err;
  }
  const q = question(query);
  if (q === null || query.opcode !== Opcode.QUERY) return null;
  const keyName = signed.kind === "signed" ? signed.key.name : null;
  const sign = (msgs: Buffer[]): Buffer[] => {
    if (signed.kind !== "signed") return msgs;
    const out: Buffer[] = [];
    let prior = signed.mac;
    const now = nowSeconds();
    for (let i = 0; i < msgs.length; i++) {
      const s = signMessage(msgs[i]!, signed.key, { now, priorMac: prior, timersOnly: i > 0 });
      out.push(s.wire);
      prior = s.mac;
    }
    return out;
  };
  const refuse = (rcode: number, kind: "refused" | "notauth", reason: string) => ({
    messages: sign([errorAnswer(query, rcode)]),
    outcome: { zone: q.name, kind, full: false, serial: 0, records: 0, messages: 1, key: keyName, reason },
  });
  const apex = q.name.toLowerCase().replace(/\.$/, "");
  // Over UDP only the apex of a zone that someone may transfer is taken here; any other name goes the
  // normal way (the zone's answer, the forwarder, REFUSED for a transfer), as before.
  if (udp && (q.klass !== 1 || zones.find(apex)?.apex !== apex || !state.policies.has(apex))) return null;
  if (q.klass !== 1 /* IN */) return refuse(NOTAUTH, "notauth", "not a zone of class IN");
  const zone = zones.find(apex);
  if (zone === null || zone.apex !== apex) return refuse(NOTAUTH, "notauth", "not a zone served here");
  const policy = state.policies.get(apex);
  if (policy === undefined || !policy.allow.has(client))
    return refuse(5, "refused", `${client || "the client"} is not in the zone's transfer.allow`);
  if (policy.tsig !== null && keyName !== policy.tsig)
    return refuse(
      5,
      "refused",
      keyName === null
        ? `unsigned (the zone needs key ${policy.tsig})`
        : `signed with ${keyName}, not ${policy.tsig}`,
    );
  // A signed request over TCP that was answered before: refused (replay.ts).
  if (
    !udp &&
    signed.kind === "signed" &&
    state.replays.replayed(keyName!, signed.mac, signed.expires, nowSeconds())
  )
    return refuse(5, "refused", `a replayed request (key ${keyName}: this MAC was answered before)`);
  const build = (): TransferAnswer => {
    let records = axfrRecords(zone);
    let kind: "axfr" | "ixfr" = "axfr";
    let full = false;
    if (q.type === IXFR) {
      kind = "ixfr";
      const theirs = query.authority.find((r) => r.type === RRType.SOA && r.data.type === "soa");
      if (theirs === undefined || theirs.data.type !== "soa")
        return refuse(1, "refused", "IXFR without the client's SOA");
      if (udp) {
        // Over UDP: the current SOA alone, which RFC 1995 §2 allows whatever fits. A client that is
        // current learns it at once; one that is behind asks again over TCP (Knot, BIND and dig do).
        const serial = zone.soa.data.type === "soa" ? zone.soa.data.serial : 0;
        const answer = encodeMessage(transferMessages(query.id, q, [zone.soa])[0]!);
        return {
          messages: sign([answer]),
          outcome: {
            zone: zone.origin,
            kind,
            full: false,
            serial,
            records: 1,
            messages: 1,
            key: keyName,
            reason: null,
            udp: true,
          },
        };
      }
      const ix = ixfrRecords(zone, state.journals.get(apex), theirs.data.serial);
      records = ix.records;
      full = !ix.incremental;
    }
    const messages = sign(transferMessages(query.id, q, records).map((m) => encodeMessage(m)));
    const serial = zone.soa.data.type === "soa" ? zone.soa.data.serial : 0;
    return {
      messages,
      outcome: {
        zone: zone.origin,
        kind,
        full,
        serial,
        records: records.length,
        messages: messages.length,
        key: keyName,
        reason: null,
      },
    };
  };
  if (shared && !udp) {
    // Workers: the primary process decides replays and slots for all of them (gate.ts).
    const mac = signed.kind === "signed" ? signed.mac : null;
    const expires = signed.kind === "signed" ? signed.expires : 0;
    return {
      hold: { key: keyName, mac, expires },
      decide: (verdict) =>
        verdict === "ok"
          ? build()
          : verdict === "replayed"
            ? refuse(5, "refused", `a replayed request (key ${keyName}: this MAC was answered before)`)
            : verdict === "busy"
              ? refuse(5, "refused", BUSY)
              : refuse(2, "refused", "the primary process did not answer (workers)"),
    };
  }
  // Every transfer slot taken (dns.transfersOut): refused, after the checks, so only allowed clients hear it.
  if (busy && !udp) return refuse(5, "refused", BUSY);
  return build();
}

export const TSIG_ERROR_NAMES: Record<number, string> = {
  16: "BADSIG",
  17: "BADKEY",
  18: "BADTIME",
  22: "BADTRUNC",
};

/** Decides a NOTIFY for a zone: NOERROR (a refresh follows), REFUSED (not from its primary), NOTAUTH (not a secondary zone here). */
export type NotifyHandler = (zone: string, client: string, key: string | null) => number;

/**
 * Answers a NOTIFY (RFC 1996 §3.7): the question echoed, QR and AA set,
 * opcode NOTIFY, and the rcode `handler` decides. Null for input that does
 * not decode (dropped: a NOTIFY is retried by its sender).
 */
export function answerNotify(
  buf: Buffer,
  handler: NotifyHandler | null,
  client: string,
  key: string | null,
): Buffer | null {
  let query: Message;
  try {
    query = decodeMessage(buf);
  } catch {
    return null;
  }
  const q = question(query);
  const rcode =
    q === null || q.type !== RRType.SOA ? 1 : handler === null ? NOTAUTH : handler(q.name, client, key);
  return encodeMessage({
    id: query.id,
    flags: Flag.QR | Flag.AA,
    opcode: Opcode.NOTIFY,
    rcode,
    questions: query.questions,
    answers: [],
    authority: [],
    additional: [],
  });
}
