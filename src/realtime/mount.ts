/**
 * A site's realtime endpoints as mounted handlers: plain requests go to the
 * publish API, upgrades to the WebSocket handshake (the engine writes the
 * 101, then the hub takes the connection over).
 */
import type { Mounts, PathHandler } from "../http/mount.js";
import type { FerryRequest, Reply } from "../http/types.js";
import { checkHandshake } from "./handshake.js";
import type { Hub } from "./hub.js";
import { realtimeHttpReply } from "./publish-api.js";
import type { RealtimeService } from "./service.js";

function handshake(req: FerryRequest, hub: Hub): Reply {
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
    upgrade: (socket, head) => hub.accept(socket, head, shake, req.query),
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
        upgrade: (req) => handshake(req, hub),
      });
    }
    return out;
  };
}
