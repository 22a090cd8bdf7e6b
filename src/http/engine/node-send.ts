/**
 * Sending on node's sockets: bodies that stream (a file range, a stream)
 * with backpressure and the send timeout, and closing a connection after
 * an error reply without letting a half-open client keep its slot.
 */
import { createReadStream } from "node:fs";
import net from "node:net";
import type { Duplex, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream";
import tls from "node:tls";
import { timerMs } from "../../core/clock.js";
import type { FileBody, StreamBody } from "../types.js";

/** How long a connection closed after an error reply may stay half-open before it is destroyed. */
const LINGER_MS = 2000;

/**
 * Writes a file range or a stream with backpressure. The send timeout
 * (nginx's send_timeout) cuts a client that stops reading: no chunk taken
 * for sendTimeout while the source waits on the client. A source that is
 * slow itself (a quiet event stream) is not the client's fault. (The
 * socket's own timer is not enough: node lets it run a second round while a
 * write is still queued.)
 */
export function streamBody(
  socket: Duplex & { setTimeout(ms: number): unknown },
  res: Writable,
  body: FileBody | StreamBody,
  sendTimeout: number,
  /** Called once: the bytes sent (after coding) and whether all went out. */
  done: (bytes: number, ok: boolean) => void,
): void {
  const source =
    body.kind === "file"
      ? createReadStream(body.path, { start: body.start, end: body.end, highWaterMark: 64 * 1024 })
      : body.stream;
  // The watchdog below replaces the socket's idle timer while the body streams (a quiet source is not
  // an idle client); node sets the keep-alive timer again when the response is done.
  socket.setTimeout(0);
  // Paused by the pipe, or all read and still unsent: the client is not taking what was sent.
  // Flowing with nothing to give: the source itself is slow, which is not the client's fault.
  const stalled = setTimeout(() => {
    if (source.isPaused() || source.readableEnded) resetConnection(socket);
    else stalled.refresh();
  }, timerMs(sendTimeout));
  let raw = 0;
  let coded = 0;
  source.on("data", (c: Buffer) => {
    raw += c.length;
    stalled.refresh();
  });
  const encode = body.kind === "file" ? body.encode : null;
  const settle = (err: Error | null | undefined) => {
    clearTimeout(stalled);
    if (err) {
      res.destroy();
      source.destroy();
    }
    done(encode ? coded : raw, !err);
  };
  if (encode === null) {
    pump(source, res, settle);
    return;
  }
  // The handler chose the coding and its settings (static-file policy); the engine pipes through it.
  const coder = encode.stream();
  coder.on("data", (c: Buffer) => (coded += c.length));
  pipeline(source, coder, res, settle);
}

/**
 * `source` into `res` with backpressure, calling `done` once: with null when
 * all was written, with an error when either side failed or the client went
 * away first (then the source is destroyed). What `pipeline` does for two
 * streams, without its per-call AbortController (whose abort builds a
 * DOMException on every response: a tenth of a proxied request's CPU).
 */
function pump(source: Readable, res: Writable, done: (err: Error | null) => void): void {
  let settled = false;
  const settle = (err: Error | null) => {
    if (settled) return;
    settled = true;
    source.removeListener("data", onData);
    res.removeListener("drain", onDrain);
    done(err);
  };
  const onData = (c: Buffer) => {
    if (!res.write(c)) source.pause();
  };
  const onDrain = () => source.resume();
  source.on("data", onData);
  res.on("drain", onDrain);
  source.once("end", () => res.end());
  source.once("error", (err) => settle(err));
  source.once("close", () => {
    if (!source.readableEnded) settle(new Error("the body's source closed before its end"));
  });
  res.once("finish", () => settle(null));
  res.once("close", () => {
    if (!settled) settle(new Error("the client went away"));
  });
  res.once("error", (err) => settle(err));
}

/**
 * Cuts a connection whose client reads nothing with a reset (nginx's
 * `reset_timedout_connection`): closed the usual way, the kernel would go on
 * holding its unsent bytes, trying to deliver them to a client that never
 * takes them. A TLS connection is only destroyed: resetting the TCP
 * connection under node's TLS layer crashes the process (seen on Node 20).
 */
export function resetConnection(socket: Duplex): void {
  if (socket instanceof net.Socket && !(socket instanceof tls.TLSSocket) && !socket.destroyed) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // A handle that is not TCP: an ordinary close below.
    }
  }
  socket.destroy();
}

function destroyNow(socket: Duplex): void {
  socket.destroy();
}

/**
 * Ends a connection after an error reply, and destroys it once the client
 * had LINGER_MS to read the reply: a client that keeps its half of the
 * connection open (after a 408, say) does not keep the slot.
 */
export function endAndRelease(socket: Duplex, data?: string | Buffer): void {
  if (data === undefined) socket.end();
  else socket.end(data);
  const timer = setTimeout(destroyNow, LINGER_MS, socket);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}
