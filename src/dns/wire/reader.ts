/**
 * Strict, bounded DNS message decoding (RFC 1035 §4). Counts are checked
 * against the bytes present; every RDATA is checked against its length.
 */
import { DnsFormatError } from "./errors.js";
import type { Message, Question, Record } from "./message.js";
import { readName } from "./names.js";
import { decodeRData } from "./rdata.js";

/** Smallest possible question (root name + type + class) and record (root + 10 bytes). */
const MIN_QUESTION = 5;
const MIN_RECORD = 11;

/** Just the header, for answering FORMERR to a message whose body is broken. Null when even that is short. */
export function readHeader(
  buf: Buffer,
): { id: number; flags: number; opcode: number; qdcount: number } | null {
  if (buf.length < 12) return null;
  const word = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    flags: word & 0x87f0,
    opcode: (word >> 11) & 0xf,
    qdcount: buf.readUInt16BE(4),
  };
}

function readRecords(buf: Buffer, count: number, pos: number, out: Record[]): number {
  for (let i = 0; i < count; i++) {
    const n = readName(buf, pos);
    let p = n.next;
    if (p + 10 > buf.length) throw new DnsFormatError("record header runs past the end");
    const type = buf.readUInt16BE(p);
    const klass = buf.readUInt16BE(p + 2);
    const ttl = buf.readUInt32BE(p + 4);
    const rdlength = buf.readUInt16BE(p + 8);
    p += 10;
    if (p + rdlength > buf.length) throw new DnsFormatError("RDATA runs past the end");
    out.push({ name: n.name, type, klass, ttl, data: decodeRData(buf, type, p, p + rdlength) });
    pos = p + rdlength;
  }
  return pos;
}

/** Decodes a whole message. Throws `DnsFormatError` for anything malformed, including trailing bytes. */
export function decodeMessage(buf: Buffer): Message {
  const h = readHeader(buf);
  if (h === null) throw new DnsFormatError("message shorter than its header");
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  if (12 + qd * MIN_QUESTION + (an + ns + ar) * MIN_RECORD > buf.length) {
    throw new DnsFormatError("section counts exceed the message size");
  }
  const word = buf.readUInt16BE(2);
  const questions: Question[] = [];
  let pos = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(buf, pos);
    if (n.next + 4 > buf.length) throw new DnsFormatError("question runs past the end");
    questions.push({ name: n.name, type: buf.readUInt16BE(n.next), klass: buf.readUInt16BE(n.next + 2) });
    pos = n.next + 4;
  }
  const answers: Record[] = [];
  const authority: Record[] = [];
  const additional: Record[] = [];
  pos = readRecords(buf, an, pos, answers);
  pos = readRecords(buf, ns, pos, authority);
  pos = readRecords(buf, ar, pos, additional);
  if (pos !== buf.length) throw new DnsFormatError("trailing bytes after the last record");
  return {
    id: h.id,
    flags: word & 0x87f0,
    opcode: h.opcode,
    rcode: word & 0xf,
    questions,
    answers,
    authority,
    additional,
  };
}
