/**
 * Logging: pino for the server's own structured log (stderr), and an access
 * log that subscribes to `ferry:http:request` and writes one line per request
 * (JSON or the combined log format) through a buffered writer (line-writer.ts).
 */
import diagnostics from "node:diagnostics_channel";
import { pino } from "pino";
import { encodeCombined, encodeJson, maxLineBytes } from "./access-encode.js";
import type { Config, LogLevel } from "./config/types.js";
import {
  type DnsNotifyEvent,
  type DnsSecondaryEvent,
  type DnsTcpDropEvent,
  type DnsTransferEvent,
  dnsNotifyChannel,
  dnsSecondaryChannel,
  dnsTcpDropChannel,
  dnsTransferChannel,
  type HttpClientErrorEvent,
  type HttpRequestEvent,
  httpClientErrorChannel,
  httpRequestChannel,
  type ProxyErrorEvent,
  type ProxyHealthEvent,
  proxyErrorChannel,
  proxyHealthChannel,
  type RealtimeBrokerEvent,
  realtimeBrokerChannel,
  type TlsCertEvent,
  tlsCertChannel,
  type WsDropEvent,
  type WsSessionEvent,
  wsDropChannel,
  wsSessionChannel,
} from "./diagnostics.js";
import { LineWriter, type WriterError } from "./line-writer.js";

/** Ferry's server logger. */
export type Logger = pino.Logger;

