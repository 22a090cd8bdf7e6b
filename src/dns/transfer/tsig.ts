/**
 * TSIG (RFC 8945): HMAC signatures on DNS messages with a shared key. A
 * signed message ends with one TSIG record (type 250, class ANY, TTL 0) whose
 * MAC covers the message as it was before the record was added (its original
 * ID, ARCOUNT one less) and the TSIG variables. A response's MAC also covers
 * the request's MAC; on TCP each later message of a multi-message answer
 * covers the previous message's MAC and the timers only (§5.3.1).
 *
 * Pure functions over Buffers: verification answers the TSIG error code
 * (BADSIG, BADKEY, BADTIME) and the server decides what to send back.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { DnsFormatError } from "../wire/errors.js";
import { nameToLabels, readName } from "../wire/names.js";

export const TSIG_TYPE = 250;
const CLASS_ANY = 255;

/** TSIG error codes (RFC 8945 §3, §5.2). */
export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** The algorithms Ferry signs and verifies with: their names on the wire → node's digest names. */
const ALGORITHMS = new Map<string, string>([
  ["hmac-md5.sig-alg.reg.int", "md5"],
  ["hmac-sha1", "sha1"],
  ["hmac-sha224", "sha224"],
  ["hmac-sha256", "sha256"],
  ["hmac-sha384", "sha384"],
  ["hmac-sha512", "sha512"],
]);

/** The algorithm names a config may give (`hmac-md5` is short for its long wire name). */
export const TSIG_ALGORITHMS = [
  "hmac-md5",
  "hmac-sha1",
  "hmac-sha224",
  "hmac-sha256",
  "hmac-sha384",
  "hmac-sha512",
];

export interface TsigKey {
  /** Lower case, no trailing dot. */
  name: string;
  /** The wire name: `hmac-sha256`, or `hmac-md5.sig-alg.reg.int`. */
  algorithm: string;
  secret: Buffer;
}

/** A key from config words: name, algorithm (`hmac-sha256` …) and the base64 secret. */
export function tsigKey(name: string, algorithm: string, secretBase64: string): TsigKey {
  const alg = algorithm.toLowerCase() === "hmac-md5" ? "hmac-md5.sig-alg.reg.int" : algorithm.toLowerCase();
  if (!ALGORITHMS.has(alg)) throw new RangeError(`unknown TSIG algorithm ${algorithm}`);
  return {
    name: name.toLowerCase().replace(/\.$/, ""),
    algorithm: alg,
    secret: Buffer.from(secretBase64, "base64"),
  };
}

/** A TSIG record as read from the end of a message. */
export interface TsigRecord {
  /** Offset of the record in the message: what precedes it is what was signed. */
  start: number;
  keyName: string;
  algorithm: string;
  /** Seconds since the epoch. */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

/** Canonical wire form of a name (RFC 4034 §6.2: lower case, uncompressed). */
function canonicalName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const l of nameToLabels(name)) {
    const lower = Buffer.from(l);
    for (let i = 0; i < lower.length; i++)
      if (lower[i]! >= 65 && lower[i]! <= 90) lower[i] = lower[i]! | 0x20;
    parts.push(Buffer.from([lower.length]), lower);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function skipName(buf: Buffer, at: number): number {
  return readName(buf, at).next;
}

/**
 * The TSIG record of a message, or null when it has none. Throws
 * `DnsFormatError` when a TSIG record is anywhere but last in the additional
 * section, or is malformed.
 */
export function findTsig(buf: Buffer): TsigRecord | null {
  if (buf.length < 12) return null;
  const qd = buf.readUInt16BE(4);
  const total = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  let at = 12;
  for (let i = 0; i < qd; i++) at = skipName(buf, at) + 4;
  let found: TsigRecord | null = null;
  for (let i = 0; i < total; i++) {
    const start = at;
    const h = skipName(buf, at);
    if (h + 10 > buf.length) throw new DnsFormatError("record header runs past the end");
    const type = buf.readUInt16BE(h);
    const rdata = h + 10;
    at = rdata + buf.readUInt16BE(h + 8);
    if (at > buf.length) throw new DnsFormatError("RDATA runs past the end");
    if (type !== TSIG_TYPE) continue;
    if (i !== total - 1 || buf.readUInt16BE(10) === 0)
      throw new DnsFormatError("a TSIG record that is not the last additional record");
    if (buf.readUInt16BE(h + 2) !== CLASS_ANY)
      throw new DnsFormatError("a TSIG record of a class other than ANY");
    found = readTsigRData(buf, start, rdata, at);
  }
  return found;
}

function readTsigRData(buf: Buffer, start: number, rdata: number, end: number): TsigRecord {
  const keyName = readName(buf, start).name.toLowerCase();
  const alg = readName(buf, rdata, false);
  let p = alg.next;
  if (p + 10 > end) throw new DnsFormatError("bad TSIG RDATA");
  const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > end) throw new DnsFormatError("bad TSIG RDATA");
  const mac = buf.subarray(p, p + macSize);
  p += macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== end) throw new DnsFormatError("bad TSIG RDATA");
  return {
    start,
    keyName,
    algorithm: alg.name.toLowerCase(),
    timeSigned,
    fudge,
    mac,
    originalId,
    error,
    other: buf.subarray(p, end),
  };
}

