/**
 * One HTTP/1.1 connection of Ferry's own engine: an explicit state machine
 * over the socket's bytes. Requests are answered one at a time, in order;
 * bytes of a pipelined next request wait in the connection's buffer until
 * the reply before them is written. Nothing is allocated per request but
 * the parsed head, the request object and the reply's text; the timers are
 * deadlines a sweeper of the engine checks (`expire`), not timer objects.
 */
import { METHODS } from "node:http";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import { advanceTurn, closeTurn, openTurn, turnNow, turnWallNow, wallTime } from "../../core/clock.js";
import type { HttpLimits } from "../../core/config/types.js";
import { type HttpRequestEvent, httpRequestChannel, type TlsInfo } from "../../core/diagnostics.js";
import { plainReply } from "../plain-reply.js";
import { checkHead, REFUSAL_CODES, resolveTarget } from "../request-checks.js";
import type { Handler, Reply, UpgradeHandler } from "../types.js";
import { FAILURES } from "./h1-failures.js";
import { decided, encodeHead, FRAMING_CHUNKED, FRAMING_NONE, joined, preparedWire } from "./h1-head.js";
import { H1Out } from "./h1-out.js";
import { type H1Failure, type H1Head, H1Parser, type H1Sink, newHead } from "./h1-parser.js";
import { type BodyOwner, H1Body, H1Request } from "./h1-request.js";
import { publishClientError, tlsInfo } from "./node-events.js";
import { endAndRelease, resetConnection, streamBody } from "./node-send.js";

/** What a connection needs from its engine. */
export interface H1Host {
  readonly handler: Handler;
  readonly upgrade: UpgradeHandler;
  readonly currentLimits: HttpLimits;
  readonly observed: boolean;
  readonly isClosing: boolean;
  readonly connections: Set<H1Connection>;
}

/** Requests answered back to back from bytes that were already waiting: past this, a flood. */
const MAX_PIPELINED = 256;
/** Unparsed bytes a connection holds while its reply is pending, before it stops reading. */
const MAX_BUFFERED = 64 * 1024;

const KNOWN_METHODS = new Set(METHODS);
const EMPTY = Buffer.alloc(0);

// Deadline kinds.
const NONE = 0;
const IDLE = 1;
const HEADER = 2;
const REQUEST = 3;
const SEND = 4;

// Why input is paused (bits).
const PAUSE_BODY = 1;
const PAUSE_BUFFER = 2;

export class H1Connection implements H1Sink, BodyOwner {
  readonly parser: H1Parser;
  /** Bytes read and not parsed yet: pend[pendStart..pendEnd). Slices of it handed out are never written over. */
  private pend: Buffer | null = null;
  private pendStart = 0;
  private pendEnd = 0;
  private driving = false;
  /** A request is being answered (its reply not written yet). */
  private exchange = false;
  private head: H1Head | null = null;
  private body: H1Body | null = null;
  /** Performance time the exchange started, when it publishes an event; 0 otherwise. */
  private started = 0;
  /** The connection ends after the reply in flight (or now); nothing more is parsed. */
  private ending = false;
  /** The reply of the current exchange was written (a late handler reply is dropped). */
  private answered = false;
  private handedOver = false;
  /** Requests parsed back to back from bytes that were waiting when the reply before them was done. */
  private pipelined = 0;
  /** Reads from the socket so far, and the count when the last reply was done. */
  private reads = 0;
  private doneAtRead = -1;
  private pausedBy = 0;
  private outPaused = false;
  private continued = false;
  private out: H1Out | null = null;
  /** When the current deadline passes (ms since the epoch; 0: none), and what it is for. */
  deadline = 0;
  deadlineKind = NONE;

