/**
 * A site's realtime endpoints as mounted handlers: plain requests go to the
 * publish API, upgrades to the WebSocket handshake (the engine writes the
 * 101, then the hub takes the connection over).
 */
import type { Mounts, PathHandler } from "../http/mount.js";
import type { FerryRequest, Reply } from "../http/types.js";
import { checkHandshake } from "./handshake.js";
import type { Hub } from "./hub.js";
import { presencePath, presenceReply, realtimeHttpReply } from "./publish-api.js";
import type { RealtimeService } from "./service.js";

/**
 * The WebSocket handshake for `hub`: a 101 whose `upgrade` hands the socket
 * to the hub (then calls `opened`), or the refusal with its status. Public
 * endpoints and the admin listener's live feed share it.
 */
export function hubHandshake(req: FerryRequest, hub: Hub, opened?: () => void): Reply {
  const c = hub.config;
  const shake = checkHandshake(req, {
    origins: c.origins,
    protocols: c.protocols,
    deflate: c.deflate.enabled,
  });
  if (!shake.ok) {
    const body = Buffer.from(`${shake.message}\n`, "utf8");
    return {
      status: shake.status,
      headers: [
        "Content-Type",
        "text/plain; charset=utf-8",
        "Content-Length",
        String(body.length),
        ...shake.headers,
      ],
      body,
      site: hub.site,
      location: c.path,
    };
  }
  return {
    status: 101,
    headers: shake.headers,
    body: null,
    site: hub.site,
    location: c.path,
    upgrade: (socket, head) => {
      hub.accept(socket, head, shake, req.query);
      opened?.();
    },
  };
}

/** The mounts of the hubs `service` keeps (configure it before the site table is built). */
export function realtimeMounts(service: RealtimeService): Mounts {
  return (site, name) => {
    const out = new Map<string, PathHandler>();
    for (const r of site.realtime) {
      const hub = service.find(name, r.path);
      if (hub === undefined) continue;
      out.set(r.path, {
        kind: "realtime",
        handle: (req) => realtimeHttpReply(req, hub),
        upgrade: (req) => hubHandshake(req, hub),
      });
      out.set(presencePath(r.path), { kind: "realtime", handle: (req) => presenceReply(req, hub) });
    }
    return out;
  };
}
