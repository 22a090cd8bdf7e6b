/**
 * One DNS query in, one response out (or nothing, for input that is not a
 * query at all). The same function serves UDP, TCP and DNS-over-HTTPS.
 */
import { Flag, Opcode, Rcode, RRType } from "../wire/constants.js";
import { DnsFormatError } from "../wire/errors.js";
import type { Message, Question, Record } from "../wire/message.js";
import { readName } from "../wire/names.js";
import { decodeMessage, readHeader } from "../wire/reader.js";
import { encodeMessage } from "../wire/writer.js";
import type { AnswerSource, QueryChain } from "./chain.js";

/** The UDP payload size Ferry advertises and uses at most (the DNS flag day 2020 value). */
export const MAX_UDP_PAYLOAD = 1232;

/** What the handler reports about a query, for logs and the inspector. */
export interface QueryOutcome {
  name: string;
  type: number;
  rcode: number;
  flags: number;
  answers: number;
  truncated: boolean;
  /** Where the answer came from: a zone (or a refusal), the forwarder's cache, or an upstream. */
  source: AnswerSource;
  /** The answer section as sent (a reference, nothing copied), for the inspector's summary. */
  records: readonly Record[];
}

function reply(id: number, flags: number, opcode: number, rcode: number): Message {
  return {
    id,
    flags: Flag.QR | (flags & (Flag.RD | Flag.CD)),
    opcode,
    rcode,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
}

/**
 * Answers a query through `chain` (zones, then forwarder). `udp` selects the size rules (512 without
 * EDNS, otherwise min(client, 1232)); TCP answers are never truncated.
 * Returns null for input that must be dropped (no header, or not a query).
 * `reserve`: bytes of the size limit kept for a TSIG record signed on afterwards.
 */
export function handleQuery(
  buf: Buffer,
  chain: QueryChain,
  udp: boolean,
  outcome?: (o: QueryOutcome) => void,
  reserve = 0,
): Buffer | null | Promise<Buffer | null> {
  const h = readHeader(buf);
  if (h === null || (h.flags & Flag.QR) !== 0) return null;
  let msg: Message;
  try {
    msg = decodeMessage(buf);
  } catch (err) {
    if (!(err instanceof DnsFormatError)) throw err;
    return formatError(buf, h);
  }
  const res = reply(msg.id, msg.flags, msg.opcode, Rcode.NOERROR);
  res.questions = msg.questions;
  const opts = msg.additional.filter((r) => r.type === RRType.OPT);
  if (opts.length > 1 || (opts.length === 1 && opts[0]!.name !== "")) {
    res.rcode = Rcode.FORMERR;
    return encodeMessage(res);
  }
  const opt = opts[0];
  let maxSize = udp ? 512 : 65535;
  if (opt) {
    const version = (opt.ttl >>> 16) & 0xff;
    const doBit = opt.ttl & 0x8000;
    const responseOpt: Record = {
      name: "",
      type: RRType.OPT,
      klass: MAX_UDP_PAYLOAD,
      ttl: doBit,
      data: { type: "opt", options: [] },
    };
    res.additional = [responseOpt];
    if (version > 0) {
      // BADVERS = 16: the upper 8 bits go in the OPT TTL, the lower 4 in the header (RFC 6891 §6.1.3).
      responseOpt.ttl = ((Rcode.BADVERS >> 4) << 24) | doBit;
      res.rcode = Rcode.BADVERS & 0xf;
      return encodeMessage(res);
    }
    if (udp) maxSize = Math.max(512, Math.min(opt.klass, MAX_UDP_PAYLOAD));
  }
  // Room kept for what is appended after encoding (a TSIG record).
  if (reserve > 0) maxSize = Math.max(maxSize - reserve, 64);
  if (msg.opcode !== Opcode.QUERY) {
    res.rcode = Rcode.NOTIMP;
    return encodeMessage(res);
  }
  if (msg.questions.length !== 1) {
    // RFC 9619: a query has exactly one question. (Knot drops these; Ferry says FORMERR.)
    res.questions = [];
    res.rcode = Rcode.FORMERR;
    return encodeMessage(res);
  }
  const q = msg.questions[0]!;
  for (const step of chain) {
    const source = step(q, res);
    if (source === null) continue;
    if (typeof source === "string") return finishAnswer(res, q, maxSize, source, outcome);
    return source.then((s) => finishAnswer(res, q, maxSize, s, outcome));
  }
  throw new Error("a DNS chain ends with a step that always answers");
}

function finishAnswer(
  res: Message,
  q: Question,
  maxSize: number,
  source: QueryOutcome["source"],
  outcome?: (o: QueryOutcome) => void,
): Buffer {
  const out = encodeMessage(res, maxSize);
  outcome?.({
    name: q.name,
    type: q.type,
    rcode: res.rcode,
    flags: out.readUInt16BE(2),
    answers: out.readUInt16BE(6),
    truncated: (out.readUInt16BE(2) & Flag.TC) !== 0,
    source,
    records: res.answers,
  });
  return out;
}

/**
 * A message that does not decode: FORMERR echoing its question when that much
 * is readable, otherwise nothing (as Knot does: an unreadable question is dropped).
 */
function formatError(buf: Buffer, h: NonNullable<ReturnType<typeof readHeader>>): Buffer | null {
  const res = reply(h.id, h.flags, h.opcode, Rcode.FORMERR);
  if (h.qdcount === 1) {
    try {
      const n = readName(buf, 12);
      if (n.next + 4 > buf.length) return null;
      res.questions = [{ name: n.name, type: buf.readUInt16BE(n.next), klass: buf.readUInt16BE(n.next + 2) }];
    } catch {
      return null;
    }
  }
  return encodeMessage(res);
}
