/**
 * Frame encoding. A message is framed once into one Buffer (header and
 * payload together) so that the same bytes can be written to any number of
 * connections.
 */
import { randomFillSync } from "node:crypto";
import { Opcode } from "./constants.js";

/** Writes a frame header for `length` payload bytes at `out[0]`; returns the header length. */
function headerLength(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Frames a payload. Server frames are unmasked; client frames (`mask` true)
 * get a fresh random mask and a masked copy of the payload.
 */
export function encodeFrame(
  opcode: number,
  payload: Buffer,
  options: { rsv1?: boolean; mask?: boolean; fin?: boolean } = {},
): Buffer {
  const length = payload.length;
  const masked = options.mask === true;
  const head = headerLength(length, masked);
  const out = Buffer.allocUnsafe(head + length);
  out[0] = (options.fin === false ? 0 : 0x80) | (options.rsv1 ? 0x40 : 0) | opcode;
  let o = 2;
  if (length < 126) out[1] = length;
  else if (length < 65536) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
    o = 4;
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    out.writeUInt32BE(length >>> 0, 6);
    o = 10;
  }
  if (!masked) {
    payload.copy(out, o);
    return out;
  }
  out[1] |= 0x80;
  randomFillSync(out, o, 4);
  const m0 = out[o]!;
  const m1 = out[o + 1]!;
  const m2 = out[o + 2]!;
  const m3 = out[o + 3]!;
  o += 4;
  for (let i = 0; i < length; i += 4) {
    out[o + i] = payload[i]! ^ m0;
    if (i + 1 < length) out[o + i + 1] = payload[i + 1]! ^ m1;
    if (i + 2 < length) out[o + i + 2] = payload[i + 2]! ^ m2;
    if (i + 3 < length) out[o + i + 3] = payload[i + 3]! ^ m3;
  }
  return out;
}

/** A text frame for a string. */
export function textFrame(text: string, mask = false): Buffer {
  return encodeFrame(Opcode.Text, Buffer.from(text, "utf8"), { mask });
}

/** The payload of a close frame: code and UTF-8 reason (cut to fit 125 bytes). */
export function closePayload(code: number, reason: string): Buffer {
  if (code === 1005) return Buffer.alloc(0);
  let r = Buffer.from(reason, "utf8");
  if (r.length > 123) r = r.subarray(0, 123);
  // Do not leave a cut code point at the end.
  while (r.length > 0 && !Buffer.from(r.toString("utf8"), "utf8").equals(r)) r = r.subarray(0, r.length - 1);
  const out = Buffer.allocUnsafe(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

/** XORs `data` in place with a 4-byte mask. */
export function unmask(data: Buffer, mask: Buffer): void {
  const n = data.length;
  const m0 = mask[0]!;
  const m1 = mask[1]!;
  const m2 = mask[2]!;
  const m3 = mask[3]!;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    data[i] = data[i]! ^ m0;
    data[i + 1] = data[i + 1]! ^ m1;
    data[i + 2] = data[i + 2]! ^ m2;
    data[i + 3] = data[i + 3]! ^ m3;
  }
  if (i < n) data[i] = data[i]! ^ m0;
  if (i + 1 < n) data[i + 1] = data[i + 1]! ^ m1;
  if (i + 2 < n) data[i + 2] = data[i + 2]! ^ m2;
}