/** Creates the server logger (JSON lines on stderr). */
export function createLogger(level: LogLevel): Logger {
  return pino(
    { level, base: { service: "ferry" }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * The access log: one line per request from `ferry:http:request`, through a
 * `LineWriter` (64 KiB buffer, flushed when full and every second).
 */
export class AccessLog {
  private readonly writer: LineWriter;
  private readonly onEvent: (msg: unknown) => void;

  constructor(access: NonNullable<Config["log"]["access"]>, onError: WriterError) {
    const dest = access.output === "stdout" ? 1 : access.output === "stderr" ? 2 : access.output;
    this.writer = new LineWriter(dest, onError);
    // Encoded straight into the writer's buffer (access-encode.ts).
    const encode = access.format === "combined" ? encodeCombined : encodeJson;
    const writer = this.writer;
    this.onEvent = (msg) => {
      const e = msg as HttpRequestEvent;
      writer.writeWith(maxLineBytes(e), encode, e);
    };
    diagnostics.subscribe(httpRequestChannel.name, this.onEvent);
  }

  /** Opens the log file again (SIGUSR1, after logrotate moved it). */
  reopen(): void {
    this.writer.reopen();
  }

  /** Unsubscribes and writes what is buffered. */
  close(): void {
    diagnostics.unsubscribe(httpRequestChannel.name, this.onEvent);
    this.writer.close();
  }
}

/** Logs malformed requests (400/408/414/431 before any handler ran) at debug level, with their stable code. */
export function logClientErrors(log: Logger): () => void {
  const on = (msg: unknown) => {
    const e = msg as HttpClientErrorEvent;
    log.debug({ code: e.code, status: e.status, remote: e.remoteAddress }, e.message);
  };
  diagnostics.subscribe(httpClientErrorChannel.name, on);
  return () => diagnostics.unsubscribe(httpClientErrorChannel.name, on);
}

/**
 * Logs DNS-over-TCP connections closed on a limit: the message deadline and
 * evictions at debug level (an attack would flood the log), a refusal and a
 * caught bug at warn, each with its stable code.
 */
export function logDnsTcp(log: Logger): () => void {
  const on = (msg: unknown) => {
    const e = msg as DnsTcpDropEvent;
    const code = DNS_TCP_CODES[e.reason];
    const fields = { code, remote: e.client, reason: e.reason };
    if (e.reason === "refused" || e.reason === "internal") log.warn(fields, "dns tcp connection closed");
    else log.debug(fields, "dns tcp connection closed");
  };
  diagnostics.subscribe(dnsTcpDropChannel.name, on);
  return () => diagnostics.unsubscribe(dnsTcpDropChannel.name, on);
}

/**
 * Logs zone transfers (info), refused ones (warn, ERR_DNS_TRANSFER_REFUSED),
 * failed TSIG checks (warn, ERR_DNS_TSIG: the key's name, never its secret),
 * and NOTIFY: acknowledged (info) or given up (warn, ERR_DNS_NOTIFY), and
 * received for a secondary zone (info, once per sender and zone every 10 s).
 */
export function logDnsTransfers(log: Logger): () => void {
  // Refusals come from the network (a forged UDP source costs nothing): one line per client, zone and
  // kind every 10 s at most, then how many were left out.
  // So does a NOTIFY for a secondary zone without a key: anyone who forges the primary's address sends one.
  const quiet = new Map<string, { at: number; skipped: number }>();
  const allowed = (key: string, time: number): number | null => {
    const q = quiet.get(key);
    if (q !== undefined && time - q.at < 10_000) {
      q.skipped++;
      return null;
    }
    if (quiet.size >= 10_000) quiet.clear();
    quiet.set(key, { at: time, skipped: 0 });
    return q?.skipped ?? 0;
  };
  const onTransfer = (msg: unknown) => {
    const e = msg as DnsTransferEvent;
    let skipped = 0;
    if (e.kind === "refused" || e.kind === "notauth") {
      const n = allowed(`${e.kind} ${e.client} ${e.zone}`, e.time);
      if (n === null) return;
      skipped = n;
    }
    const fields = {
      zone: e.zone,
      remote: e.client,
      ...(e.key ? { key: e.key } : {}),
      ...(skipped > 0 ? { suppressed: skipped } : {}),
    };
    if (e.kind === "refused")
      log.warn({ ...fields, code: "ERR_DNS_TRANSFER_REFUSED", reason: e.reason }, "zone transfer refused");
    else if (e.kind === "notauth")
      log.warn(
        { ...fields, code: e.key ? "ERR_DNS_TSIG" : "ERR_DNS_TRANSFER_REFUSED", reason: e.reason },
        e.key ? "TSIG check failed" : "zone transfer refused",
      );
    else
      log.info(
        {
          ...fields,
          kind: e.kind,
          serial: e.serial,
          records: e.records,
          messages: e.messages,
          full: e.full,
          ms: Math.round(e.durationMs),
        },
        e.udp
          ? "IXFR over UDP answered with the current SOA (the client goes on over TCP)"
          : `zone transfer (${e.kind.toUpperCase()}${e.full ? ", whole zone" : ""}) served`,
      );
  };
  const onNotify = (msg: unknown) => {
    const e = msg as DnsNotifyEvent;
    const fields = { zone: e.zone, serial: e.serial, target: e.target, attempts: e.attempts };
    if (e.result === "acked") log.info(fields, "notify acknowledged");
    else log.warn({ ...fields, code: "ERR_DNS_NOTIFY", reason: e.reason }, "notify not acknowledged");
  };
  const onSecondary = (msg: unknown) => {
    const e = msg as DnsSecondaryEvent;
    const fields = { zone: e.zone, primary: e.primary, serial: e.serial, records: e.records, next: e.next };
    if (e.result === "updated")
      log.info(
        { ...fields, kind: e.kind, from: e.from },
        `secondary zone updated by ${e.kind?.toUpperCase()}`,
      );
    else if (e.result === "notified") {
      const skipped = allowed(`notified ${e.primary} ${e.zone}`, e.time);
      if (skipped === null) return;
      log.info(
        {
          zone: e.zone,
          remote: e.primary,
          ...(e.reason ? { relayed: e.reason } : {}),
          ...(skipped > 0 ? { suppressed: skipped } : {}),
        },
        e.reason ? "NOTIFY received, passed to the leader worker" : "NOTIFY received",
      );
    } else if (e.result === "loaded") log.info(fields, "secondary zone served from its copy on disk");
    else if (e.result === "current") log.debug(fields, "secondary zone is current");
    else if (e.result === "failed")
      log.warn({ ...fields, code: "ERR_DNS_SECONDARY", reason: e.reason }, "secondary zone refresh failed");
    else
      log.error({ ...fields, code: "ERR_DNS_SECONDARY_EXPIRED", reason: e.reason }, "secondary zone expired");
  };
  diagnostics.subscribe(dnsTransferChannel.name, onTransfer);
  diagnostics.subscribe(dnsNotifyChannel.name, onNotify);
  diagnostics.subscribe(dnsSecondaryChannel.name, onSecondary);
  return () => {
    diagnostics.unsubscribe(dnsTransferChannel.name, onTransfer);
    diagnostics.unsubscribe(dnsNotifyChannel.name, onNotify);
    diagnostics.unsubscribe(dnsSecondaryChannel.name, onSecondary);
  };
}

/** Logs certificates loaded and issued (info) and unusable ones (error, with ERR_TLS_CERT). */
export function logTls(log: Logger): () => void {
  const on = (msg: unknown) => {
    const e = msg as TlsCertEvent;
    const fields = { site: e.site, ...(e.file ? { file: e.file } : {}), ...(e.code ? { code: e.code } : {}) };
    if (e.kind === "error") log.error(fields, e.message);
    else log.info(fields, `certificate ${e.kind}: ${e.message}`);
  };
  diagnostics.subscribe(tlsCertChannel.name, on);
  return () => diagnostics.unsubscribe(tlsCertChannel.name, on);
}

/** Logs proxy failures (warn, with their stable code) and upstream health changes (warn down, info up). */
export function logProxy(log: Logger): () => void {
  const onError = (msg: unknown) => {
    const e = msg as ProxyErrorEvent;
    log.warn({ code: e.code, site: e.site, location: e.location, upstream: e.upstream }, e.message);
  };
  const onHealth = (msg: unknown) => {
    const e = msg as ProxyHealthEvent;
    const fields = {
      site: e.site,
      location: e.location,
      upstream: e.upstream,
      source: e.source,
      reason: e.reason,
    };
    if (e.healthy) log.info(fields, "proxy upstream up");
    else log.warn(fields, "proxy upstream down");
  };
  diagnostics.subscribe(proxyErrorChannel.name, onError);
  diagnostics.subscribe(proxyHealthChannel.name, onHealth);
  return () => {
    diagnostics.unsubscribe(proxyErrorChannel.name, onError);
    diagnostics.unsubscribe(proxyHealthChannel.name, onHealth);
  };
}

const DNS_TCP_CODES: Record<DnsTcpDropEvent["reason"], string> = {
  "message-timeout": "ERR_DNS_TCP_MESSAGE_TIMEOUT",
  evicted: "ERR_DNS_TCP_EVICTED",
  refused: "ERR_DNS_TCP_FULL",
  internal: "ERR_DNS_INTERNAL",
};

/**
 * Logs realtime events: dropped slow consumers (warn) and idle closes (info)
 * always; every session's open and close at debug level (protocol errors with
 * ERR_WS_PROTOCOL). Returns the unsubscribe function.
 */
export function logRealtime(log: Logger): () => void {
  const onDrop = (msg: unknown) => {
    const e = msg as WsDropEvent;
    if (e.reason === "slow-consumer")
      log.warn({ code: "ERR_WS_SLOW_CONSUMER", session: e.id }, "websocket client too slow: disconnected");
    else log.info({ code: "ERR_WS_IDLE_TIMEOUT", session: e.id }, "websocket client idle: closed");
  };
  const onSession = (msg: unknown) => {
    const e = msg as WsSessionEvent;
    const fields = { session: e.id, remote: e.remoteAddress, site: e.site, path: e.path };
    if (e.kind === "open") log.debug({ ...fields, compressed: e.compressed }, "websocket opened");
    else {
      const protocol = e.code === 1002 || e.code === 1007 || e.code === 1009;
      log.debug(
        {
          ...fields,
          ...(protocol ? { code: "ERR_WS_PROTOCOL" } : {}),
          close: e.code,
          reason: e.reason,
          channels: e.channels,
          duration_ms: e.durationMs,
        },
        "websocket closed",
      );
    }
  };
  const onBroker = (msg: unknown) => {
    const e = msg as RealtimeBrokerEvent;
    const fields = { site: e.site, path: e.path };
    if (e.up) log.info(fields, "realtime broker connected");
    else
      log.warn({ ...fields, code: "ERR_REALTIME_BROKER", reason: e.reason }, "realtime broker unreachable");
  };
  const sessions = log.isLevelEnabled("debug");
  diagnostics.subscribe(realtimeBrokerChannel.name, onBroker);
  diagnostics.subscribe(wsDropChannel.name, onDrop);
  if (sessions) diagnostics.subscribe(wsSessionChannel.name, onSession);
  return () => {
    diagnostics.unsubscribe(realtimeBrokerChannel.name, onBroker);
    diagnostics.unsubscribe(wsDropChannel.name, onDrop);
    if (sessions) diagnostics.unsubscribe(wsSessionChannel.name, onSession);
  };
}
