/**
 * permessage-deflate (RFC 7692). Ferry always answers with
 * `server_no_context_takeover`: every message it sends is compressed on its
 * own, so a published message is compressed once and the same bytes go to
 * every subscriber, and no connection holds a compressor. Messages from the
 * client are inflated by a per-connection inflater created on first use
 * (and dropped after each message when the client gives up context takeover).
 */
import zlib from "node:zlib";
import { CloseCode } from "./constants.js";
import type { MessageInflater, Receiver } from "./receiver.js";

/** What the handshake agreed on. */
export interface DeflateParams {
  /** The client keeps no context between messages: the inflater can be reset after each one. */
  clientNoContextTakeover: boolean;
  /** Largest LZ77 window Ferry may use for what it sends (9–15). */
  serverMaxWindowBits: number;
  /** The response header value. */
  response: string;
}

/** One offer's parameters, or null when the offer is not acceptable. */
function acceptOffer(params: string[]): DeflateParams | null {
  const seen = new Set<string>();
  let clientNoContext = false;
  let serverBits = 15;
  let clientBits: number | null = null;
  for (const raw of params) {
    const eq = raw.indexOf("=");
    const name = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
    let value = eq < 0 ? null : raw.slice(eq + 1).trim();
    if (value?.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (seen.has(name)) return null;
    seen.add(name);
    if (name === "server_no_context_takeover" || name === "client_no_context_takeover") {
      if (value !== null) return null;
      if (name === "client_no_context_takeover") clientNoContext = true;
    } else if (name === "server_max_window_bits" || name === "client_max_window_bits") {
      const bits = value === null ? null : /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (bits !== null && !(bits >= 8 && bits <= 15)) return null;
      if (name === "server_max_window_bits") {
        if (bits === null) return null;
        // zlib cannot make a raw stream with an 8-bit window: decline rather than break the promise.
        if (bits < 9) return null;
        serverBits = bits;
      } else {
        clientBits = bits ?? 15;
      }
    } else {
      return null;
    }
  }
  let response = "permessage-deflate; server_no_context_takeover";
  if (clientNoContext) response += "; client_no_context_takeover";
  if (serverBits < 15) response += `; server_max_window_bits=${serverBits}`;
  if (clientBits !== null) response += `; client_max_window_bits=${clientBits}`;
  return { clientNoContextTakeover: clientNoContext, serverMaxWindowBits: serverBits, response };
}

/**
 * Picks the first acceptable permessage-deflate offer from
 * `Sec-WebSocket-Extensions`; null when there is none (the connection then
 * runs without compression).
 */
export function negotiateDeflate(header: string | undefined): DeflateParams | null {
  if (!header) return null;
  for (const ext of header.split(",")) {
    const parts = ext.split(";");
    if (parts[0]!.trim().toLowerCase() !== "permessage-deflate") continue;
    const accepted = acceptOffer(parts.slice(1).filter((p) => p.trim() !== ""));
    if (accepted) return accepted;
  }
  return null;
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Compresses one message on its own (no context kept), as RFC 7692 §7.2.1
 * asks: the final empty block's `00 00 ff ff` is removed.
 */
export function deflateMessage(payload: Buffer, windowBits: number): Buffer {
  const out = zlib.deflateRawSync(payload, { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

const kOwner = Symbol("ferry.inflater");
type OwnedStream = zlib.InflateRaw & { [kOwner]: Inflater };

function onInflateData(this: OwnedStream, chunk: Buffer): void {
  const self = this[kOwner];
  self.size += chunk.length;
  if (self.limit > 0 && self.size > self.limit) {
    self.overLimit();
    return;
  }
  self.chunks.push(chunk);
}

function onInflateError(this: OwnedStream, err: Error): void {
  this[kOwner].failed(err);
}

/** A connection's inflater: created lazily, bounded by the message limit. */
export class Inflater implements MessageInflater {
  private stream: OwnedStream | null = null;
  private receiver: Receiver | null = null;
  /** @internal */ chunks: Buffer[] = [];
  /** @internal */ size = 0;
  /** @internal */ limit = 0;
  private readonly resetEach: boolean;

  constructor(resetEach: boolean) {
    this.resetEach = resetEach;
  }

  inflate(data: Buffer, limit: number, receiver: Receiver): void {
    if (this.stream === null) {
      const s = zlib.createInflateRaw({ windowBits: 15 }) as OwnedStream;
      s[kOwner] = this;
      s.on("data", onInflateData);
      s.on("error", onInflateError);
      this.stream = s;
    }
    this.receiver = receiver;
    this.limit = limit;
    this.size = 0;
    this.chunks = [];
    const s = this.stream;
    s.write(data);
    s.write(TRAILER);
    s.flush(zlib.constants.Z_SYNC_FLUSH, () => this.flushed());
  }

  private flushed(): void {
    const receiver = this.receiver;
    if (receiver === null) return;
    this.receiver = null;
    const out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    if (this.resetEach) this.close();
    receiver.inflated(out, 0, "");
  }

  /** @internal the output passed the limit: stop inflating at once (a bomb costs no more than the limit). */
  overLimit(): void {
    const receiver = this.receiver;
    this.receiver = null;
    this.close();
    receiver?.inflated(null, CloseCode.TooBig, `message over ${this.limit} bytes`);
  }

  /** @internal */
  failed(err: Error): void {
    const receiver = this.receiver;
    this.receiver = null;
    this.close();
    receiver?.inflated(null, CloseCode.InvalidData, `bad compressed data: ${err.message}`);
  }

  /** Frees the zlib stream (again on first use). */
  close(): void {
    const s = this.stream;
    this.stream = null;
    if (s !== null) {
      s.removeAllListeners("data");
      s.on("error", () => {});
      s.close();
    }
  }
}
