/**
 * The frame receiver: an explicit numeric-state parser over a list of socket
 * chunks (like `ws`). `consume(n)` hands out views and copies only when a
 * frame spans chunks; masks are removed in place. Violations of RFC 6455 are
 * reported once, with the close code to send, and parsing stops.
 */
import { CloseCode, isValidCloseCode, Opcode } from "./constants.js";
import { unmask } from "./frame.js";
import { isUtf8, Utf8Stream } from "./utf8.js";

/** What the receiver reports to its connection. Implemented by a class, so no closures per connection. */
export interface FrameSink {
  onMessage(data: Buffer, binary: boolean): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** A close frame arrived; `code` is 1005 when it carried none. */
  onCloseFrame(code: number, reason: string): void;
  /** The peer broke the protocol; close with `code`. */
  onProtocolError(code: number, reason: string): void;
}

/** Decompresses whole messages for the receiver (permessage-deflate). */
export interface MessageInflater {
  /** Inflates `data`; calls `receiver.inflated` when done (possibly later). */
  inflate(data: Buffer, limit: number, receiver: Receiver): void;
}

const HEADER = 0;
const LENGTH_16 = 1;
const LENGTH_64 = 2;
const MASK = 3;
const PAYLOAD = 4;
const INFLATING = 5;
const STOPPED = 6;

const EMPTY = Buffer.alloc(0);

export class Receiver {
  private readonly sink: FrameSink;
  /** Server side: frames must be masked. Client side: they must not be. */
  private readonly server: boolean;
  /** Largest message (after decompression); 0 for no limit. */
  maxPayload: number;
  /** Set when permessage-deflate was negotiated. */
  inflater: MessageInflater | null = null;

  private buffers: Buffer[] | null = null;
  private buffered = 0;
  private step = HEADER;

  private fin = false;
  private rsv1 = false;
  private opcode = 0;
  private masked = false;
  private length = 0;
  private mask: Buffer | null = null;

  /** The message being assembled from fragments. */
  private fragments: Buffer[] | null = null;
  private fragmentsLength = 0;
  private messageOpcode = 0;
  private compressed = false;
  private utf8: Utf8Stream | null = null;

  /** `sink` null: the receiver is its own sink (a subclass implements FrameSink). */
  constructor(sink: FrameSink | null, server: boolean, maxPayload: number) {
    this.sink = sink ?? (this as unknown as FrameSink);
    this.server = server;
    this.maxPayload = maxPayload;
  }

  /** Feeds bytes from the socket. */
  push(chunk: Buffer): void {
    if (this.step === STOPPED) return;
    if (this.buffers === null) this.buffers = [chunk];
    else this.buffers.push(chunk);
    this.buffered += chunk.length;
    if (this.step !== INFLATING) this.run();
    // An idle connection keeps no list (nor the list's grown backing store).
    if (this.buffered === 0) this.buffers = null;
  }

  /** Stops parsing for good (after a close frame or an error). */
  stop(): void {
    this.step = STOPPED;
    this.buffers = null;
    this.buffered = 0;
    this.fragments = null;
  }

