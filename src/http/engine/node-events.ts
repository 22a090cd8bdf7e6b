/** The engine's diagnostics events: one per exchange, one per refused request. */
import type { IncomingMessage } from "node:http";
import type net from "node:net";
import { type HttpRequestEvent, httpClientErrorChannel, httpRequestChannel } from "../../core/diagnostics.js";
import type { Reply } from "../types.js";

export function publish(
  req: IncomingMessage,
  reply: Reply,
  bytes: number,
  started: number,
  completed: boolean,
): void {
  const h = req.headers;
  const event: HttpRequestEvent = {
    time: Date.now() - (performance.now() - started),
    remoteAddress: req.socket.remoteAddress ?? "",
    method: req.method ?? "",
    host: h.host ?? "",
    target: req.url ?? "",
    httpVersion: req.httpVersion,
    status: reply.status,
    bytes,
    durationMs: performance.now() - started,
    site: reply.site,
    location: reply.location,
    handler: reply.handler ?? "",
    referer: h.referer ?? "",
    userAgent: h["user-agent"] ?? "",
    completed,
    requestHeaders: req.rawHeaders,
    responseHeaders: reply.headers,
    upstream: reply.upstream ?? null,
  };
  httpRequestChannel.publish(event);
}

export function publishClientError(socket: net.Socket, status: number, code: string, message: string): void {
  if (!httpClientErrorChannel.hasSubscribers) return;
  httpClientErrorChannel.publish({
    time: Date.now(),
    remoteAddress: socket.remoteAddress ?? "",
    code,
    status,
    message,
  });
}
