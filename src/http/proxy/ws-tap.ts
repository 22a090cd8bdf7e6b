/**
 * Reads the WebSocket frames of a proxied session as they pass, without
 * touching them (RFC 6455 §5.2 framing only: a header state machine over
 * the bytes, keeping at most the first 512 bytes of each payload for the
 * inspector's preview). Never throws and never buffers a whole frame: a
 * stream that stops making sense just stops being shown.
 */

const TEXT = 0x1;
const CLOSE = 0x8;
/** Payload bytes kept per frame for the preview (and a close frame's code and reason). */
const PREVIEW = 512;

export interface TappedFrame {
  opcode: number;
  /** Payload length as the header said. */
  length: number;
  /** The start of a text payload (unmasked; empty when compressed or not text). */
  text: string;
  /** For a close frame: its code (1005 when it carried none) and reason. */
  close: { code: number; reason: string } | null;
}

export class FrameTap {
  private head = Buffer.alloc(14);
  private headLen = 0;
  private need = 2;
  private remaining = 0;
  private opcode = 0;
  private masked = false;
  private compressed = false;
  private length = 0;
  private mask = Buffer.alloc(4);
  private preview: Buffer[] = [];
  private kept = 0;
  private offset = 0;
  private broken = false;
  private inPayload = false;

  constructor(private readonly onFrame: (f: TappedFrame) => void) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    let i = 0;
    while (i < chunk.length) {
      if (!this.inPayload) {
        const take = Math.min(this.need - this.headLen, chunk.length - i);
        chunk.copy(this.head, this.headLen, i, i + take);
        this.headLen += take;
        i += take;
        if (this.headLen < this.need) return;
        this.parseHead();
        if (this.broken) return;
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.kept < PREVIEW) {
        const keep = Math.min(take, PREVIEW - this.kept);
        this.preview.push(chunk.subarray(i, i + keep));
        this.kept += keep;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) this.done();
    }
  }

  /** Reads the header once `need` bytes are in (raising `need` when the header is longer). */
  private parseHead(): void {
    const h = this.head;
    const b1 = h[1]!;
    const len7 = b1 & 0x7f;
    this.masked = (b1 & 0x80) !== 0;
    const full = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.masked ? 4 : 0);
    if (this.need < full) {
      this.need = full;
      if (this.headLen >= full) this.parseHead();
      return;
    }
    this.opcode = h[0]! & 0x0f;
    this.compressed = (h[0]! & 0x40) !== 0;
    let at = 2;
    if (len7 === 126) {
      this.length = h.readUInt16BE(2);
      at = 4;
    } else if (len7 === 127) {
      const big = h.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.broken = true;
        return;
      }
      this.length = Number(big);
      at = 10;
    } else this.length = len7;
    if (this.masked) h.copy(this.mask, 0, at, at + 4);
    this.remaining = this.length;
    this.preview = [];
    this.kept = 0;
    this.offset = 0;
    this.inPayload = true;
    if (this.remaining === 0) this.done();
  }

  private done(): void {
    let payload = Buffer.concat(this.preview);
    if (this.masked) {
      payload = Buffer.from(payload);
      for (let j = 0; j < payload.length; j++) payload[j]! ^= this.mask[(this.offset + j) & 3]!;
    }
    const op = this.opcode;
    let close: TappedFrame["close"] = null;
    if (op === CLOSE)
      close =
        payload.length >= 2
          ? { code: payload.readUInt16BE(0), reason: payload.toString("utf8", 2) }
          : { code: 1005, reason: "" };
    this.onFrame({
      opcode: op,
      length: this.length,
      text: op === TEXT && !this.compressed ? payload.toString("utf8") : "",
      close,
    });
    this.inPayload = false;
    this.headLen = 0;
    this.need = 2;
  }
}
