/**
 * DNS over TCP (RFC 7766): two-byte length prefixes, pipelined queries
 * answered in order, an idle timeout, and bounded buffering per connection.
 */
import net from "node:net";
import type { ListenAddress } from "../../core/config/types.js";
import { FerryError } from "../../core/errors.js";
import type { QueryOutcome } from "./handle-query.js";
import { answerQuery, type DnsServerState } from "./state.js";

const kState = Symbol("ferry.dns.tcp");
/** Answers queued for a client that is not reading, before Ferry stops reading its queries. */
const MAX_PENDING_WRITE = 256 * 1024;

interface Conn {
  socket: net.Socket;
  state: DnsServerState;
  chunks: Buffer[];
  buffered: number;
}

type DnsSocket = net.Socket & { [kState]: Conn };

/** Takes `n` bytes off the front of the buffered chunks (copies only across chunk boundaries). */
function take(c: Conn, n: number): Buffer {
  const first = c.chunks[0]!;
  let out: Buffer;
  if (first.length >= n) {
    out = first.subarray(0, n);
    if (first.length === n) c.chunks.shift();
    else c.chunks[0] = first.subarray(n);
  } else {
    out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const ch = c.chunks[0]!;
      const k = Math.min(ch.length, n - at);
      ch.copy(out, at, 0, k);
      at += k;
      if (k === ch.length) c.chunks.shift();
      else c.chunks[0] = ch.subarray(k);
    }
  }
  c.buffered -= n;
  return out;
}

function peekLength(c: Conn): number {
  const first = c.chunks[0]!;
  if (first.length >= 2) return first.readUInt16BE(0);
  return (first[0]! << 8) | c.chunks[1]![0]!;
}

function onData(this: DnsSocket, chunk: Buffer): void {
  const c = this[kState];
  c.chunks.push(chunk);
  c.buffered += chunk.length;
  this.cork();
  while (c.buffered >= 2) {
    const len = peekLength(c);
    if (c.buffered < 2 + len) break;
    take(c, 2);
    const query = take(c, len);
    let report: ((o: QueryOutcome) => void) | undefined;
    if (c.state.onQuery) {
      const started = performance.now();
      report = (o) => c.state.onQuery!(o, this.remoteAddress ?? "", "tcp", performance.now() - started);
    }
    let out: Buffer | null | Promise<Buffer | null> = null;
    try {
      out = answerQuery(query, c.state, false, report);
    } catch {
      out = null;
    }
    if (out instanceof Promise) {
      // Forwarded answers may come back out of order, which RFC 7766 §6.2.1.1 allows.
      out.then(
        (b) => (b === null ? this.destroy() : sendFramed(this, b)),
        () => this.destroy(),
      );
      continue;
    }
    if (out === null) {
      this.destroy();
      return;
    }
    sendFramed(this, out);
  }
  process.nextTick(uncork, this);
  // A client that sends queries but reads no answers: stop reading until it catches up.
  if (this.writableLength > MAX_PENDING_WRITE) {
    this.pause();
    this.once("drain", resume);
  }
}

function resume(this: net.Socket): void {
  this.resume();
}

function sendFramed(s: net.Socket, out: Buffer): void {
  if (s.destroyed) return;
  const prefix = Buffer.allocUnsafe(2);
  prefix.writeUInt16BE(out.length, 0);
  s.write(prefix);
  s.write(out);
}

function uncork(s: net.Socket): void {
  s.uncork();
}

function onTimeout(this: net.Socket): void {
  this.end();
}

/** Listens for DNS over TCP. */
export function listenTcp(
  addr: ListenAddress,
  state: DnsServerState,
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    (socket as DnsSocket)[kState] = { socket, state, chunks: [], buffered: 0 };
    socket.setTimeout(state.tcpIdleTimeout);
    socket.on("data", onData);
    socket.on("timeout", onTimeout);
    socket.on("error", () => socket.destroy());
  });
  server.maxConnections = 1000;
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
