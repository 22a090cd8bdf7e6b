/**
 * Reads the first bytes of a connection to decide who takes it (h2c's
 * preface, a TLS ClientHello's ALPN list), then puts them back (`unshift`)
 * for whichever server that is. The socket is read in paused mode
 * (`readable`), so nothing flows past, and the handle keeps reading for the
 * server that consumes it next. A client that sends too little within
 * `timeoutMs` is closed.
 */
import type net from "node:net";
import { timerMs } from "./clock.js";

export function decideByFirstBytes<T>(
  socket: net.Socket,
  timeoutMs: number,
  decide: (head: Buffer) => T | "more",
  then: (decision: T) => void,
): void {
  let head: Buffer | null = null;
  const timer = setTimeout(() => socket.destroy(), timerMs(timeoutMs));
  timer.unref();
  const onReadable = (): void => {
    let chunk = socket.read() as Buffer | null;
    while (chunk !== null) {
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      chunk = socket.read() as Buffer | null;
    }
    if (head === null) return;
    const decision = decide(head);
    if (decision === "more") return;
    clearTimeout(timer);
    socket.removeListener("readable", onReadable);
    socket.unshift(head);
    then(decision);
  };
  socket.on("readable", onReadable);
  socket.once("close", () => clearTimeout(timer));
  socket.on("error", () => socket.destroy());
}
