import diagnostics from "node:diagnostics_channel";
// Type only: the event carries the answer records as the DNS code built them (no copy).
import type { NotifyOutcome } from "../dns/transfer/notify.js";
import type { SecondaryOutcome } from "../dns/transfer/secondary.js";
import type { TransferOutcome } from "../dns/transfer/serve.js";
import type { Record as DnsRecord } from "../dns/wire/message.js";

/**
 * The diagnostics channels protocol code publishes on. Logging, metrics and
 * the inspector subscribe; with no subscriber a publish costs one boolean check.
 *
 * One switch turns them off for an object: `observed` (default true) on an
 * HTTP engine (`createEngine`) and on a realtime `Hub` (its connections
 * follow it). The admin listener makes its own with `observed: false`, so
 * the inspector never shows its own traffic. Nothing else in protocol code
 * decides whether to publish.
 */

/** Published once per HTTP exchange, when the response is done (or the connection died). */
export interface HttpRequestEvent {
  /** Epoch milliseconds when the request arrived. */
  time: number;
  remoteAddress: string;
  method: string;
  host: string;
  target: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  durationMs: number;
  site: string;
  location: string;
  /** The handler kind that answered (`publish` for the realtime publish API), "" for files. */
  handler: string;
  referer: string;
  userAgent: string;
  /** False when the connection closed before the response was complete. */
  completed: boolean;
  /** Request headers as received, flat `[name, value, …]` (node's rawHeaders; not copied). */
  requestHeaders: readonly string[];
  /** Response headers Ferry set, flat `[name, value, …]` (not copied). */
  responseHeaders: readonly string[];
  /** For a proxied request: which upstream answered, and how (null otherwise). */
  upstream: UpstreamExchange | null;
  /** For a request over TLS: the session's version, SNI name and ALPN protocol (null over plain TCP). */
  tls: TlsInfo | null;
}

/** What a TLS session agreed on. */
export interface TlsInfo {
  /** `TLSv1.3`, `TLSv1.2`. */
  version: string;
  /** The name the client asked for (SNI), or "". */
  sni: string;
  /** `h2`, `http/1.1`, or "" when the client offered none. */
  alpn: string;
}

/** A TLS handshake finished, or failed (published by the TLS listeners). */
export interface TlsHandshakeEvent {
  time: number;
  ok: boolean;
  /** The session was resumed (a ticket), not a full handshake. */
  resumed: boolean;
  /** Why it failed (OpenSSL's or node's code, e.g. `ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM`), "" when it did not. */
  reason: string;
}

export const tlsHandshakeChannel = diagnostics.channel("ferry:tls:handshake");

/** A proxied request's upstream side. */
export interface UpstreamExchange {
  /** The upstream as configured (`127.0.0.1:3001`), or "" when none was reachable. */
  address: string;
  /** The upstream's status, or 0 when it sent none. */
  status: number;
  /** Time to open the connection (0 on a reused one), ms. */
  connectMs: number;
  /** Time from sending the request to the response headers, ms (0 when none came). */
  firstByteMs: number;
  /** Upstreams tried (more than 1 after a retry). */
  tries: number;
  /** The stable code of a failure (`ERR_PROXY_CONNECT`, …), or "". */
  error: string;
}

/** An upstream went down or came back (active checks or passive ejection). */
export interface ProxyHealthEvent {
  time: number;
  site: string;
  location: string;
  upstream: string;
  healthy: boolean;
  /** `active` (a health check decided) or `passive` (request failures, or the cooldown ended). */
  source: "active" | "passive";
  reason: string;
}

/** A proxied request failed on the upstream side (the client got 502/503/504 or a cut response). */
export interface ProxyErrorEvent {
  time: number;
  site: string;
  location: string;
  upstream: string;
  code: string;
  message: string;
}

export const proxyHealthChannel = diagnostics.channel("ferry:proxy:health");
export const proxyErrorChannel = diagnostics.channel("ferry:proxy:error");

/** What an upstream looks like now, for `/metrics` and the inspector (read when rendered). */
export interface UpstreamState {
  site: string;
  location: string;
  upstream: string;
  healthy: boolean;
  inflight: number;
  /** Connections opened to it so far (a pool that works keeps this low). */
  connections: number;
}

/** A certificate loaded, issued by the local CA, or refused (a bad file on reload). */
export interface TlsCertEvent {
  time: number;
  kind: "loaded" | "issued" | "error";
  site: string;
  /** The certificate file, or "" for an internal certificate. */
  file: string;
  message: string;
  /** `ERR_TLS_CERT` for errors, "" otherwise. */
  code: string;
}

