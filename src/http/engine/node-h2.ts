/**
 * HTTP/2 (RFC 9113) on the TLS listeners, chosen by ALPN (and on plain
 * listeners with prior knowledge when `h2c` is on, see h2c.ts), over node's core
 * stream API (not the compatibility layer, which is slower). Each stream is
 * turned into Ferry's request, answered by the same handler as HTTP/1.1, and
 * its reply written with backpressure. Limits: concurrent streams, header
 * list size, a budget of client resets (rapid reset), node's own guards
 * against invalid-frame and CONTINUATION floods; a session with no stream
 * open (WebSockets included) is closed after `idleTimeout` (h2-sessions.ts).
 */

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import {
  advanceTurn,
  closeTurn,
  openTurn,
  timerMs,
  turnNow,
  turnWallNow,
  wallTime,
} from "../../core/clock.js";
import type { HttpLimits } from "../../core/config/types.js";
import { type HttpRequestEvent, httpRequestChannel, type TlsInfo } from "../../core/diagnostics.js";
import { parseHostCached } from "../host.js";
import { plainReply } from "../plain-reply.js";
import type { FerryRequest, Handler, Reply, UpgradeHandler } from "../types.js";
import {
  cutSession,
  type H2ServerWithSessions,
  H2Sessions,
  kSessions,
  MAX_CONCURRENT_STREAMS,
  noProgress,
  trackStream,
  watchSend,
} from "./h2-sessions.js";
import { httpDate } from "./http-date.js";
import { publishClientError, tlsInfo } from "./node-events.js";
import { BodyLimit } from "./node-request.js";

/** Headers HTTP/2 forbids in a response (RFC 9113 §8.2.2): the reply's are dropped, not sent. */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** What the HTTP/2 side needs from the engine. */
export interface H2Host {
  readonly handler: Handler;
  /** Answers WebSocket requests (extended CONNECT, RFC 8441) as it answers HTTP/1.1 upgrades. */
  readonly upgrade: UpgradeHandler;
  readonly currentLimits: HttpLimits;
  readonly observed: boolean;
  readonly isClosing: boolean;
}

/** The body reader of a stream whose handler asked for its body (failed first when the stream times out). */
const readers = new WeakMap<ServerHttp2Stream, Readable>();

/** A request as an HTTP/2 stream carries it. */
class H2Request implements FerryRequest {
  readonly httpVersion = "2.0";
  private raw: string[] | null = null;

  readonly rawPath: string;
  readonly query: string;
  /** False on a plain listener's HTTP/2 with prior knowledge (h2c). */
  readonly secure: boolean;

  constructor(
    readonly method: string,
    target: string,
    readonly host: string,
    readonly headers: IncomingHttpHeaders,
    readonly remoteAddress: string,
    private readonly h2: ServerHttp2Stream,
    private readonly maxBodySize: number,
    secure: boolean,
  ) {
    const q = target.indexOf("?");
    this.rawPath = q < 0 ? target : target.slice(0, q);
    this.query = q < 0 ? "" : target.slice(q + 1);
    this.secure = secure;
  }

  /** DATA frames follow unless the HEADERS frame ended the stream (RFC 9113 §8.1: no Content-Length needed). */
  get hasBody(): boolean {
    return !this.h2.endAfterHeaders && this.headers["content-length"] !== "0";
  }

  /** Regular headers, with `:authority` as `host` (what HTTP/1.1 code and a proxy expect). */
  get rawHeaders(): readonly string[] {
    if (this.raw === null) {
      const out: string[] = [];
      for (const [k, v] of Object.entries(this.headers)) {
        if (k.charCodeAt(0) === 58 /* : */ || v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) out.push(k, x);
        else out.push(k, String(v));
      }
      this.raw = out;
    }
    return this.raw;
  }

