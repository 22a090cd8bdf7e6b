/**
 * DNS over TCP (RFC 7766): two-byte length prefixes, pipelined queries
 * answered as they are ready, and limits a client cannot stretch:
 * - a whole query must arrive within `tcpMessageTimeout` of its first byte
 *   (a byte every few seconds does not keep a connection);
 * - an idle connection closes after `tcpIdleTimeout`;
 * - at `tcpMaxConnections`, a new connection evicts the least recently
 *   active idle one (then one stuck mid-query) instead of being refused;
 * - a client that sends queries but reads no answers is paused.
 * Nothing a client sends can throw past this module: a failure costs that
 * connection only.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { timerMs } from "../../core/clock.js";
import type { ListenAddress } from "../../core/config/types.js";
import { type DnsTcpDropEvent, dnsTcpDropChannel } from "../../core/diagnostics.js";
import { FerryError } from "../../core/errors.js";
import { answerTransfer, isTransferQuery, type TransferAnswer, transferType } from "../transfer/serve.js";
import type { QueryOutcome } from "./handle-query.js";
import { answerQuery, type DnsServerState, transferAsQuery } from "./state.js";

const kConn = Symbol("ferry.dns.tcp");
/** Answers queued for a client that is not reading, before Ferry stops reading its queries. */
const MAX_PENDING_WRITE = 256 * 1024;
/** Forwarded queries of one connection waiting for upstream answers, before Ferry stops reading it. */
const MAX_IN_FLIGHT = 64;
const EMPTY = Buffer.alloc(0);

interface Conn {
  socket: DnsSocket;
  state: DnsServerState;
  /** Every open connection of this listener, least recently active first. */
  all: Set<Conn>;
  chunks: Buffer[];
  buffered: number;
  /** Forwarded answers not yet written. */
  inFlight: number;
  timer: NodeJS.Timeout | null;
  /** True while the timer is the deadline of a query being received. */
  receiving: boolean;
  /** Bytes queued for the client when the timer was armed (none of them taken since: a stalled reader). */
  written: number;
  /** Zone transfers of this connection still queued for the client (counted in `state.transfersOut`). */
  transfers: number;
}

type DnsSocket = net.Socket & { [kConn]: Conn };

