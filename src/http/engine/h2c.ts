/**
 * HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3) beside
 * HTTP/1.1 on one plain listener: the first bytes of a connection decide.
 * A client that opens with the HTTP/2 connection preface goes to the
 * HTTP/2 server; anything else to the HTTP/1.1 engine's own handler. The bytes read to
 * decide are put back before the chosen server takes the socket (first-bytes.ts).
 */
import type { Http2Server } from "node:http2";
import type net from "node:net";
import { decideByFirstBytes } from "../../core/first-bytes.js";

/** The client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** How the first bytes of a connection read: HTTP/2's preface, not it, or too few bytes to tell. */
export function classifyPreface(head: Buffer): "h2" | "h1" | "more" {
  const n = Math.min(head.length, PREFACE.length);
  if (head.compare(PREFACE, 0, n, 0, n) !== 0) return "h1";
  return n === PREFACE.length ? "h2" : "more";
}

/** Routes each connection of `server` by its first bytes: the preface to `h2`, the rest to HTTP/1.1. */
export function acceptPriorKnowledge(server: net.Server, h2: Http2Server, timeoutMs: number): void {
  const h1 = server.listeners("connection")[0] as (socket: net.Socket) => void;
  server.removeListener("connection", h1);
  server.on("connection", (socket: net.Socket) =>
    decideByFirstBytes(socket, timeoutMs, classifyPreface, (kind) => {
      if (kind === "h2") h2.emit("connection", socket);
      else h1.call(server, socket);
    }),
  );
}
