/**
 * The HTTP handler for a site table: handlers the app mounted at exact
 * paths (realtime, DoH) first, then the location with the longest prefix,
 * whose handler (static files, redirect, …) answers the methods it allows.
 * Site-wide answers (error pages) live here. Built once per config load;
 * swapped whole on reload.
 */
import type { HttpConfig } from "../core/config/types.js";
import { ACME_CHALLENGE_PREFIX, acmeChallenges } from "../tls/acme-challenges.js";
import type { Route, SiteRef, SiteServices } from "./locations/handler.js";
import { buildLocation } from "./locations/kinds.js";
import { StaticLocation } from "./locations/static.js";
import { type Mounts, NO_MOUNTS, type PathHandler } from "./mount.js";
import { plainReply as plain } from "./plain-reply.js";
import { type Site, SiteTable } from "./site-table.js";
import type { FileCache, FileEntry } from "./static/file-cache.js";
import { StaticFiles } from "./static/files.js";
import { resolvePath } from "./static/resolve-path.js";
import { replyForEntry } from "./static/respond.js";
import type { FerryRequest, Handler, Reply, UpgradeHandler } from "./types.js";

const ROUTES_MAX = 10_000;

/** The reply with HSTS added (a new header list: a cached file's list is shared by every reply). */
function withHsts(reply: Reply, value: string): Reply {
  reply.headers = [...reply.headers, "Strict-Transport-Security", value];
  return reply;
}

/** Serves the sites of one HTTP config. */
export class SiteHandler implements SiteServices {
  readonly table: SiteTable;
  private readonly files: StaticFiles;
  /** The handler function for the engine (one closure per config load, not per request). */
  readonly handle: Handler;

  /** The handler for upgrade requests (WebSocket on realtime paths and proxied paths). */
  readonly upgrade: UpgradeHandler;

  /** Each site's mounted handlers (realtime endpoints, DoH) by exact path. */
  private readonly mounts = new Map<Site, ReadonlyMap<string, PathHandler>>();

  /** Plain-HTTP requests for sites with a certificate go to https (`http.tls.redirect`). */
  private readonly redirectToTls: boolean;

  constructor(
    config: HttpConfig,
    mounts: Mounts = NO_MOUNTS,
    /** The TLS listener's port, once it listens (null: no TLS listener). */
    private readonly httpsPort: () => number | null = () => null,
  ) {
    this.redirectToTls = config.tls?.redirect === true;
    this.files = new StaticFiles(config);
    const deps = { files: this.files, services: this as SiteServices };
    this.table = new SiteTable(config.sites, (c, id, site) => buildLocation(c, id, deps, site));
    for (const site of this.table.sites) {
      const m = mounts(site.config, site.name);
      if (m.size > 0) this.mounts.set(site, m);
    }
    this.handle = (req) => this.dispatch(req);
    this.upgrade = (req) => this.upgradeRequest(req);
  }

  /** The file cache (for `/metrics` and tests). */
  get cache(): FileCache {
    return this.files.cache;
  }

  /** The proxy upstreams of every location, as they are now. */
  upstreams(): import("../core/diagnostics.js").UpstreamState[] {
    const out = [];
    for (const h of this.table.handlers()) if (h.upstreams !== undefined) out.push(...h.upstreams());
    return out;
  }

  /** Stops what the locations run in the background (health checks, pools); call once the table is replaced. */
  close(): void {
    for (const h of this.table.handlers()) h.close?.();
  }

  /** An upgrade on a mounted path or a location that takes upgrades; anything else is answered as a plain request. */
  private upgradeRequest(req: FerryRequest): Reply | Promise<Reply> {
    const site = this.table.find(req.host);
    const mounted = this.mounts.get(site)?.get(req.rawPath);
    if (mounted !== undefined)
      return mounted.upgrade !== undefined ? mounted.upgrade(req) : mounted.handle(req);
    const r = this.route(site, req.rawPath);
    if (r === 400) return this.error(req, site, 400);
    const h = r.loc.handler;
    if (h.upgrade !== undefined && (h.methods === null || h.methods.has(req.method)))
      return h.upgrade(req, r, site);
    return this.dispatchRoute(req, site, r);
  }

