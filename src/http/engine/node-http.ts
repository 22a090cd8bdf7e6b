import http, { type IncomingMessage, ServerResponse, STATUS_CODES } from "node:http";
import type { Http2Server } from "node:http2";
import https from "node:https";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import type tls from "node:tls";
import { timerMs } from "../../core/clock.js";
import type { HttpLimits, ListenAddress } from "../../core/config/types.js";
import { httpRequestChannel } from "../../core/diagnostics.js";
import { answerTlsAlpnChallenges } from "../../tls/alpn-challenge.js";
import { rotateTicketKeys, TLS_PROFILE } from "../../tls/profile.js";
import { plainReply } from "../plain-reply.js";
import {
  checkHead,
  classifyFailure,
  type ParseFailure,
  REFUSAL_CODES,
  resolveTarget,
} from "../request-checks.js";
import type { Handler, Reply, UpgradeHandler } from "../types.js";
import type { HttpEngine, TlsProvider } from "./engine.js";
import { acceptPriorKnowledge } from "./h2c.js";
import { listenOn } from "./listen.js";
import { publish, publishClientError, publishHandshake } from "./node-events.js";
import { createH2Server, stopHttp2 } from "./node-h2.js";
import { NodeRequest } from "./node-request.js";
import { endAndRelease, streamBody } from "./node-send.js";

const kEngine = Symbol("ferry.engine");
const kPending = Symbol("ferry.pending");
/**
 * Pipelined requests a connection may have waiting for their replies before
 * Ferry stops reading it (node's own pipelining brake counts only queued
 * response bytes, which replies still being prepared have not written yet).
 */
const MAX_PIPELINED = 16;
/** Replies a connection may leave unread before it is closed as a flood (no browser pipelines at all). */
const MAX_PIPELINED_UNREAD = 256;
/**
 * `_paused` is node's own flag for its pipelining brake: while it is set, node
 * does not restart reading when a request ends (it would otherwise undo the
 * pause at every finished reply), and its drain handler resumes the socket.
 */
type CountedSocket = net.Socket & { [kPending]?: number; _paused?: boolean };
type EngineServer = http.Server & { [kEngine]: NodeHttpEngine };

/** Runs HTTP/1.1 on any number of addresses (one node server each), all with the same handler and limits. */
export class NodeHttpEngine implements HttpEngine {
  private readonly servers: http.Server[] = [];
  /** The TLS listeners among them, with their ticket-key rotation. */
  private readonly tlsServers: { server: https.Server; h2: Http2Server; stop: () => void }[] = [];
  private tls: TlsProvider | null = null;
  private limits: HttpLimits;
  private closing = false;
  /** The current handler; swapped atomically on reload. */
  handler: Handler;
  /** Answers requests that ask to upgrade the connection; swapped with `handler`. */
  upgrade: UpgradeHandler;

  /** False for Ferry's own admin listener: its requests publish no diagnostics events. */
  readonly observed: boolean;

  /** HTTP/2 with prior knowledge on plain listeners started from now on. */
  private readonly h2c: boolean;
  /** The HTTP/2 servers of the plain listeners (h2c), for a graceful stop. */
  private readonly h2cServers: Http2Server[] = [];

  constructor(limits: HttpLimits, handler: Handler, upgrade: UpgradeHandler, observed = true, h2c = false) {
    this.observed = observed;
    this.h2c = h2c;
    this.limits = limits;
    this.handler = handler;
    this.upgrade = upgrade;
  }