function u48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32) & 0xffff, 0);
  b.writeUInt32BE(seconds % 2 ** 32, 2);
  return b;
}

function macWithLength(mac: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(mac.length, 0);
  return Buffer.concat([len, mac]);
}

/** The message as signed: the bytes before `end`, with `id` and ARCOUNT less the TSIG record. */
function unsigned(buf: Buffer, end: number, id: number, arcount: number): Buffer {
  const out = Buffer.from(buf.subarray(0, end));
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(arcount, 10);
  return out;
}

/** What a MAC covers (§4.3.3): the full variables, or (a later TCP message) the timers only. */
interface Variables {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

function variables(v: Variables, timersOnly: boolean): Buffer {
  const timers = Buffer.concat([u48(v.timeSigned), Buffer.from([v.fudge >> 8, v.fudge & 0xff])]);
  if (timersOnly) return timers;
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(v.error, 0);
  tail.writeUInt16BE(v.other.length, 2);
  return Buffer.concat([
    canonicalName(v.keyName),
    Buffer.from([0, CLASS_ANY, 0, 0, 0, 0]),
    canonicalName(v.algorithm),
    timers,
    tail,
    v.other,
  ]);
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(ALGORITHMS.get(key.algorithm)!, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

export interface Verified {
  /** TsigError.NOERROR when the message is good. */
  error: number;
  /** The key it was signed with (null when unknown: BADKEY). */
  key: TsigKey | null;
  tsig: TsigRecord;
}

/**
 * Verifies a signed message. `priorMac`: the request's MAC (for a response)
 * or the previous message's (a later message on TCP, with `timersOnly`, and
 * `unsignedBefore` the messages since that came without a TSIG record).
 * `now` in seconds.
 */
export function verifyTsig(
  buf: Buffer,
  tsig: TsigRecord,
  keys: ReadonlyMap<string, TsigKey>,
  now: number,
  priorMac: Buffer | null = null,
  timersOnly = false,
  unsignedBefore: readonly Buffer[] = [],
): Verified {
  const key = keys.get(tsig.keyName) ?? null;
  if (key === null || key.algorithm !== tsig.algorithm) return { error: TsigError.BADKEY, key: null, tsig };
  const digestLength = createHmac(ALGORITHMS.get(key.algorithm)!, key.secret).digest().length;
  // §5.2.2.1: a MAC shorter than half the digest (or 10 bytes) is refused; Ferry takes full MACs only.
  if (tsig.mac.length !== digestLength) return { error: TsigError.BADSIG, key, tsig };
  const parts: Buffer[] = [];
  if (priorMac !== null) parts.push(macWithLength(priorMac));
  // §5.3.1: messages of a TCP answer left unsigned since the last signed one are covered by the next MAC.
  parts.push(...unsignedBefore);
  parts.push(unsigned(buf, tsig.start, tsig.originalId, buf.readUInt16BE(10) - 1));
  parts.push(variables(tsig, timersOnly));
  const mac = hmac(key, parts);
  if (!timingSafeEqual(mac, tsig.mac)) return { error: TsigError.BADSIG, key, tsig };
  if (Math.abs(now - tsig.timeSigned) > tsig.fudge) return { error: TsigError.BADTIME, key, tsig };
  return { error: TsigError.NOERROR, key, tsig };
}

/** The TSIG record's bytes (owner name uncompressed). */
function tsigRecord(
  key: TsigKey,
  timeSigned: number,
  fudge: number,
  mac: Buffer,
  id: number,
  error: number,
  other: Buffer,
): Buffer {
  const alg = canonicalName(key.algorithm);
  const fixed = Buffer.alloc(10);
  u48(timeSigned).copy(fixed, 0);
  fixed.writeUInt16BE(fudge, 6);
  fixed.writeUInt16BE(mac.length, 8);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(id, 0);
  tail.writeUInt16BE(error, 2);
  tail.writeUInt16BE(other.length, 4);
  const rdata = Buffer.concat([alg, fixed, mac, tail, other]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(TSIG_TYPE, 0);
  head.writeUInt16BE(CLASS_ANY, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([canonicalName(key.name), head, rdata]);
}

/** The bytes a TSIG record signed with `key` adds to a message. */
export function tsigSize(key: TsigKey): number {
  const digest = createHmac(ALGORITHMS.get(key.algorithm)!, key.secret).digest().length;
  return canonicalName(key.name).length + 10 + canonicalName(key.algorithm).length + 10 + digest + 6;
}

export interface SignOptions {
  /** Seconds since the epoch. */
  now: number;
  fudge?: number;
  /** The request's MAC (signing a response), or the previous message's (a later TCP message). */
  priorMac?: Buffer | null;
  /** A later message of a TCP answer: the MAC covers the prior MAC, the message and the timers. */
  timersOnly?: boolean;
  /** A TSIG error to report (BADTIME is signed, with the server's time as other data). */
  error?: number;
  /** For BADTIME: the server's time, sent as other data (`now` is then the request's time signed). */
  serverTime?: number;
}

/** Signs an encoded message: returns it with the TSIG record appended, and the MAC (for the next message). */
export function signMessage(msg: Buffer, key: TsigKey, o: SignOptions): { wire: Buffer; mac: Buffer } {
  const fudge = o.fudge ?? 300;
  const error = o.error ?? 0;
  const other = error === TsigError.BADTIME ? u48(o.serverTime ?? o.now) : Buffer.alloc(0);
  const id = msg.readUInt16BE(0);
  const arcount = msg.readUInt16BE(10);
  const parts: Buffer[] = [];
  if (o.priorMac) parts.push(macWithLength(o.priorMac));
  parts.push(msg);
  parts.push(
    variables(
      { keyName: key.name, algorithm: key.algorithm, timeSigned: o.now, fudge, error, other },
      o.timersOnly === true,
    ),
  );
  const mac = hmac(key, parts);
  const out = Buffer.concat([msg, tsigRecord(key, o.now, fudge, mac, id, error, other)]);
  out.writeUInt16BE(arcount + 1, 10);
  return { wire: out, mac };
}

/**
 * An unsigned error answer's TSIG record (BADKEY, BADSIG: §5.3.2, the MAC is
 * empty) appended to `msg`, echoing the request's key and algorithm names.
 */
export function appendTsigError(msg: Buffer, tsig: TsigRecord, error: number, now: number): Buffer {
  const key: TsigKey = { name: tsig.keyName, algorithm: tsig.algorithm, secret: Buffer.alloc(0) };
  const out = Buffer.concat([
    msg,
    tsigRecord(key, now, tsig.fudge, Buffer.alloc(0), msg.readUInt16BE(0), error, Buffer.alloc(0)),
  ]);
  out.writeUInt16BE(msg.readUInt16BE(10) + 1, 10);
  return out;
}
