/**
 * WebSocket pass-through: the upgrade request goes to the upstream (over
 * node's HTTP client, which hands over the socket after a 101); a 101 is
 * relayed and the two connections are joined both ways with backpressure,
 * half-close and an idle timeout; any other answer is relayed as it is.
 * The frames are read as they pass (`FrameTap`) and published like Ferry's
 * own sessions, so the inspector shows a proxied session and its messages.
 */

import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import { timerMs } from "../../core/clock.js";
import type { HeaderRules } from "../../core/config/types.js";
import {
  nextSessionId,
  type WsFrameEvent,
  type WsSessionEvent,
  wsFrameChannel,
  wsSessionChannel,
} from "../../core/diagnostics.js";
import type { Reply } from "../types.js";
import { responseHeaders } from "./headers.js";
import type { Upstream } from "./upstream.js";
import { FrameTap } from "./ws-tap.js";

/** What the upstream said to an upgrade request. */
export type UpgradeAnswer =
  | { kind: "upgraded"; res: http.IncomingMessage; socket: net.Socket; head: Buffer; firstByteMs: number }
  | { kind: "response"; res: http.IncomingMessage; firstByteMs: number };

/** Sends the upgrade request to one upstream; rejects with a node error code on connect failure or timeout. */
export function sendUpgrade(
  up: Upstream,
  method: string,
  path: string,
  headers: string[],
  timeouts: { connect: number; response: number },
): Promise<UpgradeAnswer> {
  const t0 = performance.now();
  const obj: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const k = headers[i]!;
    const prev = obj[k];
    obj[k] =
      prev === undefined
        ? headers[i + 1]!
        : Array.isArray(prev)
          ? [...prev, headers[i + 1]!]
          : [prev, headers[i + 1]!];
  }
  const [host, port] = splitTarget(up.target);
  return new Promise((resolve, reject) => {
    const options = { host, port, method, path, headers: obj, setHost: false, agent: false as const };
    const req = up.secure ? https.request({ ...options, ...up.tlsOptions }) : http.request(options);
    const fail = (code: string) => {
      const err = Object.assign(new Error(code), { code });
      req.destroy(err);
    };
    const connectTimer = setTimeout(fail, timerMs(timeouts.connect), "UND_ERR_CONNECT_TIMEOUT");
    let responseTimer: NodeJS.Timeout | null = null;
    req.once("socket", (s: net.Socket) => {
      s.once("connect", () => {
        clearTimeout(connectTimer);
        responseTimer = setTimeout(fail, timerMs(timeouts.response), "UND_ERR_HEADERS_TIMEOUT");
      });
    });
    const settle = () => {
      clearTimeout(connectTimer);
      if (responseTimer !== null) clearTimeout(responseTimer);
    };
    req.once("upgrade", (res, socket: net.Socket, head: Buffer) => {
      settle();
      resolve({ kind: "upgraded", res, socket, head, firstByteMs: performance.now() - t0 });
    });
    req.once("response", (res) => {
      settle();
      resolve({ kind: "response", res, firstByteMs: performance.now() - t0 });
    });
    req.once("error", (err) => {
      settle();
      reject(err);
    });
    req.end();
  });
}

function splitTarget(target: string): [string, number] {
  const i = target.lastIndexOf(":");
  return [target.slice(0, i).replace(/^\[|\]$/g, ""), Number(target.slice(i + 1))];
}

/** Where a joined session is shown: its site, path and client, for the inspector. */
export interface SessionInfo {
  site: string;
  path: string;
  remoteAddress: string;
}

/** The 101 to relay, with `upgrade` joining the client's socket to the upstream's. */
export function upgradedReply(
  answer: Extract<UpgradeAnswer, { kind: "upgraded" }>,
  rules: HeaderRules,
  idleMs: number,
  info: SessionInfo,
  base: Omit<Reply, "status" | "headers" | "body" | "upgrade">,
  done: () => void,
): Reply {
  const upstream = answer.socket;
  // Until the client's side is joined, an upstream socket left alone (the client went away) times out.
  upstream.setTimeout(idleMs, () => upstream.destroy());
  upstream.on("error", () => upstream.destroy());
  const extensions = answer.res.headers["sec-websocket-extensions"];
  return {
    ...base,
    status: 101,
    headers: responseHeaders(answer.res.rawHeaders, rules, true),
    body: null,
    upgrade: (client, head) =>
      join(
        client,
        head,
        upstream,
        answer.head,
        idleMs,
        info,
        typeof extensions === "string" && extensions.includes("permessage-deflate"),
        done,
      ),
  };
}

function join(
  client: net.Socket,
  clientHead: Buffer,
  upstream: net.Socket,
  upstreamHead: Buffer,
  idleMs: number,
  info: SessionInfo,
  compressed: boolean,
  done: () => void,
): void {
  const id = nextSessionId();
  const opened = performance.now();
  let close: { code: number; reason: string } | null = null;
  const session = (kind: "open" | "close") => {
    if (!wsSessionChannel.hasSubscribers) return;
    const event: WsSessionEvent = {
      kind,
      time: Date.now(),
      id,
      remoteAddress: info.remoteAddress,
      site: info.site,
      path: info.path,
      channels: [],
      code: kind === "open" ? 0 : (close?.code ?? 1006),
      reason: kind === "open" ? "" : (close?.reason ?? ""),
      durationMs: kind === "open" ? 0 : performance.now() - opened,
      compressed,
    };
    wsSessionChannel.publish(event);
  };
  const tap = (direction: "in" | "out") =>
    new FrameTap((f) => {
      if (f.close !== null && close === null) close = f.close;
      if (!wsFrameChannel.hasSubscribers) return;
      const event: WsFrameEvent = {
        time: Date.now(),
        id,
        direction,
        opcode: f.opcode,
        length: f.length,
        text: f.text.slice(0, 512),
      };
      wsFrameChannel.publish(event);
    });
  {
    // Frames are read from the first byte (to stay in step), and published only while someone listens.
    const fromClient = tap("in");
    const fromUpstream = tap("out");
    if (clientHead.length > 0) fromClient.push(clientHead);
    if (upstreamHead.length > 0) fromUpstream.push(upstreamHead);
    client.on("data", (c: Buffer) => fromClient.push(c));
    upstream.on("data", (c: Buffer) => fromUpstream.push(c));
  }
  session("open");
  if (upstreamHead.length > 0) client.write(upstreamHead);
  if (clientHead.length > 0) upstream.write(clientHead);
  // Backpressure both ways; an end on one side is passed on (half-close).
  client.pipe(upstream);
  upstream.pipe(client);
  const idle = () => {
    client.destroy();
    upstream.destroy();
  };
  client.setTimeout(idleMs, idle);
  upstream.setTimeout(idleMs, idle);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    client.destroy();
    upstream.destroy();
    session("close");
    done();
  };
  client.once("close", finish);
  upstream.once("close", finish);
  client.on("error", finish);
  upstream.on("error", finish);
}
