/**
 * UTF-8 checks for text messages. Whole payloads go through node's native
 * `isUtf8`; fragmented messages are checked fragment by fragment so that an
 * invalid sequence fails as soon as it arrives, with the (at most 3) bytes
 * of a code point split across fragments carried to the next one.
 */
import { isUtf8 } from "node:buffer";

export { isUtf8 };

/** Length of the sequence a lead byte starts; 0 for a byte that cannot lead. */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** True when `bytes` (1 to 3 bytes) can still become a valid code point. */
function isValidPrefix(bytes: Uint8Array, start: number, end: number): boolean {
  const lead = bytes[start]!;
  if (end - start >= 2) {
    const b = bytes[start + 1]!;
    let lo = 0x80;
    let hi = 0xbf;
    if (lead === 0xe0) lo = 0xa0;
    else if (lead === 0xed) hi = 0x9f;
    else if (lead === 0xf0) lo = 0x90;
    else if (lead === 0xf4) hi = 0x8f;
    if (b < lo || b > hi) return false;
  }
  if (end - start >= 3) {
    const c = bytes[start + 2]!;
    if (c < 0x80 || c > 0xbf) return false;
  }
  return true;
}

/**
 * Incremental validator for one fragmented text message. `push` returns
 * false on the first invalid byte; `end` returns false when the message ends
 * inside a code point.
 */
export class Utf8Stream {
  private carry: Buffer | null = null;

  /** Checks one more fragment. */
  push(fragment: Buffer): boolean {
    let data = fragment;
    if (this.carry !== null) {
      data = Buffer.concat([this.carry, fragment]);
      this.carry = null;
    }
    // Find where an incomplete trailing sequence starts (looking back at most 3 bytes).
    let cut = data.length;
    for (let i = data.length - 1; i >= 0 && i >= data.length - 3; i--) {
      const b = data[i]!;
      if ((b & 0xc0) === 0x80) continue;
      const n = sequenceLength(b);
      if (n === 0) return false;
      if (i + n > data.length) cut = i;
      break;
    }
    if (cut < data.length) {
      if (!isValidPrefix(data, cut, data.length)) return false;
      this.carry = Buffer.from(data.subarray(cut));
    }
    return isUtf8(data.subarray(0, cut));
  }

  /** The message is complete: valid only if no code point was left open. */
  end(): boolean {
    const ok = this.carry === null;
    this.carry = null;
    return ok;
  }

  reset(): void {
    this.carry = null;
  }
}
