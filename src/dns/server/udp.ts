/** DNS over UDP: one datagram in, at most one datagram out. */

import dgram from "node:dgram";
import { isIPv6 } from "node:net";
import { performance } from "node:perf_hooks";
import type { ListenAddress } from "../../core/config/types.js";
import { FerryError } from "../../core/errors.js";
import type { QueryOutcome } from "./handle-query.js";
import { answerQuery, type DnsServerState } from "./state.js";

/** Binds a UDP socket that answers from `state.zones` (read on every query, so reloads apply at once). */
export function listenUdp(
  addr: ListenAddress,
  state: DnsServerState,
): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket({ type: isIPv6(addr.host) ? "udp6" : "udp4", reuseAddr: false });
  socket.on("message", (msg, rinfo) => {
    let report: ((o: QueryOutcome) => void) | undefined;
    if (state.onQuery) {
      const started = performance.now();
      report = (o) => state.onQuery!(o, rinfo.address, "udp", performance.now() - started);
    }
    let out: Buffer | null | Promise<Buffer | null>;
    try {
      out = answerQuery(msg, state, true, report, rinfo.address);
    } catch {
      out = null; // A bug must not take the listener down; the client times out and retries.
    }
    if (out instanceof Promise) {
      out.then(
        (b) => b && socket.send(b, rinfo.port, rinfo.address),
        () => {},
      );
    } else if (out) socket.send(out, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "address already in use" : err.message;
      reject(
        new FerryError("ERR_LISTEN", `cannot listen on ${addr.host}:${addr.port}/udp: ${why}`, {
          cause: err,
        }),
      );
    });
    socket.bind(addr.port, addr.host, () => {
      socket.on("error", () => {});
      resolve({ socket, port: socket.address().port });
    });
  });
}