  stream(limit = this.maxBodySize): Readable {
    const counter = new BodyLimit(Math.min(limit, this.maxBodySize));
    const h2 = this.h2;
    h2.once("error", (err) => counter.destroy(err));
    // A reader that stops early (the size limit, an upstream that failed): the rest of the body is read and
    // dropped, so the stream ends and closes (node keeps a stream whose body was left unread, and so its session).
    counter.once("close", () => {
      if (h2.readableEnded || h2.destroyed) return;
      h2.unpipe(counter);
      h2.resume();
    });
    // A reset ends the stream's readable side as if the body were whole (node pushes an end when it closes the
    // stream): the reader must fail instead, so a proxied upstream never gets a cut body as a complete request.
    // The body is whole only when it was read to its end, or when the client's END_STREAM came before a NO_ERROR
    // reset (node then keeps what is buffered for the reader; any other code destroys the stream and drops it,
    // and a reader left waiting would hold the upstream request). `ended` is set by END_STREAM, before `aborted`.
    h2.once("aborted", () => {
      const ended = (h2 as unknown as { _readableState: { ended: boolean } })._readableState.ended;
      if (!h2.readableEnded && !(ended && h2.rstCode === http2.constants.NGHTTP2_NO_ERROR))
        counter.destroy(new Error("the client reset its stream before its body ended"));
    });
    readers.set(h2, counter);
    return h2.pipe(counter);
  }

  body(limit = this.maxBodySize): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const s = this.stream(limit);
      s.on("data", (c: Buffer) => {
        chunks.push(c);
        size += c.length;
      });
      s.once("end", () => resolve(Buffer.concat(chunks, size)));
      s.once("error", reject);
    });
  }
}

/** A graceful stop: GOAWAY to every session (streams in flight finish), then destroy what is left after `graceMs`. */
export function closeH2(server: http2.Http2Server, graceMs: number): void {
  const tracked = (server as H2ServerWithSessions)[kSessions];
  if (tracked === undefined) return;
  tracked.stop();
  const sessions = tracked.open;
  for (const s of sessions) s.close();
  const t = setTimeout(() => {
    // node's own destroy ends the connection gracefully, which would wait on a client that reads nothing.
    for (const s of sessions) cutSession(s);
  }, timerMs(graceMs));
  t.unref();
}

/**
 * An engine's graceful stop on the HTTP/2 side: each TLS listener stops
 * rotating its ticket keys, and every HTTP/2 server (TLS and h2c) closes.
 */
export function stopHttp2(
  tls: readonly { h2: http2.Http2Server; stop: () => void }[],
  h2c: readonly http2.Http2Server[],
  graceMs: number,
): void {
  for (const t of tls) {
    t.stop();
    closeH2(t.h2, graceMs);
  }
  for (const h2 of h2c) closeH2(h2, graceMs);
}

/** The HTTP/2 server of one TLS listener: sessions are handed to it by ALPN (`emit("connection", socket)`). */
export function createH2Server(host: H2Host): http2.Http2Server {
  const limits = host.currentLimits;
  const server = http2.createServer({
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: limits.maxHeaderSize + limits.maxRequestLine,
      enablePush: false,
      // RFC 8441: WebSockets over HTTP/2 by extended CONNECT.
      enableConnectProtocol: true,
    },
    maxHeaderListPairs: limits.maxHeaderCount + 8,
    // node closes a session that sends too many invalid frames or resets too many streams (rapid reset).
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
  });
  const sessions = new H2Sessions(
    () => host.currentLimits,
    (stream, answered) => {
      // Failed before the stream is answered and reset: the reader sees an error, not the end a reset pushes.
      readers.get(stream)?.destroy(new Error("the request did not arrive in time"));
      if (host.observed)
        publishClientError(
          peerOf(stream).remote,
          answered ? 0 : 408,
          "ERR_HTTP_REQUEST_TIMEOUT",
          answered
            ? "the request's body did not end in time: its stream was reset after its answer"
            : "the request did not arrive in time",
        );
    },
  );
  (server as H2ServerWithSessions)[kSessions] = sessions;
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => session.destroy());
    if (host.isClosing) session.close();
  });
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    // The clock is read once for the stream's synchronous work (clock.ts).
    const turn = openTurn();
    try {
      onStream(host, stream, headers);
    } finally {
      closeTurn(turn);
    }
  });
  return server;
}

/** What a session's streams share: the client's address and the TLS session, read once per session. */
interface Peer {
  remote: string;
  tls: TlsInfo | null;
}
const kPeer = Symbol("ferry.h2peer");
type PeerSession = http2.ServerHttp2Session & { [kPeer]?: Peer };
const NO_PEER: Peer = { remote: "", tls: null };

function peerOf(stream: ServerHttp2Stream): Peer {
  const session = stream.session as PeerSession | undefined;
  if (session === undefined) return NO_PEER;
  let peer = session[kPeer];
  if (peer === undefined) {
    // `session.socket` is a proxy that binds every method it hands out: asked once, not per stream.
    const socket = session.socket as TLSSocket | undefined;
    peer = { remote: socket?.remoteAddress ?? "", tls: tlsInfo(socket) };
    session[kPeer] = peer;
  }
  return peer;
}