  /** The client's address, read once (the socket's getter asks the handle on every call). */
  private readonly remote: string;
  /** The TLS session's version, SNI name and ALPN, read at the first request (they do not change). */
  private tls: TlsInfo | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly host: H1Host,
    private readonly secure: boolean,
  ) {
    const limits = host.currentLimits;
    this.remote = socket.remoteAddress ?? "";
    this.parser = new H1Parser(limits, this);
    host.connections.add(this);
    this.setDeadline(HEADER, limits.headerTimeout);
    socket.on("data", this.onData);
    socket.on("drain", this.onDrain);
    socket.on("end", this.onEnd);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
  }

  /** True when no request is in flight and no byte of the next one has come. */
  get idle(): boolean {
    return !this.exchange && this.pend === null && this.parser.idle;
  }

  private setDeadline(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = kind === NONE ? 0 : turnWallNow() + ms;
  }

  // --- input --------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.ending || this.handedOver) return;
    // The clock is read once for all this read's work (clock.ts).
    const turn = openTurn();
    try {
      this.reads++;
      if (this.deadlineKind === IDLE) this.setDeadline(HEADER, this.host.currentLimits.headerTimeout);
      if (this.pend === null) {
        this.pend = chunk;
        this.pendStart = 0;
        this.pendEnd = chunk.length;
      } else this.append(chunk);
      this.drive();
    } finally {
      closeTurn(turn);
    }
  };

  /** Appends to the unparsed bytes: into free space past them, or a new buffer (never over handed-out bytes). */
  private append(chunk: Buffer): void {
    const pend = this.pend!;
    const live = this.pendEnd - this.pendStart;
    if (this.pendEnd + chunk.length <= pend.length) {
      chunk.copy(pend, this.pendEnd);
      this.pendEnd += chunk.length;
      return;
    }
    const next = Buffer.allocUnsafe(Math.max(16 * 1024, 2 * (live + chunk.length)));
    pend.copy(next, 0, this.pendStart, this.pendEnd);
    chunk.copy(next, live);
    this.pend = next;
    this.pendStart = 0;
    this.pendEnd = live + chunk.length;
  }

  /** Parses what is buffered, as far as the exchange in flight allows. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    const parser = this.parser;
    while (this.pend !== null && !this.ending && !this.handedOver) {
      // The next request's head waits for the reply before it (pipelining), and for a client that reads.
      if ((this.exchange && !parser.inBody) || this.outPaused) break;
      const end = this.pendEnd;
      const at = parser.execute(this.pend, this.pendStart, end);
      if (at < 0) {
        this.driving = false;
        this.refuse(parser.failure!);
        return;
      }
      if (at === end) this.pend = null;
      else {
        this.pendStart = at;
        if (parser.waiting) break;
      }
    }
    this.driving = false;
    const held = this.pend === null ? 0 : this.pendEnd - this.pendStart;
    if (held > MAX_BUFFERED + this.host.currentLimits.maxHeaderSize) this.pause(PAUSE_BUFFER);
    else this.unpause(PAUSE_BUFFER);
  }

  private pause(reason: number): void {
    if (this.pausedBy === 0 && !this.handedOver) this.socket.pause();
    this.pausedBy |= reason;
  }

  private unpause(reason: number): void {
    if ((this.pausedBy & reason) === 0) return;
    this.pausedBy &= ~reason;
    if (this.pausedBy === 0 && !this.handedOver) this.socket.resume();
  }

  pauseInput(): void {
    this.pause(PAUSE_BODY);
  }

  resumeInput(): void {
    this.unpause(PAUSE_BODY);
  }

  sendContinue(): void {
    if (this.continued || this.answered || this.ending) return;
    this.continued = true;
    this.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
  }

  // --- the parser's events --------------------------------------------------

  onHead(head: H1Head): void {
    const host = this.host;
    const limits = host.currentLimits;
    if (this.reads === this.doneAtRead) {
      if (++this.pipelined > MAX_PIPELINED) {
        // A client this far ahead of its replies is not a client (no browser pipelines at all).
        publishClientError(
          this.socket,
          0,
          "ERR_HTTP_PIPELINE_FLOOD",
          `${this.pipelined} pipelined requests waiting for their replies`,
        );
        this.ending = true;
        this.parser.stop();
        this.socket.destroy();
        return;
      }
    } else this.pipelined = 0;
    this.head = head;
    this.exchange = true;
    this.answered = false;
    this.continued = false;
    this.started = host.observed && httpRequestChannel.hasSubscribers ? turnNow() : 0;
    const hasBody = head.chunked || head.contentLength > 0;
    this.body = hasBody ? new H1Body(this, head.expectContinue && head.versionMinor === 1) : null;
    this.setDeadline(hasBody ? REQUEST : NONE, limits.requestTimeout);
    let status = checkHead(
      {
        target: head.target,
        versionMajor: 1,
        versionMinor: head.versionMinor,
        rawHeaders: head.rawHeaders,
        contentLength: head.contentLength >= 0 ? String(head.contentLength) : undefined,
      },
      limits,
    );
    if (status === 0 && !KNOWN_METHODS.has(head.method)) status = 501;
    if (status === 0 && head.method === "CONNECT") {
      // CONNECT asks an origin server to become a tunnel, which Ferry is not.
      publishClientError(this.socket, 405, "ERR_HTTP_BAD_REQUEST", "CONNECT is not served");
      this.finish(plainReply(405, "", "", ["Allow", "GET, HEAD, OPTIONS"]), true);
      return;
    }
    const target = status === 0 ? resolveTarget(head.method, head.target, head.host) : null;
    if (target === null) {
      status ||= 400;
      publishClientError(
        this.socket,
        status,
        REFUSAL_CODES[status] ?? "ERR_HTTP_BAD_REQUEST",
        `refused with ${status}`,
      );
      this.finish(plainReply(status), true);
      return;
    }
    const req = new H1Request(
      head,
      target.rawPath,
      target.query,
      target.host,
      this.remote,
      this.secure,
      this.body,
      limits.maxBodySize,
    );
    if (head.upgrade) {
      // What follows the head belongs to the upgraded protocol: the parser stops here.
      this.pendStart = this.parser.headEnd;
      if (host.isClosing) {
        this.finish(plainReply(503), true);
        return;
      }
      this.answer(host.upgrade, req, this.onUpgradeReply);
      return;
    }
    this.answer(host.handler, req, this.onReply);
  }

  onBody(chunk: Buffer): void {
    this.body?.push(chunk);
  }

  onComplete(): void {
    if (this.body !== null) {
      this.body.end();
      if (this.deadlineKind === REQUEST) this.setDeadline(NONE, 0);
    }
  }

  private answer(handler: Handler, req: H1Request, then: (reply: Reply) => void): void {
    let reply: Reply | Promise<Reply>;
    try {
      reply = handler(req);
    } catch (err) {
      reply = internalError(err);
    }
    if (reply instanceof Promise) reply.then(then, (err) => then(internalError(err)));
    else then(reply);
  }

  private readonly onReply = (reply: Reply): void => this.finish(reply, false);

  private readonly onUpgradeReply = (reply: Reply): void => {
    if (reply.status === 101 && reply.upgrade !== undefined) {
      if (this.answered || this.socket.destroyed || this.ending) return;
      let text = "HTTP/1.1 101 Switching Protocols\r\n";
      const h = reply.headers;
      for (let i = 0; i + 1 < h.length; i += 2) text += `${h[i]}: ${h[i + 1]}\r\n`;
      this.socket.write(`${text}\r\n`, "latin1");
      this.answered = true;
      const rest = this.pend === null ? EMPTY : this.pend.subarray(this.pendStart, this.pendEnd);
      this.pend = null;
      this.handOver();
      if (this.started) this.publish(reply, 0, true);
      reply.upgrade(this.socket, rest);
      return;
    }
    this.finish(reply.status === 101 ? internalError(new Error("101 without upgrade")) : reply, true);
  };

  /** The upgrade handler takes the socket: Ferry's listeners and deadlines let go of it. */
  private handOver(): void {
    this.handedOver = true;
    this.parser.stop();
    this.setDeadline(NONE, 0);
    this.host.connections.delete(this);
    const s = this.socket;
    s.removeListener("data", this.onData);
    s.removeListener("drain", this.onDrain);
    s.removeListener("end", this.onEnd);
    s.removeListener("error", this.onError);
    s.removeListener("close", this.onClose);
    if (this.pausedBy !== 0) s.resume();
  }

  // --- output ---------------------------------------------------------------

  /** Writes a reply; `close` ends the connection after it (every refusal does). */
  private finish(reply: Reply, close: boolean): void {
    if (this.answered) {
      // Answered already (a timeout's 408 won the race): a streamed body is let go (a proxy's upstream request ends).
      const late = reply.body;
      if (late !== null && !Buffer.isBuffer(late) && late.kind === "stream") late.stream.destroy();
      return;
    }
    this.answered = true;
    const socket = this.socket;
    const head = this.head!;
    const b = reply.body;
    if (socket.destroyed || this.ending) {
      if (b !== null && !Buffer.isBuffer(b) && b.kind === "stream") b.stream.destroy();
      this.exchangeDone(false, true);
      return;
    }
    const host = this.host;
    // A body the handler did not read is not drained: the connection closes after the reply.
    const keepAlive =
      !close &&
      head.keepAlive &&
      !host.isClosing &&
      (this.body === null || this.body.ended) &&
      !this.readEnded;
    const isHead = head.method === "HEAD";
    if (
      b !== null &&
      Buffer.isBuffer(b) &&
      b.length > 0 &&
      !isHead &&
      head.versionMinor === 1 &&
      reply.status === 200
    ) {
      // A cached file: its head and body were put on the wire once this second.
      const wire = preparedWire(reply.status, reply.headers, b, keepAlive, turnWallNow());
      if (wire !== null) {
        let ok: boolean;
        if (joined(b)) ok = socket.write(wire);
        else {
          socket.cork();
          socket.write(wire);
          ok = socket.write(b);
          socket.uncork();
        }
        if (this.started) this.publish(reply, b.length, true);
        this.exchangeDone(keepAlive, ok);
        return;
      }
    }
    const inHand = b === null || Buffer.isBuffer(b);
    if (!inHand && isHead && b.kind === "stream") b.stream.destroy();
    const text = encodeHead(
      reply.status,
      reply.headers,
      b === null ? -2 : Buffer.isBuffer(b) ? b.length : -1,
      keepAlive,
      head.versionMinor,
      isHead,
      turnWallNow(),
    );
    const framing = decided.framing;
    const stays = decided.keepAlive;
    if (inHand || isHead || framing === FRAMING_NONE) {
      let ok: boolean;
      if (b !== null && Buffer.isBuffer(b) && framing !== FRAMING_NONE && b.length > 0 && joined(b)) {
        // A small body (a proxied answer, a plain reply): head and body in one buffer, one write.
        const wire = Buffer.allocUnsafe(text.length + b.length);
        wire.write(text, 0, "latin1");
        b.copy(wire, text.length);
        ok = socket.write(wire);
      } else if (b !== null && Buffer.isBuffer(b) && framing !== FRAMING_NONE && b.length > 0) {
        socket.cork();
        socket.write(text, "latin1");
        ok = socket.write(b);
        socket.uncork();
      } else ok = socket.write(text, "latin1");
      if (this.started)
        this.publish(reply, framing === FRAMING_NONE || b === null ? 0 : (b as Buffer).length, true);
      this.exchangeDone(stays, ok);
      return;
    }
    socket.write(text, "latin1");
    const out = new H1Out(socket, framing === FRAMING_CHUNKED);
    this.out = out;
    streamBody(socket, out, b, host.currentLimits.sendTimeout, (bytes, ok) => {
      this.out = null;
      if (this.started) this.publish(reply, bytes, ok);
      if (!ok) {
        socket.destroy();
        this.exchangeDone(false, true);
      } else this.exchangeDone(stays, true);
    });
  }

  /** The reply is written: keep the connection for the next request, or end it. */
  private exchangeDone(keepAlive: boolean, flushed: boolean): void {
    this.exchange = false;
    this.head = null;
    this.body = null;
    const socket = this.socket;
    if (!keepAlive) {
      this.ending = true;
      this.parser.stop();
      this.setDeadline(NONE, 0);
      if (!socket.destroyed) endAndRelease(socket);
      return;
    }
    const limits = this.host.currentLimits;
    if (!flushed) {
      this.outPaused = true;
      this.setDeadline(SEND, limits.sendTimeout);
    } else if (this.pend !== null) this.setDeadline(HEADER, limits.headerTimeout);
    else this.setDeadline(IDLE, limits.idleTimeout);
    this.doneAtRead = this.reads;
    if (!this.driving && !this.outPaused) this.drive();
  }

  private readonly onDrain = (): void => {
    if (!this.outPaused) return;
    this.outPaused = false;
    if (this.deadlineKind === SEND) {
      const limits = this.host.currentLimits;
      if (this.pend !== null) this.setDeadline(HEADER, limits.headerTimeout);
      else this.setDeadline(IDLE, limits.idleTimeout);
    }
    this.drive();
  };

  /** A parse failure: the protocol's answer, then the connection closes. */
  private refuse(why: H1Failure): void {
    const [status, code, message] = FAILURES[why];
    publishClientError(this.socket, status, code, message);
    this.body?.abort();
    if (this.exchange && this.answered) {
      // The reply went out before the bad bytes came: nothing more to say.
      this.ending = true;
      this.socket.destroy();
      return;
    }
    if (this.head === null) this.head = FAILED_HEAD;
    this.exchange = true;
    this.answered = false;
    this.finish(plainReply(status), true);
  }

  /** The sweeper found the deadline passed. */
  expire(): void {
    const kind = this.deadlineKind;
    this.setDeadline(NONE, 0);
    if (kind === IDLE) {
      this.socket.destroy();
      return;
    }
    if (kind === SEND) {
      resetConnection(this.socket);
      return;
    }
    if (kind === HEADER || kind === REQUEST) {
      publishClientError(this.socket, 408, "ERR_HTTP_REQUEST_TIMEOUT", "the request did not arrive in time");
      this.body?.abort();
      if (this.exchange && this.answered) {
        this.socket.destroy();
        return;
      }
      if (this.head === null) this.head = FAILED_HEAD;
      this.exchange = true;
      this.answered = false;
      this.finish(plainReply(408), true);
    }
  }

  /** Ends the connection for a graceful stop: now when idle, after its reply otherwise. */
  closeIfIdle(): void {
    if (this.idle) {
      this.ending = true;
      this.socket.destroy();
    }
  }

  /** The client half-closed: answer what is in flight, then end. */
  private readEnded = false;
  private readonly onEnd = (): void => {
    this.readEnded = true;
    // A body cut short by the client's FIN never ends: its reader gets an error.
    if (this.parser.inBody) this.body?.abort();
    if (!this.exchange) {
      this.ending = true;
      this.setDeadline(NONE, 0);
      this.socket.end();
    }
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.ending = true;
    this.setDeadline(NONE, 0);
    this.host.connections.delete(this);
    this.body?.abort();
    this.out?.destroy();
  };

  private tlsInfo(): TlsInfo | null {
    if (this.tls === null) this.tls = tlsInfo(this.socket as TLSSocket);
    return this.tls;
  }

  private publish(reply: Reply, bytes: number, completed: boolean): void {
    const h = this.head!;
    const end = performance.now();
    advanceTurn(end);
    const took = end - this.started;
    const raw = h.rawHeaders;
    let referer = "";
    let userAgent = "";
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === 7 && isName(n, "referer")) referer ||= raw[i + 1]!;
      else if (n.length === 10 && isName(n, "user-agent")) userAgent ||= raw[i + 1]!;
    }
    const event: HttpRequestEvent = {
      time: wallTime(this.started),
      remoteAddress: this.remote,
      method: h.method,
      host: h.host,
      target: h.target,
      httpVersion: h.versionMinor === 1 ? "1.1" : "1.0",
      status: reply.status,
      bytes,
      durationMs: took,
      site: reply.site,
      location: reply.location,
      handler: reply.handler ?? "",
      referer,
      userAgent,
      completed,
      requestHeaders: raw,
      responseHeaders: reply.headers,
      upstream: reply.upstream ?? null,
      tls: this.secure ? this.tlsInfo() : null,
    };
    httpRequestChannel.publish(event);
  }
}

/**
 * A header name (a token, as the parser checked) against a lowercase name of
 * the same length, without making a lowercase copy: OR-ing 0x20 folds only
 * `A`–`Z` onto another token character.
 */
function isName(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++)
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** The head a refusal is answered with when the parser had none (HTTP/1.1 framing, connection closing). */
const FAILED_HEAD: H1Head = { ...newHead("GET", "", 1), keepAlive: false };

function internalError(err: unknown): Reply {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: "ERR_HTTP_INTERNAL" });
  return plainReply(500);
}