/** Takes `n` bytes off the front of the buffered chunks (copies only across chunk boundaries). */
export function take(chunks: Buffer[], n: number): Buffer {
  if (n === 0) return EMPTY;
  const first = chunks[0]!;
  if (first.length >= n) {
    if (first.length === n) chunks.shift();
    else chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  while (at < n) {
    const ch = chunks[0]!;
    const k = Math.min(ch.length, n - at);
    ch.copy(out, at, 0, k);
    at += k;
    if (k === ch.length) chunks.shift();
    else chunks[0] = ch.subarray(k);
  }
  return out;
}

function peekLength(chunks: Buffer[]): number {
  const first = chunks[0]!;
  if (first.length >= 2) return first.readUInt16BE(0);
  return (first[0]! << 8) | chunks[1]![0]!;
}

function drop(c: Conn, reason: DnsTcpDropEvent["reason"]): void {
  if (dnsTcpDropChannel.hasSubscribers) {
    const event: DnsTcpDropEvent = { time: Date.now(), client: c.socket.remoteAddress ?? "", reason };
    dnsTcpDropChannel.publish(event);
  }
  c.socket.destroy();
}

function arm(c: Conn, receiving: boolean): void {
  if (c.timer !== null) clearTimeout(c.timer);
  c.receiving = receiving;
  c.written = c.socket.writableLength;
  const ms = receiving ? c.state.tcp.messageTimeout : c.state.tcp.idleTimeout;
  c.timer = setTimeout(onTimer, timerMs(ms), c);
}

function onTimer(c: Conn): void {
  c.timer = null;
  if (c.socket.destroyed) return;
  if (c.receiving) {
    drop(c, "message-timeout");
  } else if (c.socket.writableLength > 0 && c.socket.writableLength >= c.written) {
    c.socket.destroy(); // answers queued and not one byte read for a whole idle timeout: a stalled reader
  } else if (c.inFlight > 0 || c.socket.writableLength > 0) {
    arm(c, false); // answers still on their way: idle starts after them
  } else {
    c.socket.destroy(); // idle: nothing to send, nothing to wait for
  }
}

function onData(this: DnsSocket, chunk: Buffer): void {
  const c = this[kConn];
  try {
    receive(c, chunk);
  } catch {
    drop(c, "internal");
  }
}

function receive(c: Conn, chunk: Buffer): void {
  // The deadline of a query runs from its first byte; later bytes do not move it.
  if (c.buffered === 0) arm(c, true);
  c.chunks.push(chunk);
  c.buffered += chunk.length;
  answerBuffered(c);
}

/**
 * Answers every whole query buffered, up to MAX_IN_FLIGHT forwarded ones
 * open at once: the rest wait, unread, until upstream answers land.
 */
function answerBuffered(c: Conn): void {
  const socket = c.socket;
  let answered = false;
  socket.cork();
  // A transfer writes a whole zone: the loop stops while the client has not read what is queued.
  while (c.buffered >= 2 && c.inFlight < MAX_IN_FLIGHT && socket.writableLength <= MAX_PENDING_WRITE) {
    const len = peekLength(c.chunks);
    if (c.buffered < 2 + len) break;
    take(c.chunks, 2);
    const query = take(c.chunks, len);
    c.buffered -= 2 + len;
    answered = true;
    if (!answer(c, query)) {
      socket.uncork();
      socket.destroy();
      return;
    }
  }
  process.nextTick(uncork, socket);
  const held = c.inFlight >= MAX_IN_FLIGHT;
  if (answered) {
    // Most recently active last: eviction looks from the front.
    c.all.delete(c);
    c.all.add(c);
  }
  // While queries wait for Ferry's upstreams, no message deadline runs: the wait is not the client's.
  if (answered || held) arm(c, c.buffered > 0 && !held);
  // A client that sends queries but reads no answers: stop reading until it catches up.
  if (socket.writableLength > MAX_PENDING_WRITE && !socket.isPaused()) {
    socket.pause();
    socket.once("drain", resumeAndAnswer);
  }
  // A client with many forwarded questions open: stop reading until the upstreams catch up.
  if (held && !socket.isPaused()) socket.pause();
}

/** Answers one query; false when the connection should close (no answer for that input). */
function answer(c: Conn, query: Buffer): boolean {
  const socket = c.socket;
  let report: ((o: QueryOutcome) => void) | undefined;
  const onQuery = c.state.onQuery;
  if (onQuery) {
    const started = performance.now();
    report = (o) =>
      onQuery(
        o,
        socket.remoteAddress ?? "",
        (socket as unknown as tls.TLSSocket).encrypted === true ? "dot" : "tcp",
        performance.now() - started,
      );
  }
  if (isTransferQuery(query)) {
    const sent = transfer(c, query);
    if (sent !== null) return sent;
  }
  let out: Buffer | null | Promise<Buffer | null> = null;
  try {
    out = answerQuery(query, c.state, false, report, socket.remoteAddress ?? "");
  } catch {
    out = null;
  }
  if (out instanceof Promise) {
    // Forwarded answers may come back out of order, which RFC 7766 §6.2.1.1 allows.
    c.inFlight++;
    out.then(
      (b) => {
        try {
          landed(c);
          if (b === null) socket.destroy();
          else sendFramed(socket, b);
        } catch {
          drop(c, "internal");
        }
      },
      () => {
        landed(c);
        socket.destroy();
      },
    );
    return true;
  }
  if (out === null) return false;
  sendFramed(socket, out);
  return true;
}

/**
 * AXFR or IXFR (transfer/serve.ts): every message of the answer written in
 * order. Null when the query is not one after all (the normal path answers).
 * With workers, a transfer that passes this process's checks waits for the
 * primary's verdict (replays and `dns.transfersOut` across workers,
 * transfer/gate.ts), counted as in flight meanwhile.
 */
function transfer(c: Conn, query: Buffer): boolean | null {
  const socket = c.socket;
  const started = performance.now();
  const client = socket.remoteAddress ?? "";
  const state = c.state;
  const gate = state.transferGate;
  let t: ReturnType<typeof answerTransfer>;
  try {
    t = answerTransfer(
      query,
      state.zones,
      state.transfer,
      client,
      false,
      state.transfersOut >= state.tcp.maxTransfers,
      gate !== null,
    );
  } catch {
    return false;
  }
  if (t === null) return null;
  if (!("hold" in t)) {
    deliver(c, t, query, client, started);
    return true;
  }
  const held = t;
  c.inFlight++;
  gate!.admit(held.hold).then((verdict) => {
    try {
      landed(c);
      if (!socket.destroyed) deliver(c, held.decide(verdict), query, client, started);
    } catch {
      drop(c, "internal");
    }
  });
  return true;
}

/**
 * Writes a transfer's answer and reports it. A transfer is in progress while
 * its messages wait for the client (they hold the encoded zone): counted in
 * `state.transfersOut` (and, with workers, by the primary) until then.
 */
function deliver(c: Conn, t: TransferAnswer, query: Buffer, client: string, started: number): void {
  const socket = c.socket;
  const state = c.state;
  for (const m of t.messages) sendFramed(socket, m);
  if (
    (t.outcome.kind === "axfr" || t.outcome.kind === "ixfr") &&
    socket.writableNeedDrain &&
    !socket.destroyed
  ) {
    state.transfersOut++;
    const gate = state.transferGate;
    gate?.take();
    // One listener pair per connection, however many transfers it has queued.
    if (c.transfers++ === 0) {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        state.transfersOut -= c.transfers;
        gate?.release(c.transfers);
        c.transfers = 0;
      };
      socket.on("drain", done);
      socket.on("close", done);
    }
  }
  const ms = performance.now() - started;
  state.onTransfer?.(t.outcome, client, ms);
  state.onQuery?.(
    transferAsQuery(t, transferType(query)),
    client,
    (socket as unknown as tls.TLSSocket).encrypted === true ? "dot" : "tcp",
    ms,
  );
}