  /** The route for a raw path on a site: resolved once, then a single map lookup per request. */
  private route(site: Site, raw: string): Route | 400 {
    let r = site.routes.get(raw);
    if (r === undefined) {
      const resolved = resolvePath(raw);
      r =
        resolved === 400
          ? 400
          : { path: resolved.path, hidden: resolved.hidden, loc: site.match(resolved.path) };
      if (site.routes.size >= ROUTES_MAX) site.routes.clear();
      site.routes.set(raw, r);
    }
    return r;
  }

  private dispatch(req: FerryRequest): Reply | Promise<Reply> {
    const site = this.table.find(req.host);
    const tls = site.config.tls !== null;
    // An ACME challenge in progress (rare: the map is empty but for the seconds an order takes).
    if (acmeChallenges.size > 0 && !req.secure && req.rawPath.startsWith(ACME_CHALLENGE_PREFIX)) {
      const answer = acmeChallenges.get(req.rawPath.slice(ACME_CHALLENGE_PREFIX.length));
      if (answer !== undefined) {
        const body = Buffer.from(answer);
        return {
          status: 200,
          headers: ["Content-Type", "application/octet-stream", "Content-Length", String(body.length)],
          body,
          site: site.name,
          location: "",
          handler: "acme",
        };
      }
    }
    if (tls && !req.secure && this.redirectToTls) {
      const to = this.httpsUrl(req);
      if (to !== null) return plain(308, site.name, "", ["Location", to]);
    }
    if (tls && req.secure && site.config.hsts !== null) {
      const reply = this.dispatchSite(req, site);
      if (reply instanceof Promise) return reply.then((r) => withHsts(r, site.config.hsts!));
      return withHsts(reply, site.config.hsts);
    }
    return this.dispatchSite(req, site);
  }

  /** The same URL over https on the TLS listener's port (omitted when it is 443). */
  private httpsUrl(req: FerryRequest): string | null {
    const port = this.httpsPort();
    if (port === null || req.host === "") return null;
    const host = req.host.includes(":") ? `[${req.host}]` : req.host;
    return `https://${host}${port === 443 ? "" : `:${port}`}${req.rawPath}${req.query ? `?${req.query}` : ""}`;
  }

  private dispatchSite(req: FerryRequest, site: Site): Reply | Promise<Reply> {
    if (this.mounts.size > 0) {
      const mounted = this.mounts.get(site)?.get(req.rawPath);
      if (mounted !== undefined) return mounted.handle(req);
    }
    const r = this.route(site, req.rawPath);
    if (r === 400) {
      // `OPTIONS *` asks about the server as a whole (RFC 9110 §9.3.7): what a plain site allows.
      if (req.rawPath === "*" && req.method === "OPTIONS")
        return {
          status: 204,
          headers: ["Allow", "GET, HEAD, OPTIONS"],
          body: null,
          site: site.name,
          location: "",
        };
      return this.error(req, site, 400);
    }
    return this.dispatchRoute(req, site, r);
  }

  private dispatchRoute(req: FerryRequest, site: Site, r: Route): Reply | Promise<Reply> {
    const h = r.loc.handler;
    const m = h.methods;
    if (m !== null && (req.method === "OPTIONS" || !m.has(req.method))) {
      if (req.method === "OPTIONS")
        return {
          status: 204,
          headers: ["Allow", m.allow],
          body: null,
          site: site.name,
          location: r.loc.path,
        };
      return this.error(req, site, 405, ["Allow", m.allow]);
    }
    return h.handle(req, r, site);
  }

  /** A file somewhere in the site, for error pages and the SPA fallback; null when it is not there. */
  async page(site: SiteRef, pagePath: string): Promise<FileEntry | null> {
    const r = resolvePath(pagePath);
    if (r === 400 || r.hidden) return null;
    const h = (site as Site).match(r.path).handler;
    return h instanceof StaticLocation ? h.page(r.path) : null;
  }

  /** An error answer: the site's custom page for that status when it has one, else plain text. */
  error(req: FerryRequest, siteRef: SiteRef, status: number, extra: string[] = []): Reply | Promise<Reply> {
    const site = siteRef as Site;
    const page = site.config.errorPages[status];
    if (page === undefined) return plain(status, site.name, "", extra);
    return this.page(site, page).then((entry) => {
      if (entry === null) return plain(status, site.name, "", extra);
      const reply = replyForEntry(entry, req, { cacheControl: null, headers: [] }, site.name, "", status);
      reply.headers.push(...extra);
      return reply;
    });
  }
}
