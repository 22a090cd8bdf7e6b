/** RDATA codecs per type. Decoding checks every length against RDLENGTH. */
import { isIPv4, isIPv6 } from "node:net";
import { RRType } from "./constants.js";
import { DnsFormatError } from "./errors.js";
import type { RData } from "./message.js";
import { readName } from "./names.js";

function need(ok: boolean, what: string): void {
  if (!ok) throw new DnsFormatError(`bad ${what} RDATA`);
}

/** Formats 16 bytes as an IPv6 address (RFC 5952 zero compression). */
export function formatIPv6(b: Buffer, at: number): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[at + i]! << 8) | b[at + i + 1]!).toString(16));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.join(":");
  return `${words.slice(0, bestStart).join(":")}::${words.slice(bestStart + bestLen).join(":")}`;
}

/** Parses an IPv6 address into 16 bytes. */
export function parseIPv6(text: string): Buffer {
  if (!isIPv6(text)) throw new RangeError(`not an IPv6 address: ${text}`);
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = v4[1]!.split(".").map(Number);
    s = `${s.slice(0, -v4[1]!.length)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const words = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(Number.parseInt(words[i]!, 16), i * 2);
  return out;
}

/** Parses a dotted IPv4 address into 4 bytes. */
export function parseIPv4(text: string): Buffer {
  if (!isIPv4(text)) throw new RangeError(`not an IPv4 address: ${text}`);
  return Buffer.from(text.split(".").map(Number));
}

/** Types whose RDATA names may be compressed on input (RFC 1035 types, plus SRV and DNAME leniently). */
function pointersAllowed(type: number): boolean {
  return type !== RRType.OPT;
}

/** Decodes RDATA of `type` at [start, end) of `buf`. */
export function decodeRData(buf: Buffer, type: number, start: number, end: number): RData {
  const len = end - start;
  switch (type) {
    case RRType.A:
      need(len === 4, "A");
      return { type: "a", address: `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}` };
    case RRType.AAAA:
      need(len === 16, "AAAA");
      return { type: "aaaa", address: formatIPv6(buf, start) };
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
    case RRType.DNAME: {
      const n = readName(buf, start, pointersAllowed(type));
      need(n.next === end, "name");
      return { type: "name", name: n.name };
    }
    case RRType.SOA: {
      const m = readName(buf, start);
      const r = readName(buf, m.next);
      need(r.next + 20 === end, "SOA");
      const at = r.next;
      return {
        type: "soa",
        mname: m.name,
        rname: r.name,
        serial: buf.readUInt32BE(at),
        refresh: buf.readUInt32BE(at + 4),
        retry: buf.readUInt32BE(at + 8),
        expire: buf.readUInt32BE(at + 12),
        minimum: buf.readUInt32BE(at + 16),
      };
    }
    case RRType.MX: {
      need(len >= 3, "MX");
      const n = readName(buf, start + 2);
      need(n.next === end, "MX");
      return { type: "mx", preference: buf.readUInt16BE(start), exchange: n.name };
    }
    case RRType.TXT: {
      need(len >= 1, "TXT");
      const strings: Buffer[] = [];
      let p = start;
      while (p < end) {
        const l = buf[p]!;
        need(p + 1 + l <= end, "TXT");
        strings.push(buf.subarray(p + 1, p + 1 + l));
        p += 1 + l;
      }
      return { type: "txt", strings };
    }
    case RRType.SRV: {
      need(len >= 7, "SRV");
      const n = readName(buf, start + 6);
      need(n.next === end, "SRV");
      return {
        type: "srv",
        priority: buf.readUInt16BE(start),
        weight: buf.readUInt16BE(start + 2),
        port: buf.readUInt16BE(start + 4),
        target: n.name,
      };
    }
    case RRType.CAA: {
      need(len >= 2, "CAA");
      const tagLen = buf[start + 1]!;
      need(tagLen >= 1 && start + 2 + tagLen <= end, "CAA");
      return {
        type: "caa",
        flags: buf[start]!,
        tag: buf.toString("latin1", start + 2, start + 2 + tagLen),
        value: buf.subarray(start + 2 + tagLen, end),
      };
    }
    case RRType.DS:
      need(len >= 5, "DS");
      return {
        type: "ds",
        keyTag: buf.readUInt16BE(start),
        algorithm: buf[start + 2]!,
        digestType: buf[start + 3]!,
        digest: buf.subarray(start + 4, end),
      };
    case RRType.OPT: {
      const options: { code: number; data: Buffer }[] = [];
      let p = start;
      while (p < end) {
        need(p + 4 <= end, "OPT");
        const l = buf.readUInt16BE(p + 2);
        need(p + 4 + l <= end, "OPT");
        options.push({ code: buf.readUInt16BE(p), data: buf.subarray(p + 4, p + 4 + l) });
        p += 4 + l;
      }
      return { type: "opt", options };
    }
    default:
      return { type: "raw", data: buf.subarray(start, end) };
  }
}