export const tlsCertChannel = diagnostics.channel("ferry:tls:cert");

let sessionIds = 1;

/** A WebSocket session id, unique per process (Ferry's own sessions and proxied ones share the numbering). */
export function nextSessionId(): number {
  return sessionIds++;
}

/** Published when a client sends something that is not a valid HTTP request. */
export interface HttpClientErrorEvent {
  time: number;
  remoteAddress: string;
  code: string;
  status: number;
  message: string;
}

export const httpRequestChannel = diagnostics.channel("ferry:http:request");
export const httpClientErrorChannel = diagnostics.channel("ferry:http:client-error");

/** A WebSocket session opened or closed. */
export interface WsSessionEvent {
  kind: "open" | "close";
  time: number;
  /** Unique per process. */
  id: number;
  remoteAddress: string;
  site: string;
  path: string;
  /** Channels subscribed at that moment. */
  channels: string[];
  /** Close code (1006 when the connection died without one) and reason; 0 and "" on open. */
  code: number;
  reason: string;
  durationMs: number;
  compressed: boolean;
}

/** One frame in or out of a session (published only while someone listens). */
export interface WsFrameEvent {
  time: number;
  id: number;
  direction: "in" | "out";
  opcode: number;
  length: number;
  /** The start of a text payload (up to 512 characters), or "" for binary and control frames. */
  text: string;
}

/** A message published to a channel (over HTTP or by a client). */
export interface WsPublishEvent {
  time: number;
  site: string;
  path: string;
  channel: string;
  offset: number;
  bytes: number;
  subscribers: number;
  /** `http` or `client`. */
  source: "http" | "client";
}

/** A connection closed because its send queue passed the limit. */
export interface WsDropEvent {
  time: number;
  id: number;
  reason: "slow-consumer" | "idle";
}

export const wsSessionChannel = diagnostics.channel("ferry:ws:session");
export const wsFrameChannel = diagnostics.channel("ferry:ws:frame");
export const wsPublishChannel = diagnostics.channel("ferry:ws:publish");
export const wsDropChannel = diagnostics.channel("ferry:ws:drop");

/** A realtime endpoint's broker (Redis) became reachable or was lost. */
export interface RealtimeBrokerEvent {
  time: number;
  site: string;
  path: string;
  up: boolean;
  /** Why it went down (the client's error), or what happened. */
  reason: string;
}

export const realtimeBrokerChannel = diagnostics.channel("ferry:realtime:broker");

/** A DNS-over-TCP connection Ferry closed on its own (a limit, not the client's choice). */
export interface DnsTcpDropEvent {
  time: number;
  client: string;
  /**
   * `message-timeout`: a query did not arrive whole within `dns.tcpMessageTimeout`;
   * `evicted`: closed to make room for a new connection at `dns.tcpMaxConnections`;
   * `refused`: a new connection found every slot busy; `internal`: a bug, caught.
   */
  reason: "message-timeout" | "evicted" | "refused" | "internal";
}

export const dnsTcpDropChannel = diagnostics.channel("ferry:dns:tcp-drop");

/** Published once per answered query. */
export interface DnsQueryEvent {
  time: number;
  client: string;
  transport: "udp" | "tcp" | "doh" | "dot";
  name: string;
  type: string;
  rcode: number;
  flags: number;
  answers: number;
  truncated: boolean;
  durationMs: number;
  /** zone (authoritative or refused), cache (forwarder cache hit) or upstream (a miss, asked upstream). */
  source: "zone" | "cache" | "upstream";
  /** The answer records (shared with the packet cache; do not change them). */
  records: readonly DnsRecord[];
}

export const dnsQueryChannel = diagnostics.channel("ferry:dns:query");

/** A zone transfer served or refused, or a signed query whose TSIG failed (never a key's secret). */
export type DnsTransferEvent = TransferOutcome & { time: number; client: string; durationMs: number };

export const dnsTransferChannel = diagnostics.channel("ferry:dns:transfer");

/** A NOTIFY to a secondary acknowledged, or given up on. */
export type DnsNotifyEvent = NotifyOutcome & { time: number };

export const dnsNotifyChannel = diagnostics.channel("ferry:dns:notify");

/** A secondary zone's copy loaded, refreshed, failed to refresh, or expired. */
export type DnsSecondaryEvent = SecondaryOutcome & { time: number };

export const dnsSecondaryChannel = diagnostics.channel("ferry:dns:secondary");
