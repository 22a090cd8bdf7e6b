/**
 * Header names and values read as bytes (an upstream's response head), as
 * strings: bytes seen before give the very same string again. Most heads
 * repeat (Server, Date within its second, Content-Type, Content-Length), so
 * the common ones cost no conversion; and the same string keeps its hash and
 * its lower-case form (`lowerName`), so the header rules' lookups do not
 * hash or lower-case it again on every response.
 *
 * A fixed table of recent strings by a hash of their bytes: a miss only
 * costs the conversion it replaces, and the table never grows.
 */
import { latin1 } from "../../core/latin1.js";

const SLOTS = 512;
/** Only short strings are kept (names, and values such as dates and types). */
const MAX_KEPT = 64;

export class ByteStrings {
  private readonly bytes: (Buffer | null)[] = new Array(SLOTS).fill(null);
  private readonly strings: string[] = new Array(SLOTS).fill("");

  /** `buf` as latin1 text, the same string as last time for the same bytes. */
  get(buf: Buffer): string {
    const n = buf.length;
    if (n === 0 || n > MAX_KEPT) return latin1(buf, 0, n);
    let h = n;
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + buf[i]!) | 0;
    const slot = (h ^ (h >>> 9)) & (SLOTS - 1);
    const kept = this.bytes[slot]!;
    if (kept !== null && kept.length === n) {
      let i = 0;
      while (i < n && kept[i] === buf[i]) i++;
      if (i === n) return this.strings[slot]!;
    }
    const s = latin1(buf, 0, n);
    // A copy: `buf` may be a view of a buffer its owner reuses.
    this.bytes[slot] = Buffer.from(buf);
    this.strings[slot] = s;
    return s;
  }
}

const lower = new Map<string, string>();
/**
 * Names whose lower-case form is kept, at most: clients and upstreams may
 * make names up, so the table starts over when full (short names only).
 */
export const MAX_LOWER = 1024;

/** A header name in lower case, kept for short names (the same string object is found at once). */
export function lowerName(name: string): string {
  let l = lower.get(name);
  if (l === undefined) {
    l = name.toLowerCase();
    if (name.length <= MAX_KEPT) {
      if (lower.size >= MAX_LOWER) lower.clear();
      lower.set(name, l);
    }
  }
  return l;
}

/** How many lower-case names are kept now (for tests). */
export function lowerNamesKept(): number {
  return lower.size;
}