function onStreamError(this: ServerHttp2Stream): void {
  this.destroy();
}

function onStream(host: H2Host, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  stream.on("error", onStreamError);
  // An extended CONNECT (a WebSocket, RFC 8441) never ends its request: no request deadline for it.
  trackStream(stream, headers[":method"] === "CONNECT" ? 0 : host.currentLimits.requestTimeout);
  const started = httpRequestChannel.hasSubscribers && host.observed ? turnNow() : 0;
  const method = String(headers[":method"] ?? "GET");
  const target = String(headers[":path"] ?? "/");
  const authority = String(headers[":authority"] ?? headers.host ?? "");
  const peer = peerOf(stream);
  const remote = peer.remote;
  const hostName = authority === "" ? "" : parseHostCached(authority);
  if (hostName === null || target.charCodeAt(0) !== 47 /* / */) {
    respond(stream, plainReply(400), method, started, headers, remote);
    return;
  }
  if (method === "CONNECT") {
    // Extended CONNECT for a WebSocket (RFC 8441); a plain CONNECT (a tunnel) is not served.
    const protocol = headers[":protocol"];
    if (protocol === "websocket") webSocket(host, stream, headers, hostName, authority, remote, started);
    else respond(stream, plainReply(protocol === undefined ? 405 : 501), method, started, headers, remote);
    return;
  }
  // node made this object for this stream: `host` is added in place (what HTTP/1.1 code and proxies read).
  if (headers.host === undefined) headers.host = authority;
  const withHost = headers;
  const req = new H2Request(
    method,
    target,
    hostName,
    withHost,
    remote,
    stream,
    host.currentLimits.maxBodySize,
    peer.tls !== null,
  );
  let reply: Reply | Promise<Reply>;
  try {
    reply = host.handler(req);
  } catch (err) {
    reply = internal(err);
  }
  if (reply instanceof Promise)
    reply.then(
      (r) => respond(stream, r, method, started, withHost, remote),
      (err) => respond(stream, internal(err), method, started, withHost, remote),
    );
  else respond(stream, reply, method, started, withHost, remote);
}

/**
 * A WebSocket over one HTTP/2 stream (RFC 8441 §4–5). The extended CONNECT
 * is handed to the upgrade handler as the HTTP/1.1 upgrade it stands for
 * (GET with `Upgrade: websocket` and a fresh `Sec-WebSocket-Key`), so
 * realtime endpoints and proxy locations answer it unchanged. Their 101
 * becomes a 200 without the HTTP/1.1-only headers, and the stream takes the
 * place of the socket: WebSocket frames flow in its DATA frames.
 */
function webSocket(
  host: H2Host,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  hostName: string,
  authority: string,
  remote: string,
  started: number,
): void {
  const asUpgrade: IncomingHttpHeaders = {
    ...headers,
    host: authority,
    upgrade: "websocket",
    connection: "upgrade",
    "sec-websocket-key": randomBytes(16).toString("base64"),
  };
  const req = new H2Request(
    "GET",
    String(headers[":path"]),
    hostName,
    asUpgrade,
    remote,
    stream,
    0,
    peerOf(stream).tls !== null,
  );
  const answer = (reply: Reply): void => {
    if (reply.status !== 101 || reply.upgrade === undefined || stream.destroyed) {
      respond(stream, reply.status === 101 ? plainReply(500) : reply, "CONNECT", started, headers, remote);
      return;
    }
    const out = toH2Headers({ ...reply, status: 200 });
    delete out["sec-websocket-accept"];
    stream.respond(out);
    if (started)
      publishH2(peerOf(stream).tls, "CONNECT", headers, remote, { ...reply, status: 200 }, 0, started, true);
    // What the WebSocket code reads from a socket besides the Duplex: the peer's address.
    Object.defineProperty(stream, "remoteAddress", { value: remote });
    reply.upgrade(stream as unknown as net.Socket, Buffer.alloc(0));
  };
  let reply: Reply | Promise<Reply>;
  try {
    reply = host.upgrade(req);
  } catch (err) {
    reply = internal(err);
  }
  if (reply instanceof Promise) reply.then(answer, (err) => answer(internal(err)));
  else answer(reply);
}

function internal(err: unknown): Reply {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: "ERR_HTTP_INTERNAL" });
  return plainReply(500);
}

