/** The engine's diagnostics events: one per exchange, one per refused request. */

import type { IncomingMessage } from "node:http";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import {
  type HttpRequestEvent,
  httpClientErrorChannel,
  httpRequestChannel,
  type TlsHandshakeEvent,
  type TlsInfo,
  tlsHandshakeChannel,
} from "../../core/diagnostics.js";
import type { Reply } from "../types.js";

export function publish(
  req: IncomingMessage,
  reply: Reply,
  bytes: number,
  started: number,
  completed: boolean,
): void {
  const h = req.headers;
  const took = performance.now() - started;
  const event: HttpRequestEvent = {
    time: Date.now() - took,
    remoteAddress: req.socket.remoteAddress ?? "",
    method: req.method ?? "",
    host: h.host ?? "",
    target: req.url ?? "",
    httpVersion: req.httpVersion,
    status: reply.status,
    bytes,
    durationMs: took,
    site: reply.site,
    location: reply.location,
    handler: reply.handler ?? "",
    referer: h.referer ?? "",
    userAgent: h["user-agent"] ?? "",
    completed,
    requestHeaders: req.rawHeaders,
    responseHeaders: reply.headers,
    upstream: reply.upstream ?? null,
    tls: tlsInfo(req.socket as TLSSocket),
  };
  httpRequestChannel.publish(event);
}

/** What a TLS socket agreed on; null for a plain one. */
export function tlsInfo(socket: TLSSocket | undefined): TlsInfo | null {
  if (socket === undefined || socket.encrypted !== true) return null;
  const sni = (socket as TLSSocket & { servername?: string | false }).servername;
  return { version: socket.getProtocol() ?? "", sni: sni || "", alpn: socket.alpnProtocol || "" };
}

/** A handshake's outcome, for /metrics. */
export function publishHandshake(ok: boolean, resumed: boolean, reason: string): void {
  if (!tlsHandshakeChannel.hasSubscribers) return;
  tlsHandshakeChannel.publish({ time: Date.now(), ok, resumed, reason } satisfies TlsHandshakeEvent);
}

/** A request refused before any handler ran; `from`: the client's socket, or its address (an HTTP/2 stream's). */
export function publishClientError(
  from: net.Socket | string,
  status: number,
  code: string,
  message: string,
): void {
  if (!httpClientErrorChannel.hasSubscribers) return;
  httpClientErrorChannel.publish({
    time: Date.now(),
    remoteAddress: typeof from === "string" ? from : (from.remoteAddress ?? ""),
    code,
    status,
    message,
  });
}