  private createServer(tlsProvider?: TlsProvider): http.Server {
    const limits = this.limits;
    const options = {
      // node counts the request line and the headers together; the two limits are told apart in precheck.
      maxHeaderSize: limits.maxHeaderSize + limits.maxRequestLine,
      requireHostHeader: false,
      noDelay: true,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headerTimeout / 4))),
    };
    let server: http.Server;
    if (tlsProvider === undefined) {
      server = http.createServer(options, onRequest);
      if (this.h2c) {
        const h2 = createH2Server(this);
        this.h2cServers.push(h2);
        acceptPriorKnowledge(server, h2, limits.headerTimeout);
      }
    } else {
      this.tls = tlsProvider;
      const secure = https.createServer(
        {
          ...options,
          ...TLS_PROFILE,
          ...(tlsProvider.defaultCredentials() ?? {}),
          // HTTP/2 first when the client offers it (browsers, curl): same sites, same handler.
          ALPNProtocols: ["h2", "http/1.1"],
          // Read through `this.tls`, so a reload's new certificates apply to new handshakes.
          SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) =>
            this.tls!.sni(name, cb),
        },
        onRequest,
      );
      // https.Server reads every TLS connection as HTTP/1.1; sessions that chose h2 go to the HTTP/2 server.
      const h2 = createH2Server(this);
      const h1 = secure.listeners("secureConnection")[0] as (socket: tls.TLSSocket) => void;
      secure.removeListener("secureConnection", h1);
      secure.on("tlsClientError", (err: NodeJS.ErrnoException) => {
        if (this.observed) publishHandshake(false, false, err.code ?? err.message);
      });
      secure.on("secureConnection", (socket: tls.TLSSocket) => {
        if (this.observed) publishHandshake(true, socket.isSessionReused(), "");
        if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
        else h1.call(secure, socket);
      });
      // ACME TLS-ALPN-01 validations are answered on this listener too (only while one is pending).
      answerTlsAlpnChallenges(secure, limits.headerTimeout);
      this.tlsServers.push({ server: secure, h2, stop: rotateTicketKeys(secure) });
      server = secure;
    }
    (server as EngineServer)[kEngine] = this;
    server.on("clientError", onClientError);
    server.on("upgrade", onUpgrade);
    server.on("connect", onConnect);
    applyTo(server, limits);
    return server;
  }

  setTls(tlsProvider: TlsProvider): void {
    this.tls = tlsProvider;
    const creds = tlsProvider.defaultCredentials();
    if (creds !== null)
      for (const { server } of this.tlsServers) server.setSecureContext({ ...TLS_PROFILE, ...creds });
  }

  setHandlers(handler: Handler, upgrade: UpgradeHandler): void {
    this.handler = handler;
    this.upgrade = upgrade;
  }

  /** Applies the limits that can change on a running server (all but the header buffer size). */
  applyLimits(limits: HttpLimits): void {
    this.limits = limits;
    for (const s of this.servers) applyTo(s, limits);
  }

  /** Starts listening on one more address. */
  listen(addr: ListenAddress, tlsProvider?: TlsProvider): Promise<ListenAddress> {
    const server = this.createServer(tlsProvider);
    return listenOn(server, addr).then((bound) => {
      this.servers.push(server);
      return bound;
    });
  }

  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`,
   * then closes whatever is left. Resolves when every connection is gone.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    stopHttp2(this.tlsServers, this.h2cServers, graceMs);
    await Promise.all(
      this.servers.map((server) => {
        const done = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), timerMs(graceMs));
        timer.unref();
        return done.then(() => clearTimeout(timer));
      }),
    );
  }

  /** @internal */
  static of(server: http.Server): NodeHttpEngine {
    return (server as EngineServer)[kEngine];
  }

  /** @internal */
  get currentLimits(): HttpLimits {
    return this.limits;
  }

  /** @internal */
  get isClosing(): boolean {
    return this.closing;
  }
}

function applyTo(s: http.Server, limits: HttpLimits): void {
  s.headersTimeout = limits.headerTimeout;
  s.requestTimeout = Math.max(limits.requestTimeout, limits.headerTimeout);
  s.keepAliveTimeout = limits.idleTimeout;
  // The send timeout is armed per socket on its first request (see onRequest), so a connection
  // whose first request is a WebSocket upgrade never carries a timer it would keep after the upgrade.
  s.timeout = 0;
  s.maxHeadersCount = limits.maxHeaderCount + 1;
  s.maxConnections = limits.maxConnections;
}

/** The engine-neutral head checks (request-checks.ts) on node's parsed request. */
function precheck(req: IncomingMessage, limits: HttpLimits): number {
  return checkHead(
    {
      target: req.url ?? "",
      versionMajor: req.httpVersionMajor,
      versionMinor: req.httpVersionMinor,
      rawHeaders: req.rawHeaders,
      contentLength: req.headers["content-length"],
    },
    limits,
  );
}

/** Builds Ferry's request from node's; null when the target or host is malformed. */
function toFerryRequest(req: IncomingMessage, maxBodySize: number): NodeRequest | null {
  const target = resolveTarget(req.method ?? "GET", req.url ?? "", req.headers.host ?? "");
  if (target === null) return null;
  return new NodeRequest(
    req.method ?? "GET",
    target.rawPath,
    target.query,
    target.host,
    req.headers,
    req.httpVersion,
    req.socket.remoteAddress ?? "",
    (req.socket as tls.TLSSocket).encrypted === true,
    req,
    maxBodySize,
  );
}

function onRequest(this: http.Server, req: IncomingMessage, res: ServerResponse): void {
  const engine = NodeHttpEngine.of(this);
  const limits = engine.currentLimits;
  const started = httpRequestChannel.hasSubscribers && engine.observed ? performance.now() : 0;
  const socket = req.socket as CountedSocket;
  // Requests node had already parsed from a connection closed as a flood (below): nothing more to do.
  if (socket.destroyed) return;
  if (socket.timeout !== limits.sendTimeout) socket.setTimeout(limits.sendTimeout);
  const pending = (socket[kPending] ?? 0) + 1;
  socket[kPending] = pending;
  if (pending > MAX_PIPELINED_UNREAD) {
    // node parses every request of a chunk it has read before the brake below can act (64 KiB of
    // pipelined GETs is two thousand requests): a client that far ahead of its replies is not a client.
    publishClientError(
      socket,
      0,
      "ERR_HTTP_PIPELINE_FLOOD",
      `${pending} pipelined requests without reading a reply`,
    );
    socket.destroy();
    return;
  }
  if (pending >= MAX_PIPELINED && !socket._paused) {
    socket._paused = true;
    socket.pause();
  }
  const refused = precheck(req, limits);
  const request = refused === 0 ? toFerryRequest(req, limits.maxBodySize) : null;
  if (request === null) {
    const status = refused || 400;
    publishClientError(
      req.socket,
      status,
      REFUSAL_CODES[status] ?? "ERR_HTTP_BAD_REQUEST",
      `refused with ${status}`,
    );
    finish(engine, req, res, plainReply(status), started, true);
    return;
  }
  let reply: Reply | Promise<Reply>;
  try {
    reply = engine.handler(request);
  } catch (err) {
    reply = internalError(err);
  }
  if (reply instanceof Promise) {
    reply.then(
      (r) => finish(engine, req, res, r, started, false),
      (err) => finish(engine, req, res, internalError(err), started, false),
    );
  } else {
    finish(engine, req, res, reply, started, false);
  }
}

function hasBody(req: IncomingMessage): boolean {
  const h = req.headers;
  return (
    h["transfer-encoding"] !== undefined || (h["content-length"] !== undefined && h["content-length"] !== "0")
  );
}

function internalError(err: unknown): Reply {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: "ERR_HTTP_INTERNAL" });
  return plainReply(500);
}

/** Writes a reply; `close` ends the connection after it (used for every 4xx of framing). */
function finish(
  engine: NodeHttpEngine,
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  started: number,
  close: boolean,
): void {
  replied(req.socket as CountedSocket);
  if (res.headersSent || res.destroyed) return;
  let headers = reply.headers;
  // A body the handler did not read is not drained: the connection closes after the reply.
  if (close || engine.isClosing || (!req.complete && hasBody(req))) {
    headers = [...headers, "Connection", "close"];
    res.shouldKeepAlive = false;
  }
  res.writeHead(reply.status, headers);
  const body = reply.body;
  const head = req.method === "HEAD";
  if (body === null || head) {
    res.end();
    if (started) publish(req, reply, 0, started, true);
  } else if (Buffer.isBuffer(body)) {
    res.end(body);
    if (started) publish(req, reply, body.length, started, true);
  } else {
    streamBody(req.socket, res, body, engine.currentLimits.sendTimeout, (bytes, ok) => {
      if (started) publish(req, reply, bytes, started, ok);
    });
  }
}

/** One reply of a connection's pipeline is written: read on once the pipeline is short again. */
function replied(socket: CountedSocket): void {
  const pending = Math.max(0, (socket[kPending] ?? 0) - 1);
  socket[kPending] = pending;
  if (pending !== MAX_PIPELINED / 2 - 1 || !socket._paused || socket.destroyed) return;
  // While responses wait to be drained node's drain handler resumes reading; otherwise do it now.
  if (socket.writableNeedDrain) return;
  socket._paused = false;
  socket.resume();
}

/**
 * A request that asks to upgrade its connection (e.g. to WebSocket). The
 * upgrade handler either takes the socket over (status 101, written here) or
 * answers with an ordinary reply, written like any other; the connection
 * then closes.
 */
function onUpgrade(this: http.Server, req: IncomingMessage, socket: net.Socket, head: Buffer): void {
  const engine = NodeHttpEngine.of(this);
  const started = httpRequestChannel.hasSubscribers && engine.observed ? performance.now() : 0;
  socket.on("error", destroySelf);
  const refused = precheck(req, engine.currentLimits);
  const request = refused === 0 ? toFerryRequest(req, engine.currentLimits.maxBodySize) : null;
  if (request === null) {
    const status = refused || 400;
    publishClientError(
      socket,
      status,
      REFUSAL_CODES[status] ?? "ERR_HTTP_BAD_REQUEST",
      `refused with ${status}`,
    );
    writeRawReply(engine, req, socket, plainReply(status), started);
    return;
  }
  if (engine.isClosing) {
    writeRawReply(engine, req, socket, plainReply(503), started);
    return;
  }
  let reply: Reply | Promise<Reply>;
  try {
    reply = engine.upgrade(request);
  } catch (err) {
    reply = internalError(err);
  }
  if (reply instanceof Promise) {
    reply.then(
      (r) => upgraded(engine, req, socket, head, r, started),
      (err) => upgraded(engine, req, socket, head, internalError(err), started),
    );
  } else {
    upgraded(engine, req, socket, head, reply, started);
  }
}

function destroySelf(this: net.Socket): void {
  this.destroy();
}

/**
 * CONNECT asks an origin server to become a tunnel, which Ferry is not:
 * 405 with the methods it does take (node hands CONNECT over apart from
 * other requests, with the raw socket).
 */
function onConnect(this: http.Server, req: IncomingMessage, socket: net.Socket): void {
  const engine = NodeHttpEngine.of(this);
  const started = httpRequestChannel.hasSubscribers && engine.observed ? performance.now() : 0;
  socket.on("error", destroySelf);
  publishClientError(socket, 405, "ERR_HTTP_BAD_REQUEST", "CONNECT is not served");
  writeRawReply(engine, req, socket, plainReply(405, "", "", ["Allow", "GET, HEAD, OPTIONS"]), started);
}

/**
 * The upgrade handler answered: a 101 is written here (status line and the
 * handler's headers) before the handler takes the connection over; any
 * other reply is written and the connection closes.
 */
function upgraded(
  engine: NodeHttpEngine,
  req: IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  reply: Reply,
  started: number,
): void {
  if (reply.status === 101 && reply.upgrade !== undefined && !socket.destroyed) {
    let text = "HTTP/1.1 101 Switching Protocols\r\n";
    const h = reply.headers;
    for (let i = 0; i + 1 < h.length; i += 2) text += `${h[i]}: ${h[i + 1]}\r\n`;
    socket.write(`${text}\r\n`);
    socket.removeListener("error", destroySelf);
    reply.upgrade(socket, head);
    if (started) publish(req, reply, 0, started, true);
    return;
  }
  writeRawReply(
    engine,
    req,
    socket,
    reply.status === 101 ? internalError(new Error("101 without upgrade")) : reply,
    started,
  );
}

/**
 * Writes a reply on a socket node handed over (an upgrade or CONNECT that
 * is answered normally), through the same writer as every other reply: a
 * ServerResponse bound to the socket. The connection closes after it.
 */
function writeRawReply(
  engine: NodeHttpEngine,
  req: IncomingMessage,
  socket: net.Socket,
  reply: Reply,
  started: number,
): void {
  if (socket.destroyed) return;
  const res = new ServerResponse(req);
  res.assignSocket(socket);
  res.once("finish", () => {
    res.detachSocket(socket);
    endAndRelease(socket);
  });
  finish(engine, req, res, reply, started, true);
}

function onClientError(
  this: http.Server,
  err: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Duplex,
): void {
  const engine = NodeHttpEngine.of(this);
  const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, code } = classifyFailure(
    PARSE_FAILURES[err.code ?? ""] ?? "malformed",
    err.rawPacket,
    engine.currentLimits,
  );
  const text = `${status} ${STATUS_CODES[status]}\n`;
  endAndRelease(
    socket,
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
  );
  publishClientError(socket as net.Socket, status, code, err.message);
}

/** node's parser errors in engine-neutral words. */
const PARSE_FAILURES: Record<string, ParseFailure> = {
  HPE_HEADER_OVERFLOW: "header-overflow",
  HPE_INVALID_METHOD: "bad-method",
  HPE_INVALID_VERSION: "bad-version",
  ERR_HTTP_REQUEST_TIMEOUT: "timeout",
};