/**
 * Header objects made for header lists that are reused (frozen: a cached
 * file's prepared headers), with the status they were made for. node copies
 * what `respond` is given, so one object serves every reply of that list
 * (its `date` brought up to the second before each use).
 */
const converted = new WeakMap<
  string[],
  { status: number; out: http2.OutgoingHttpHeaders; ferryDate: boolean }
>();

/**
 * The reply's headers as an HTTP/2 header object (lower case, repeats as
 * lists, connection-specific ones dropped), with a `date` when the reply has
 * none. Ferry sets `date` itself: node adds a missing one with a store that
 * misses its inline cache on every response in a busy server (about 0.9 µs
 * of CPU a response, seen with `--log-ic`), and skips it when the object has one.
 */
function h2Headers(reply: Reply): http2.OutgoingHttpHeaders {
  const date = httpDate(turnWallNow());
  if (!Object.isFrozen(reply.headers)) {
    const out = toH2Headers(reply);
    out.date ??= date;
    return out;
  }
  const seen = converted.get(reply.headers);
  if (seen !== undefined && seen.status === reply.status) {
    if (seen.ferryDate) seen.out.date = date;
    return seen.out;
  }
  const out = toH2Headers(reply);
  const ferryDate = out.date === undefined;
  if (ferryDate) out.date = date;
  converted.set(reply.headers, { status: reply.status, out, ferryDate });
  return out;
}

function toH2Headers(reply: Reply): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ":status": reply.status };
  const h = reply.headers;
  for (let i = 0; i + 1 < h.length; i += 2) {
    const name = h[i]!.toLowerCase();
    if (CONNECTION_SPECIFIC.has(name)) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = h[i + 1]!;
    else out[name] = Array.isArray(prev) ? [...prev, h[i + 1]!] : [String(prev), h[i + 1]!];
  }
  return out;
}

function respond(
  stream: ServerHttp2Stream,
  reply: Reply,
  method: string,
  started: number,
  headers: IncomingHttpHeaders,
  remote: string,
): void {
  if (stream.destroyed || stream.closed) {
    if (reply.body !== null && !Buffer.isBuffer(reply.body) && reply.body.kind === "stream")
      reply.body.stream.destroy();
    return;
  }
  if (reply.status === 101) reply = plainReply(501);
  const body = reply.body;
  const head = method === "HEAD" || body === null;
  stream.respond(h2Headers(reply), { endStream: head });
  const done = (bytes: number, completed: boolean) => {
    if (started) publishH2(peerOf(stream).tls, method, headers, remote, reply, bytes, started, completed);
  };
  if (head) {
    if (body !== null && !Buffer.isBuffer(body) && body.kind === "stream") body.stream.destroy();
    done(0, true);
    return;
  }
  if (Buffer.isBuffer(body)) {
    stream.end(body);
    watchSend(stream, noProgress);
    done(body.length, true);
    return;
  }
  let source: Readable =
    body.kind === "file"
      ? createReadStream(body.path, { start: body.start, end: body.end, highWaterMark: 64 * 1024 })
      : body.stream;
  if (body.kind === "file" && body.encode !== null) source = source.pipe(body.encode.stream());
  let bytes = 0;
  source.on("data", (c: Buffer) => {
    bytes += c.length;
  });
  // What the source gave is what was handed to the stream (the pipe gives more only as the stream takes it).
  watchSend(stream, () => bytes);
  source.once("error", () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  stream.once("close", () => {
    if (!source.readableEnded) source.destroy();
    done(bytes, source.readableEnded);
  });
  source.pipe(stream);
}

function publishH2(
  tls: TlsInfo | null,
  method: string,
  headers: IncomingHttpHeaders,
  remote: string,
  reply: Reply,
  bytes: number,
  started: number,
  completed: boolean,
): void {
  const end = performance.now();
  advanceTurn(end);
  const took = end - started;
  const event: HttpRequestEvent = {
    time: wallTime(started),
    remoteAddress: remote,
    method,
    host: String(headers[":authority"] ?? headers.host ?? ""),
    target: String(headers[":path"] ?? ""),
    httpVersion: "2.0",
    status: reply.status,
    bytes,
    durationMs: took,
    site: reply.site,
    location: reply.location,
    handler: reply.handler ?? "",
    referer: String(headers.referer ?? ""),
    userAgent: String(headers["user-agent"] ?? ""),
    completed,
    requestHeaders: [],
    responseHeaders: reply.headers,
    upstream: reply.upstream ?? null,
    tls: tls,
  };
  httpRequestChannel.publish(event);
}
