/**
 * One server-side WebSocket connection. Socket listeners are module-level
 * functions that find their connection through a symbol (no closures per
 * connection); the connection is the receiver's sink. Writes report
 * backpressure: past `maxBackpressure` queued bytes the connection is
 * closed as a slow consumer, so one slow client never holds memory or
 * delays anyone else.
 */
import type net from "node:net";
import { nextSessionId, type WsFrameEvent, wsFrameChannel } from "../core/diagnostics.js";
import type { ChannelGroup, Message, Subscriber } from "./channel.js";
import { CloseCode, Opcode } from "./constants.js";
import { type DeflateParams, Inflater } from "./deflate.js";
import { closePayload, encodeFrame } from "./frame.js";
import { type FrameSink, Receiver } from "./receiver.js";

/** Process start; connection times count from it so they stay small integers (no boxed numbers). */
const T0 = Date.now();

/** Milliseconds on the connections' clock. */
export function clock(): number {
  return (Date.now() - T0) | 0;
}

/** What a connection needs from its hub. */
export interface ConnectionOwner {
  /** False for Ferry's own endpoints (the inspector's): their traffic publishes no diagnostics events. */
  readonly observed: boolean;
  readonly limits: { maxBackpressure: number; deflateThreshold: number };
  onClientMessage(conn: Connection, data: Buffer, binary: boolean): void;
  onClosed(conn: Connection): void;
  onSlow(conn: Connection): void;
  /** Queues the connection for one uncork at the end of this event-loop turn. */
  cork(conn: Connection): void;
}

export const OPEN = 0;
export const CLOSING = 1;
export const CLOSED = 2;

const kConnection = Symbol("ferry.ws.connection");
type OwnedSocket = net.Socket & { [kConnection]: Connection };

/** How long a closing handshake may take before the socket is destroyed. */
const CLOSE_TIMEOUT = 2000;

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  const conn = this[kConnection];
  try {
    conn.onData(chunk);
  } catch (err) {
    conn.internalError(err);
  }
}

function onSocketError(this: OwnedSocket): void {
  this.destroy();
}

function onSocketClose(this: OwnedSocket): void {
  this[kConnection].socketClosed();
}

function destroyLater(socket: net.Socket): void {
  socket.destroy();
}

function frameEvent(id: number, direction: "in" | "out", opcode: number, payload: Buffer | null): void {
  const event: WsFrameEvent = {
    time: Date.now(),
    id,
    direction,
    opcode,
    length: payload?.length ?? 0,
    text: opcode === Opcode.Text && payload !== null ? payload.toString("utf8", 0, 2048).slice(0, 512) : "",
  };
  wsFrameChannel.publish(event);
}

/**
 * A connection is its own frame receiver (it extends `Receiver` and is the
 * receiver's sink): one object per connection instead of two, which counts
 * when 10,000 sit idle.
 */
export class Connection extends Receiver implements FrameSink, Subscriber {
  readonly id = nextSessionId();
  readonly socket: net.Socket;
  readonly owner: ConnectionOwner;
  readonly deflate: DeflateParams | null;
  readonly protocol: string | null;
  /** On the `clock()` scale. */
  readonly opened = clock();
  state = OPEN;
  /** Its channels: none, one (the common case, kept without an array), or a list. */
  private subs: ChannelGroup<Connection> | ChannelGroup<Connection>[] | null = null;
  lastSeen = this.opened;
  pingSent = false;
  corked = false;
  closeCode: number = CloseCode.Abnormal;
  closeReason = "";

  constructor(
    socket: net.Socket,
    owner: ConnectionOwner,
    maxPayload: number,
    deflate: DeflateParams | null,
    protocol: string | null,
  ) {
    super(null, true, maxPayload);
    this.socket = socket;
    this.owner = owner;
    this.deflate = deflate;
    this.protocol = protocol;
    if (deflate !== null) this.inflater = new Inflater(deflate.clientNoContextTakeover);
    (socket as OwnedSocket)[kConnection] = this;
    socket.setTimeout(0);
    // node's HTTP server allows half-open sockets; a WebSocket closes when its peer sends FIN.
    socket.allowHalfOpen = false;
    socket.on("data", onSocketData);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
  }

  /**
   * Channels whose subscribe is being answered (the broker reads where the
   * channel stands, with a Redis round trip and a replay): one at a time per
   * channel, so a client cannot have its history read over and over at once.
   */
  answering: Set<ChannelGroup<Connection>> | null = null;

  /** Whether it is subscribed to `ch`. */
  isSubscribed(ch: ChannelGroup<Connection>): boolean {
    const s = this.subs;
    return s === ch || (Array.isArray(s) && s.includes(ch));
  }

  /** How many channels it is subscribed to. */
  get subscriptionCount(): number {
    const s = this.subs;
    return s === null ? 0 : Array.isArray(s) ? s.length : 1;
  }

  /** Its channels, as a new array. */
  channelList(): ChannelGroup<Connection>[] {
    const s = this.subs;
    return s === null ? [] : Array.isArray(s) ? [...s] : [s];
  }

  addChannel(ch: ChannelGroup<Connection>): void {
    const s = this.subs;
    if (s === null) this.subs = ch;
    else if (Array.isArray(s)) s.push(ch);
    else this.subs = [s, ch];
  }

  removeChannel(ch: ChannelGroup<Connection>): void {
    const s = this.subs;
    if (s === ch) this.subs = null;
    else if (Array.isArray(s)) {
      const i = s.indexOf(ch);
      if (i >= 0) s.splice(i, 1);
      if (s.length === 0) this.subs = null;
    }
  }

  clearChannels(): void {
    this.subs = null;
  }