/** A forwarded answer came back: read on once the connection is under its in-flight cap again. */
function landed(c: Conn): void {
  c.inFlight--;
  const s = c.socket;
  if (c.inFlight !== MAX_IN_FLIGHT / 2 || s.destroyed) return;
  try {
    if (c.buffered > 0) answerBuffered(c);
  } catch {
    drop(c, "internal");
    return;
  }
  if (c.inFlight < MAX_IN_FLIGHT && s.isPaused() && s.writableLength <= MAX_PENDING_WRITE) s.resume();
}

/** The client read its answers: read on, and answer what was left buffered (a zone transfer's queue). */
function resumeAndAnswer(this: DnsSocket): void {
  this.resume();
  const c = this[kConn];
  if (c.buffered === 0) return;
  try {
    answerBuffered(c);
  } catch {
    drop(c, "internal");
  }
}

function sendFramed(s: net.Socket, out: Buffer): void {
  if (s.destroyed) return;
  if (out.length > 0xffff) {
    s.destroy(); // cannot be framed (a bug upstream of here): that connection only
    return;
  }
  const prefix = Buffer.allocUnsafe(2);
  prefix.writeUInt16BE(out.length, 0);
  s.write(prefix);
  s.write(out);
}

function uncork(s: net.Socket): void {
  s.uncork();
}

function onClose(this: DnsSocket): void {
  const c = this[kConn];
  if (c.timer !== null) clearTimeout(c.timer);
  c.timer = null;
  c.chunks.length = 0;
  c.all.delete(c);
}

function onError(this: net.Socket): void {
  this.destroy();
}

/**
 * Makes room for one more connection: closes the least recently active idle
 * one, else the one longest stuck mid-query. False when every connection is
 * waiting for answers (the new one is refused).
 */
function evictOne(all: Set<Conn>): boolean {
  let partial: Conn | null = null;
  for (const c of all) {
    if (c.inFlight > 0 || c.socket.writableLength > 0) continue;
    if (c.buffered === 0) {
      drop(c, "evicted");
      all.delete(c);
      return true;
    }
    partial ??= c;
  }
  if (partial === null) return false;
  drop(partial, "evicted");
  all.delete(partial);
  return true;
}

/**
 * Listens for DNS over TCP, or over TLS (RFC 7858) when `secure` is given:
 * the same framing and limits inside the TLS session (a handshake must end
 * within `tcpMessageTimeout`).
 */
export function listenTcp(
  addr: ListenAddress,
  state: DnsServerState,
  secure?: tls.TlsOptions,
): Promise<{ server: net.Server; port: number }> {
  const all = new Set<Conn>();
  const onConnection = (raw: net.Socket) => {
    const socket = raw as DnsSocket;
    const c: Conn = {
      socket,
      state,
      all,
      chunks: [],
      buffered: 0,
      inFlight: 0,
      timer: null,
      receiving: false,
      written: 0,
      transfers: 0,
    };
    socket[kConn] = c;
    socket.on("error", onError);
    if (all.size >= state.tcp.maxConnections && !evictOne(all)) {
      drop(c, "refused");
      return;
    }
    all.add(c);
    socket.on("data", onData);
    socket.on("close", onClose);
    arm(c, false);
  };
  const server =
    secure === undefined
      ? net.createServer({ noDelay: true }, onConnection)
      : tls.createServer({ ...secure, handshakeTimeout: state.tcp.messageTimeout }, onConnection);
  if (secure !== undefined) server.on("tlsClientError", (_err, socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "address already in use" : err.message;
      reject(
        new FerryError("ERR_LISTEN", `cannot listen on ${addr.host}:${addr.port}/tcp: ${why}`, {
          cause: err,
        }),
      );
    });
    server.listen({ host: addr.host, port: addr.port }, () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    );
  });
}
