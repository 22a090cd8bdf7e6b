/**
 * The HTTP side of a realtime path: `POST` publishes (`Authorization:
 * Bearer KEY`, body `{"channel","data"}` → `{"offset":N}`), a plain `GET`
 * is told to upgrade (426), anything else gets 405.
 */
import { isUtf8 } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { HttpBodyTooLargeError } from "../http/errors.js";
import type { FerryRequest, Reply } from "../http/types.js";
import type { Hub } from "./hub.js";
import { jsonDepthWithin } from "./json-depth.js";
import { isChannelName } from "./rules.js";

const ALLOW = "GET, POST, OPTIONS";

function jsonReply(status: number, body: unknown, hub: Hub, extra: string[] = []): Reply {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
  return {
    status,
    headers: [
      "Content-Type",
      "application/json; charset=utf-8",
      "Content-Length",
      String(bytes.length),
      "Cache-Control",
      "no-store",
      ...extra,
    ],
    body: bytes,
    site: hub.site,
    location: hub.config.path,
    handler: "publish",
  };
}

function problem(status: number, code: string, message: string, hub: Hub, extra: string[] = []): Reply {
  return jsonReply(status, { error: code, message }, hub, extra);
}

/** True when the request carries the hub's key (compared in constant time). */
function authorized(req: FerryRequest, hub: Hub): boolean {
  const auth = req.headers.authorization;
  if (typeof auth !== "string") return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (!m) return false;
  const given = Buffer.from(m[1]!, "utf8");
  const want = Buffer.from(hub.key, "utf8");
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Answers a plain (not upgraded) HTTP request on a realtime path. */
export async function realtimeHttpReply(req: FerryRequest, hub: Hub): Promise<Reply> {
  const method = req.method;
  const upgrade = req.headers.upgrade;
  if (typeof upgrade === "string" && /\bwebsocket\b/i.test(upgrade))
    return problem(400, "bad_handshake", "a WebSocket handshake needs Connection: Upgrade", hub);
  if (method === "GET" || method === "HEAD")
    return problem(
      426,
      "upgrade_required",
      "this path speaks WebSocket: send an upgrade request, or POST to publish",
      hub,
      ["Upgrade", "websocket", "Sec-WebSocket-Version", "13"],
    );
  if (method === "OPTIONS")
    return { status: 204, headers: ["Allow", ALLOW], body: null, site: hub.site, location: hub.config.path };
  if (method !== "POST")
    return problem(405, "method_not_allowed", "use POST to publish", hub, ["Allow", ALLOW]);
  if (!authorized(req, hub))
    return problem(401, "unauthorized", "send Authorization: Bearer <publish key>", hub, [
      "WWW-Authenticate",
      'Bearer realm="ferry"',
    ]);
  let body: Buffer;
  try {
    body = await req.body(hub.config.maxMessageSize);
  } catch (err) {
    if (err instanceof HttpBodyTooLargeError)
      return problem(413, "too_large", `the body is limited to ${err.limit} bytes`, hub);
    return problem(400, "bad_request", "could not read the body", hub);
  }
  if (!isUtf8(body)) return problem(400, "bad_json", "the body is not valid UTF-8", hub);
  if (!jsonDepthWithin(body, hub.config.maxJsonDepth))
    return problem(400, "bad_request", `JSON nests deeper than ${hub.config.maxJsonDepth} levels`, hub);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return problem(400, "bad_json", "the body is not valid JSON", hub);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return problem(400, "bad_request", 'the body is {"channel": NAME, "data": VALUE}', hub);
  const { channel, data } = parsed as { channel?: unknown; data?: unknown };
  if (!isChannelName(channel)) return problem(400, "bad_channel", "channel must be a channel name", hub);
  if (!("data" in parsed)) return problem(400, "bad_request", "the body needs data", hub);
  const result = await hub.publish(channel, JSON.stringify(data), "http");
  if (result === "forbidden") return problem(403, "forbidden", `no channel rule allows ${channel}`, hub);
  if (result === "too_many_channels")
    return problem(503, "too_many_channels", "the channel limit is reached", hub);
  if (result === "broker_unavailable")
    return problem(503, "broker_unavailable", "the realtime broker (Redis) is unreachable; try again", hub);
  if (result === "bad_channel") return problem(400, "bad_channel", "channel must be a channel name", hub);
  return jsonReply(200, { offset: result }, hub);
}

/** Where a realtime path answers presence: `PATH/presence` (`/ws` → `/ws/presence`). */
export function presencePath(path: string): string {
  return `${path.replace(/\/+$/, "")}/presence`;
}

/**
 * `GET PATH/presence?channel=C` with the publish key: `{"channel": C,
 * "subscribers": N}`, N counted across every node of the broker (0 for an
 * empty channel); 503 while the broker is unreachable.
 */
export async function presenceReply(req: FerryRequest, hub: Hub): Promise<Reply> {
  const location = presencePath(hub.config.path);
  const reply = (status: number, body: unknown, extra: string[] = []) => ({
    ...jsonReply(status, body, hub, extra),
    location,
    handler: "presence",
  });
  if (req.method !== "GET" && req.method !== "HEAD")
    return reply(405, { error: "method_not_allowed", message: "use GET" }, ["Allow", "GET, HEAD"]);
  if (!authorized(req, hub))
    return reply(401, { error: "unauthorized", message: "send Authorization: Bearer <publish key>" }, [
      "WWW-Authenticate",
      'Bearer realm="ferry"',
    ]);
  const channel = new URLSearchParams(req.query).get("channel");
  if (!isChannelName(channel))
    return reply(400, { error: "bad_channel", message: "?channel= must be a channel name" });
  const n = await hub.presence(channel);
  if (n === "broker_unavailable")
    return reply(503, {
      error: "broker_unavailable",
      message: "the realtime broker (Redis) is unreachable; try again",
    });
  if (typeof n === "string") return reply(503, { error: n, message: "cannot count now" });
  return reply(200, { channel, subscribers: n });
}