  /** The peer's address (node caches it on the socket). */
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  /** Bytes from the peer (the socket's, or those that came with the upgrade request). */
  onData(chunk: Buffer): void {
    this.lastSeen = clock();
    this.pingSent = false;
    this.push(chunk);
  }

  /** Publishes a frame to the inspector, while someone listens (the one place that checks). */
  private traced(direction: "in" | "out", opcode: number, payload: Buffer | null): void {
    if (wsFrameChannel.hasSubscribers && this.owner.observed) frameEvent(this.id, direction, opcode, payload);
  }

  /**
   * The one close transition: an open connection records why it closes,
   * moves to `next` and is handed back to its owner, once. Returns whether
   * it was open.
   */
  private leaveOpen(code: number, reason: string, next: typeof CLOSING | typeof CLOSED): boolean {
    if (this.state !== OPEN) {
      if (next === CLOSED) this.state = CLOSED;
      return false;
    }
    this.closeCode = code;
    this.closeReason = reason;
    this.state = next;
    this.owner.onClosed(this);
    return true;
  }

  /** Ends TCP after what was written, and destroys the socket if the peer lingers. */
  private hangUp(): void {
    this.socket.end();
    setTimeout(destroyLater, CLOSE_TIMEOUT, this.socket).unref();
  }

  /** Writes bytes; closes the connection when its queue passes the limit. */
  private write(frame: Buffer): boolean {
    if (this.state !== OPEN) return false;
    this.socket.write(frame);
    if (this.socket.writableLength > this.owner.limits.maxBackpressure) {
      this.owner.onSlow(this);
      return false;
    }
    return true;
  }

  /** Sends a text message (a JSON reply to this client only). */
  sendText(text: string): boolean {
    const payload = Buffer.from(text, "utf8");
    this.traced("out", Opcode.Text, payload);
    return this.write(encodeFrame(Opcode.Text, payload));
  }

  /** Sends a channel message: the shared frame, compressed when agreed and large enough. */
  sendMessage(message: Message): void {
    if (this.state !== OPEN) return;
    const deflate = this.deflate;
    const frame =
      deflate !== null && message.payloadLength >= this.owner.limits.deflateThreshold
        ? message.compressedFrame(deflate.serverMaxWindowBits)
        : message.frame;
    if (!this.corked) this.owner.cork(this);
    if (wsFrameChannel.hasSubscribers && this.owner.observed)
      this.traced("out", Opcode.Text, message.frame.subarray(message.frame.length - message.payloadLength));
    this.write(frame);
  }

  /** Sends a ping; the peer's answer (or any byte) marks it alive. */
  ping(): void {
    this.pingSent = true;
    this.traced("out", Opcode.Ping, null);
    this.write(encodeFrame(Opcode.Ping, Buffer.alloc(0)));
  }

  /**
   * Starts the closing handshake; the socket is destroyed if the peer does
   * not answer in time. `hangUp` ends TCP right after the close frame (for a
   * peer that no longer answers).
   */
  close(code: number, reason: string, hangUp = false): void {
    if (this.state !== OPEN) return;
    this.traced("out", Opcode.Close, null);
    this.socket.write(encodeFrame(Opcode.Close, closePayload(code, reason)));
    this.leaveOpen(code, reason, hangUp ? CLOSED : CLOSING);
    if (hangUp) this.hangUp();
    else setTimeout(destroyLater, CLOSE_TIMEOUT, this.socket).unref();
  }

  /** Ends the connection at once (no closing handshake). */
  terminate(code: number, reason: string): void {
    this.leaveOpen(code, reason, CLOSED);
    this.socket.destroy();
  }

  onMessage(data: Buffer, binary: boolean): void {
    this.traced("in", binary ? Opcode.Binary : Opcode.Text, data);
    if (this.state !== OPEN) return;
    try {
      this.owner.onClientMessage(this, data, binary);
    } catch (err) {
      this.internalError(err);
    }
  }

  /** Inflated messages arrive from zlib's callback: guarded like socket data. */
  override inflated(data: Buffer | null, code: number, reason: string): void {
    try {
      super.inflated(data, code, reason);
    } catch (err) {
      this.internalError(err);
    }
  }

  /**
   * A bug met while handling this client's bytes: it costs this connection
   * (closed with 1011), never the server. The warning names the cause.
   */
  internalError(err: unknown): void {
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: "ERR_WS_INTERNAL" });
    if (this.state === OPEN) this.close(CloseCode.InternalError, "internal error", true);
    else this.socket.destroy();
  }

  onPing(data: Buffer): void {
    this.traced("in", Opcode.Ping, data);
    this.write(encodeFrame(Opcode.Pong, data));
  }

  onPong(data: Buffer): void {
    this.traced("in", Opcode.Pong, data);
  }

  onCloseFrame(code: number, reason: string): void {
    this.traced("in", Opcode.Close, null);
    // Echo the code (RFC 6455 §5.5.1) unless we started the close; then the server ends TCP first.
    if (this.state === OPEN)
      this.socket.write(
        encodeFrame(Opcode.Close, closePayload(code === CloseCode.NoStatus ? 1005 : code, "")),
      );
    this.leaveOpen(code, reason, CLOSED);
    this.hangUp();
  }

  onProtocolError(code: number, reason: string): void {
    if (this.state === OPEN) {
      this.traced("out", Opcode.Close, null);
      this.socket.write(encodeFrame(Opcode.Close, closePayload(code, reason)));
    }
    this.leaveOpen(code, reason, CLOSED);
    this.hangUp();
  }

  /** @internal the socket is gone. */
  socketClosed(): void {
    this.stop();
    (this.inflater as Inflater | null)?.close();
    this.leaveOpen(this.closeCode, this.closeReason, CLOSED);
  }
}
