/**
 * HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3) beside
 * HTTP/1.1 on one plain listener: the first bytes of a connection decide.
 * A client that opens with the HTTP/2 connection preface goes to the
 * HTTP/2 server; anything else to node's HTTP/1.1 server. The bytes read to
 * decide are put back (`unshift`) before the chosen server takes the socket.
 * The socket is read in paused mode (`readable`), so nothing flows past us
 * and the handle keeps reading for whichever server consumes it next.
 */
import type http from "node:http";
import type { Http2Server } from "node:http2";
import type net from "node:net";

/** The client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** How the first bytes of a connection read: HTTP/2's preface, not it, or too few bytes to tell. */
export function classifyPreface(head: Buffer): "h2" | "h1" | "more" {
  const n = Math.min(head.length, PREFACE.length);
  if (head.compare(PREFACE, 0, n, 0, n) !== 0) return "h1";
  return n === PREFACE.length ? "h2" : "more";
}

/** Routes each connection of `server` by its first bytes: the preface to `h2`, the rest to HTTP/1.1. */
export function acceptPriorKnowledge(server: http.Server, h2: Http2Server, timeoutMs: number): void {
  const h1 = server.listeners("connection")[0] as (socket: net.Socket) => void;
  server.removeListener("connection", h1);
  server.on("connection", (socket: net.Socket) => {
    let head: Buffer | null = null;
    // A client that sends nothing is closed as node's header timeout would close it.
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    timer.unref();
    const onReadable = (): void => {
      let chunk: Buffer | null = socket.read() as Buffer | null;
      while (chunk !== null) {
        head = head === null ? chunk : Buffer.concat([head, chunk]);
        chunk = socket.read() as Buffer | null;
      }
      if (head === null) return;
      const kind = classifyPreface(head);
      if (kind === "more") return;
      clearTimeout(timer);
      socket.removeListener("readable", onReadable);
      socket.removeListener("close", onClose);
      socket.unshift(head);
      if (kind === "h2") h2.emit("connection", socket);
      else h1.call(server, socket);
    };
    const onClose = (): void => clearTimeout(timer);
    socket.on("readable", onReadable);
    socket.once("close", onClose);
    socket.on("error", () => socket.destroy());
  });
}
