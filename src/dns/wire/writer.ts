/**
 * DNS message encoding with name compression (pointers only below offset
 * 0x4000, and only in the RDATA of RFC 1035 types) and truncation that keeps
 * RRsets whole and always keeps the OPT record.
 */
import { Flag, RRType } from "./constants.js";
import type { Message, RData, Record } from "./message.js";
import { nameToLabels } from "./names.js";
import { parseIPv4, parseIPv6 } from "./rdata.js";

const MAX_POINTER = 0x3fff;

class Writer {
  buf: Buffer;
  pos = 0;
  /** Lower-case suffix → offset of its first label. */
  private readonly names = new Map<string, number>();
  private readonly added: string[] = [];

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  name(name: string, compress: boolean): void {
    const labels = nameToLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = suffixKey(labels, i);
      if (compress) {
        const at = this.names.get(key);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
      }
      if (this.pos <= MAX_POINTER && !this.names.has(key)) {
        this.names.set(key, this.pos);
        this.added.push(key);
      }
      this.u8(labels[i]!.length);
      this.bytes(labels[i]!);
    }
    this.u8(0);
  }

  /** A point to roll back to (position and remembered names). */
  mark(): { pos: number; names: number } {
    return { pos: this.pos, names: this.added.length };
  }

  rollback(m: { pos: number; names: number }): void {
    this.pos = m.pos;
    while (this.added.length > m.names) this.names.delete(this.added.pop()!);
  }
}

function suffixKey(labels: Buffer[], from: number): string {
  let k = "";
  for (let i = from; i < labels.length; i++) k += `${labels[i]!.toString("latin1").toLowerCase()}.`;
  return k;
}

/** Whether names in this type's RDATA may be compressed on output (RFC 3597 §4: RFC 1035 types only). */
function compressible(type: number): boolean {
  return (
    type === RRType.NS ||
    type === RRType.CNAME ||
    type === RRType.PTR ||
    type === RRType.MX ||
    type === RRType.SOA
  );
}

function writeRData(w: Writer, type: number, d: RData): void {
  const c = compressible(type);
  switch (d.type) {
    case "a":
      w.bytes(parseIPv4(d.address));
      return;
    case "aaaa":
      w.bytes(parseIPv6(d.address));
      return;
    case "name":
      w.name(d.name, c);
      return;
    case "soa":
      w.name(d.mname, c);
      w.name(d.rname, c);
      w.u32(d.serial);
      w.u32(d.refresh);
      w.u32(d.retry);
      w.u32(d.expire);
      w.u32(d.minimum);
      return;
    case "mx":
      w.u16(d.preference);
      w.name(d.exchange, c);
      return;
    case "txt":
      for (const s of d.strings) {
        w.u8(s.length);
        w.bytes(s);
      }
      return;
    case "srv":
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      w.name(d.target, false);
      return;
    case "caa":
      w.u8(d.flags);
      w.u8(d.tag.length);
      w.bytes(Buffer.from(d.tag, "latin1"));
      w.bytes(d.value);
      return;
    case "ds":
      w.u16(d.keyTag);
      w.u8(d.algorithm);
      w.u8(d.digestType);
      w.bytes(d.digest);
      return;
    case "opt":
      for (const o of d.options) {
        w.u16(o.code);
        w.u16(o.data.length);
        w.bytes(o.data);
      }
      return;
    case "raw":
      w.bytes(d.data);
      return;
  }
}

function writeRecord(w: Writer, r: Record): void {
  w.name(r.name, true);
  w.u16(r.type);
  w.u16(r.klass);
  w.u32(r.ttl);
  const lenAt = w.pos;
  w.u16(0);
  writeRData(w, r.type, r.data);
  w.buf.writeUInt16BE(w.pos - lenAt - 2, lenAt);
}

function sameSet(a: Record, b: Record): boolean {
  return a.type === b.type && a.klass === b.klass && a.name.toLowerCase() === b.name.toLowerCase();
}

/**
 * Encodes a message. With `maxSize`, records that do not fit are left out by
 * whole RRsets; TC is set when an answer or authority RRset was left out.
 * An OPT record in the additional section is always kept.
 */
export function encodeMessage(msg: Message, maxSize = 65535): Buffer {
  const w = new Writer(Math.min(maxSize, 512));
  w.u16(msg.id);
  w.u16(0);
  w.u16(msg.questions.length);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  for (const q of msg.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.klass);
  }
  const opt = msg.additional.find((r) => r.type === RRType.OPT);
  // Reserve room for the OPT record: root name, 10 header bytes, options.
  const optSize = opt
    ? 11 + (opt.data.type === "opt" ? opt.data.options.reduce((n, o) => n + 4 + o.data.length, 0) : 0)
    : 0;
  const limit = maxSize - optSize;
  let truncated = false;
  const counts = [0, 0, 0];
  const sections = [msg.answers, msg.authority, msg.additional];
  for (let s = 0; s < 3 && !truncated; s++) {
    const list = sections[s]!;
    let i = 0;
    while (i < list.length) {
      let j = i + 1;
      while (j < list.length && sameSet(list[i]!, list[j]!)) j++;
      const m = w.mark();
      let n = 0;
      for (let k = i; k < j; k++) {
        if (list[k]!.type === RRType.OPT) continue;
        writeRecord(w, list[k]!);
        n++;
      }
      if (w.pos > limit) {
        w.rollback(m);
        if (s < 2) truncated = true;
        break;
      }
      counts[s]! += n;
      i = j;
    }
  }
  if (opt) {
    writeRecord(w, opt);
    counts[2]!++;
  }
  const flags =
    (msg.flags & 0x87f0 & ~Flag.TC) |
    (truncated ? Flag.TC : 0) |
    ((msg.opcode & 0xf) << 11) |
    (msg.rcode & 0xf);
  w.buf.writeUInt16BE(flags, 2);
  w.buf.writeUInt16BE(counts[0]!, 6);
  w.buf.writeUInt16BE(counts[1]!, 8);
  w.buf.writeUInt16BE(counts[2]!, 10);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** A record's RDATA on the wire, uncompressed (for comparing records and sizing messages). */
export function encodeRData(r: Record): Buffer {
  const w = new Writer(64);
  writeRData(w, -1, r.data);
  return Buffer.from(w.buf.subarray(0, w.pos));
}