  private consume(n: number): Buffer {
    this.buffered -= n;
    const buffers = this.buffers!;
    const first = buffers[0]!;
    if (first.length === n) return buffers.shift()!;
    if (first.length > n) {
      buffers[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const b = buffers[0]!;
      const take = Math.min(b.length, n - o);
      b.copy(out, o, 0, take);
      o += take;
      if (take === b.length) buffers.shift();
      else buffers[0] = b.subarray(take);
    }
    return out;
  }

  private run(): void {
    for (;;) {
      switch (this.step) {
        case HEADER:
          if (this.buffered < 2 || !this.header()) return;
          break;
        case LENGTH_16:
          if (this.buffered < 2) return;
          this.length = this.consume(2).readUInt16BE(0);
          if (!this.checkLength()) return;
          break;
        case LENGTH_64: {
          if (this.buffered < 8) return;
          const b = this.consume(8);
          const high = b.readUInt32BE(0);
          if (high > 0x1fffff) {
            this.fail(CloseCode.TooBig, "frame too large");
            return;
          }
          this.length = high * 0x100000000 + b.readUInt32BE(4);
          if (!this.checkLength()) return;
          break;
        }
        case MASK:
          if (this.buffered < 4) return;
          this.mask = this.consume(4);
          this.step = PAYLOAD;
          break;
        case PAYLOAD:
          if (this.buffered < this.length) return;
          if (!this.payload()) return;
          break;
        default:
          return;
      }
    }
  }

  /** Reads the first two header bytes. */
  private header(): boolean {
    const b = this.consume(2);
    const b0 = b[0]!;
    const b1 = b[1]!;
    if ((b0 & 0x30) !== 0) return this.fail(CloseCode.ProtocolError, "RSV2 and RSV3 must be clear");
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    this.length = b1 & 0x7f;
    const op = this.opcode;
    if (op >= Opcode.Close) {
      if (op > Opcode.Pong) return this.fail(CloseCode.ProtocolError, `reserved opcode ${op}`);
      if (!this.fin) return this.fail(CloseCode.ProtocolError, "fragmented control frame");
      if (this.length > 125) return this.fail(CloseCode.ProtocolError, "control frame over 125 bytes");
      if (this.rsv1) return this.fail(CloseCode.ProtocolError, "RSV1 set on a control frame");
    } else if (op === Opcode.Continuation) {
      if (this.fragments === null)
        return this.fail(CloseCode.ProtocolError, "continuation without a message");
      if (this.rsv1) return this.fail(CloseCode.ProtocolError, "RSV1 set on a continuation frame");
    } else if (op === Opcode.Text || op === Opcode.Binary) {
      if (this.fragments !== null)
        return this.fail(CloseCode.ProtocolError, "new message inside a fragmented one");
      if (this.rsv1 && this.inflater === null)
        return this.fail(CloseCode.ProtocolError, "RSV1 set without a negotiated extension");
      this.messageOpcode = op;
      this.compressed = this.rsv1;
      this.fragments = [];
      this.fragmentsLength = 0;
    } else {
      return this.fail(CloseCode.ProtocolError, `reserved opcode ${op}`);
    }
    if (this.masked !== this.server)
      return this.fail(
        CloseCode.ProtocolError,
        this.server ? "client frames must be masked" : "server frames must not be masked",
      );
    if (this.length === 126) this.step = LENGTH_16;
    else if (this.length === 127) this.step = LENGTH_64;
    else return this.checkLength();
    return true;
  }

  private checkLength(): boolean {
    if (
      this.opcode < Opcode.Close &&
      this.maxPayload > 0 &&
      this.fragmentsLength + this.length > this.maxPayload
    )
      return this.fail(CloseCode.TooBig, `message over ${this.maxPayload} bytes`);
    this.step = this.masked ? MASK : PAYLOAD;
    return true;
  }

  private payload(): boolean {
    const data = this.length > 0 ? this.consume(this.length) : EMPTY;
    if (this.masked && this.length > 0) unmask(data, this.mask!);
    // Drop the view so an idle connection does not keep its last socket chunk alive.
    this.mask = null;
    this.step = HEADER;
    const op = this.opcode;
    if (op >= Opcode.Close) return this.control(op, data);
    if (this.length > 0) {
      this.fragments!.push(data);
      this.fragmentsLength += data.length;
    }
    // Fragmented text is checked as it arrives, so bad bytes fail fast.
    if (!this.compressed && this.messageOpcode === Opcode.Text && (!this.fin || this.utf8 !== null)) {
      this.utf8 ??= new Utf8Stream();
      if (!this.utf8.push(data)) return this.fail(CloseCode.InvalidData, "invalid UTF-8 in a text message");
    }
    if (!this.fin) return true;
    const parts = this.fragments!;
    const message =
      parts.length === 1
        ? parts[0]!
        : parts.length === 0
          ? EMPTY
          : Buffer.concat(parts, this.fragmentsLength);
    this.fragments = null;
    this.fragmentsLength = 0;
    if (this.compressed) {
      this.step = INFLATING;
      this.inflater!.inflate(message, this.maxPayload, this);
      return false;
    }
    return this.deliver(message);
  }

  /** Called by the inflater with the message or the close code of its failure. */
  inflated(data: Buffer | null, code: number, reason: string): void {
    if (this.step !== INFLATING) return;
    this.step = HEADER;
    if (data === null) {
      this.fail(code, reason);
      return;
    }
    if (this.deliver(data)) this.run();
    if (this.buffered === 0 && this.step !== STOPPED) this.buffers = null;
  }

  private deliver(message: Buffer): boolean {
    const binary = this.messageOpcode === Opcode.Binary;
    if (!binary) {
      if (this.utf8 !== null) {
        const ok = this.utf8.end();
        this.utf8 = null;
        if (!ok) return this.fail(CloseCode.InvalidData, "invalid UTF-8 in a text message");
      } else if (!isUtf8(message)) {
        return this.fail(CloseCode.InvalidData, "invalid UTF-8 in a text message");
      }
    }
    this.sink.onMessage(message, binary);
    return this.step !== STOPPED;
  }

  private control(op: number, data: Buffer): boolean {
    if (op === Opcode.Ping) {
      this.sink.onPing(data);
    } else if (op === Opcode.Pong) {
      this.sink.onPong(data);
    } else {
      if (data.length === 1) return this.fail(CloseCode.ProtocolError, "close frame with a 1-byte payload");
      if (data.length === 0) {
        this.stop();
        this.sink.onCloseFrame(CloseCode.NoStatus, "");
        return false;
      }
      const code = data.readUInt16BE(0);
      if (!isValidCloseCode(code)) return this.fail(CloseCode.ProtocolError, `invalid close code ${code}`);
      const reason = data.subarray(2);
      if (!isUtf8(reason)) return this.fail(CloseCode.InvalidData, "close reason is not UTF-8");
      this.stop();
      this.sink.onCloseFrame(code, reason.toString("utf8"));
      return false;
    }
    return this.step !== STOPPED;
  }

  private fail(code: number, reason: string): false {
    this.stop();
    this.sink.onProtocolError(code, reason);
    return false;
  }
}
