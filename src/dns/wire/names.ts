/**
 * Domain names on the wire. Names are kept in presentation form without the
 * trailing dot (`www.example.test`; the root is `""`), case as received, with
 * `\.`, `\\` and `\DDD` escapes for bytes that need them.
 */
import { DnsFormatError } from "./errors.js";

/** Longest name in wire octets (RFC 1035 §3.1). */
export const MAX_NAME = 255;
/** Longest label. */
export const MAX_LABEL = 63;

function labelText(buf: Buffer, start: number, len: number): string {
  let plain = true;
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return buf.toString("latin1", start, start + len);
  let out = "";
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, "0")}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/**
 * Reads a possibly compressed name at `offset`. Pointers must point strictly
 * backwards (so no loop is possible); labels ≤ 63, the name ≤ 255 octets.
 * Returns the name and the offset just past it in the original position.
 */
export function readName(buf: Buffer, offset: number, allowPointers = true): { name: string; next: number } {
  let pos = offset;
  let next = -1;
  let wire = 1;
  let name = "";
  let limit = offset; // a pointer must point before the start of the label sequence it is in
  for (;;) {
    if (pos >= buf.length) throw new DnsFormatError("name runs past the end of the message");
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (!allowPointers) throw new DnsFormatError("compression pointer where none is allowed");
      if (pos + 1 >= buf.length) throw new DnsFormatError("truncated compression pointer");
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= limit) throw new DnsFormatError("compression pointer does not point backwards");
      if (next < 0) next = pos + 2;
      pos = target;
      limit = target;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError("unsupported label type");
    if (pos + 1 + len > buf.length) throw new DnsFormatError("label runs past the end of the message");
    wire += len + 1;
    if (wire > MAX_NAME) throw new DnsFormatError("name longer than 255 octets");
    name += (name ? "." : "") + labelText(buf, pos + 1, len);
    pos += 1 + len;
  }
  return { name, next };
}

/** Splits a presentation name into wire labels (escapes resolved). Throws on bad syntax or limits. */
export function nameToLabels(name: string): Buffer[] {
  if (name === "" || name === ".") return [];
  const labels: Buffer[] = [];
  let cur: number[] = [];
  const text = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c) {
      const d = /^\d{3}/.exec(text.slice(i + 1, i + 4));
      if (d) {
        const v = Number(d[0]);
        if (v > 255) throw new RangeError(`bad escape \\${d[0]} in ${name}`);
        cur.push(v);
        i += 3;
      } else if (i + 1 < text.length) {
        cur.push(text.charCodeAt(++i));
      } else throw new RangeError(`dangling backslash in ${name}`);
    } else if (ch === 0x2e) {
      if (cur.length === 0) throw new RangeError(`empty label in ${name}`);
      labels.push(Buffer.from(cur));
      cur = [];
    } else {
      if (ch > 0xff) throw new RangeError(`non-ASCII character in ${name}`);
      cur.push(ch);
    }
  }
  if (cur.length === 0) throw new RangeError(`empty label in ${name}`);
  labels.push(Buffer.from(cur));
  let wire = 1;
  for (const l of labels) {
    if (l.length > MAX_LABEL) throw new RangeError(`label longer than 63 octets in ${name}`);
    wire += l.length + 1;
  }
  if (wire > MAX_NAME) throw new RangeError(`name longer than 255 octets: ${name}`);
  return labels;
}
