/**
 * The HTTP handler for a site table: handlers the app mounted at exact
 * paths (realtime, DoH) first, then method rules, redirects, static files
 * (cache first, disk when needed), listings, error pages and the SPA
 * fallback. Built once per config load; swapped whole on reload.
 */
import { realpath, stat } from "node:fs/promises";
import type { HttpConfig } from "../core/config/types.js";
import { type Mounts, NO_MOUNTS, type PathHandler } from "./mount.js";
import { plainReply as plain } from "./plain-reply.js";
import { type Location, type Route, type Site, SiteTable } from "./site-table.js";
import { type EntryOptions, FileCache, type FileEntry } from "./static/file-cache.js";
import { readListing, renderListingHtml, renderListingJson } from "./static/listing.js";
import { encodePath, resolvePath } from "./static/resolve-path.js";
import { replyForEntry } from "./static/respond.js";
import type { FerryRequest, Handler, Reply, UpgradeHandler } from "./types.js";

const ALLOW = "GET, HEAD, OPTIONS";
const ROUTES_MAX = 10_000;

/** Why a file lookup found nothing servable. */
type Miss = 404 | 403;

/** Serves the sites of one HTTP config. */
export class SiteHandler {
  readonly table: SiteTable;
  readonly cache: FileCache;
  private readonly compression: HttpConfig["compression"];
  /** The handler function for the engine (one closure per config load, not per request). */
  readonly handle: Handler;

  /** The handler for upgrade requests (WebSocket on realtime paths). */
  readonly upgrade: UpgradeHandler;

  /** Each site's mounted handlers (realtime endpoints, DoH) by exact path. */
  private readonly mounts = new Map<Site, ReadonlyMap<string, PathHandler>>();

  constructor(config: HttpConfig, mounts: Mounts = NO_MOUNTS) {
    this.table = new SiteTable(config.sites);
    this.cache = new FileCache(config.fileCache);
    this.compression = config.compression;
    for (const site of this.table.sites) {
      const m = mounts(site.config, site.name);
      if (m.size > 0) this.mounts.set(site, m);
    }
    this.handle = (req) => this.dispatch(req);
    this.upgrade = (req) => this.upgradeRequest(req);
  }

  /** An upgrade on a mounted path that takes upgrades; anything else is answered as a plain request. */
  private upgradeRequest(req: FerryRequest): Reply | Promise<Reply> {
    const mounted = this.mounts.get(this.table.find(req.host))?.get(req.rawPath);
    if (mounted?.upgrade !== undefined) return mounted.upgrade(req);
    return this.dispatch(req);
  }

  /** The route for a raw path on a site: resolved once, then a single map lookup per request. */
  private route(site: Site, raw: string): Route | 400 {
    let r = site.routes.get(raw);
    if (r === undefined) {
      const resolved = resolvePath(raw);
      if (resolved === 400) r = 400;
      else {
        const loc = site.match(resolved.path);
        const file = loc.fsPath(resolved.path);
        r = {
          path: resolved.path,
          hidden: resolved.hidden,
          loc,
          file,
          key: file === null ? "" : loc.id + file,
        };
      }
      if (site.routes.size >= ROUTES_MAX) site.routes.clear();
      site.routes.set(raw, r);
    }
    return r;
  }

  private dispatch(req: FerryRequest): Reply | Promise<Reply> {
    const site = this.table.find(req.host);
    if (this.mounts.size > 0) {
      const mounted = this.mounts.get(site)?.get(req.rawPath);
      if (mounted !== undefined) return mounted.handle(req);
    }
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") {
      if (method === "OPTIONS")
        return { status: 204, headers: ["Allow", ALLOW], body: null, site: site.name, location: "" };
      return this.error(req, site, 405, ["Allow", ALLOW]);
    }
    const r = this.route(site, req.rawPath);
    if (r === 400) return this.error(req, site, 400);
    const loc = r.loc;
    if (loc.config.redirect) return redirect(req, site, loc, r.path);
    if (r.hidden) return this.error(req, site, 404);
    const entry = this.cache.peek(r.key, Date.now());
    if (entry !== undefined) return replyForEntry(entry, req, loc.settings, site.name, loc.config.path);
    return this.fromDisk(req, site, loc, r.path, r.file!, r.key);
  }

  private entryOptions(loc: Location): EntryOptions {
    return { compress: loc.config.compress, ...this.compression };
  }

  /** Disk lookups in flight, by cache key (and whether the path ends in `/`). */
  private readonly inflight = new Map<string, Promise<FileEntry | Miss | { dir: string }>>();

  /**
   * Finds the file for a request path, sharing one disk lookup among
   * concurrent requests for it: a burst of misses (a cold start, a flood of
   * pipelined requests) costs one stat, one read and one compression.
   */
  private lookup(
    loc: Location,
    requestPath: string,
    file: string,
    key: string,
  ): Promise<FileEntry | Miss | { dir: string }> {
    const k = requestPath.endsWith("/") ? `${key}/` : key;
    let p = this.inflight.get(k);
    if (p === undefined) {
      p = this.lookupOnDisk(loc, requestPath, file, key).finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return p;
  }

  /** Finds the file for a request path on disk (or a stale cache entry still valid). */
  private async lookupOnDisk(
    loc: Location,
    requestPath: string,
    file: string,
    key: string,
  ): Promise<FileEntry | Miss | { dir: string }> {
    const stale = this.cache.stale(key);
    if (stale !== undefined) {
      const still = await this.cache.revalidate(key, stale);
      if (still !== null) return still;
    }
    const st = await stat(file).catch(() => null);
    if (st === null || !(await this.inside(loc, file))) return 404;
    if (st.isDirectory()) {
      if (!requestPath.endsWith("/")) return { dir: "" };
      for (const name of loc.config.index) {
        const candidate = file + name;
        const ist = await stat(candidate).catch(() => null);
        if (ist?.isFile() && (await this.inside(loc, candidate))) {
          return this.cache.load(key, candidate, ist, this.entryOptions(loc));
        }
      }
      return { dir: file };
    }
    if (!st.isFile() || requestPath.endsWith("/")) return 404;
    return this.cache.load(key, file, st, this.entryOptions(loc));
  }

  private async inside(loc: Location, file: string): Promise<boolean> {
    if (loc.config.symlinks === "follow") return true;
    const real = await realpath(file).catch(() => null);
    return real !== null && loc.contains(real);
  }

  private async fromDisk(
    req: FerryRequest,
    site: Site,
    loc: Location,
    requestPath: string,
    file: string,
    key: string,
  ): Promise<Reply> {
    let found: FileEntry | Miss | { dir: string };
    try {
      found = await this.lookup(loc, requestPath, file, key);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") return this.error(req, site, 403);
      if (code === "ENOENT" || code === "ENOTDIR") return this.notFound(req, site, loc);
      process.emitWarning(`ERR_HTTP_FILE_READ: ${file}: ${(err as Error).message}`);
      return this.error(req, site, 500);
    }
    if (typeof found === "number")
      return found === 404 ? this.notFound(req, site, loc) : this.error(req, site, found);
    if ("dir" in found) {
      if (found.dir === "") {
        const location = encodePath(`${requestPath}/`) + (req.query ? `?${req.query}` : "");
        return plain(301, site.name, loc.config.path, ["Location", location]);
      }
      if (!loc.config.listing) return this.notFound(req, site, loc);
      return this.listing(req, site, loc, requestPath, found.dir);
    }
    return replyForEntry(found, req, loc.settings, site.name, loc.config.path);
  }

  private async listing(
    req: FerryRequest,
    site: Site,
    loc: Location,
    requestPath: string,
    dir: string,
  ): Promise<Reply> {
    const items = await readListing(dir);
    const accept = req.headers.accept;
    const json =
      typeof accept === "string" && accept.includes("application/json") && !accept.includes("text/html");
    const body = json ? renderListingJson(requestPath, items) : renderListingHtml(requestPath, items);
    const type = json ? "application/json; charset=utf-8" : "text/html; charset=utf-8";
    const headers = [
      "Content-Type",
      type,
      "Content-Length",
      String(body.length),
      "Cache-Control",
      "no-cache",
      "Vary",
      "Accept",
    ];
    headers.push(...loc.settings.headers);
    return { status: 200, headers, body, site: site.name, location: loc.config.path };
  }

  /** A file somewhere in the site, for error pages and the SPA fallback; null when it is not there. */
  private async siteFile(site: Site, pagePath: string): Promise<{ entry: FileEntry; loc: Location } | null> {
    const r = resolvePath(pagePath);
    if (r === 400 || r.hidden) return null;
    const loc = site.match(r.path);
    const file = loc.fsPath(r.path);
    if (file === null) return null;
    const key = loc.id + file;
    const found =
      this.cache.peek(key, Date.now()) ?? (await this.lookup(loc, r.path, file, key).catch(() => null));
    return found !== null && typeof found === "object" && !("dir" in found) ? { entry: found, loc } : null;
  }

  private async notFound(req: FerryRequest, site: Site, loc: Location): Promise<Reply> {
    if (loc.config.spa !== null) {
      const page = await this.siteFile(site, loc.config.spa);
      if (page) return replyForEntry(page.entry, req, loc.settings, site.name, loc.config.path);
    }
    return this.error(req, site, 404);
  }

  /** An error answer: the site's custom page for that status when it has one, else plain text. */
  private error(req: FerryRequest, site: Site, status: number, extra: string[] = []): Reply | Promise<Reply> {
    const page = site.config.errorPages[status];
    if (page === undefined) return plain(status, site.name, "", extra);
    return this.siteFile(site, page).then((p) => {
      if (p === null) return plain(status, site.name, "", extra);
      const reply = replyForEntry(p.entry, req, { cacheControl: null, headers: [] }, site.name, "", status);
      reply.headers.push(...extra);
      return reply;
    });
  }
}

function redirect(req: FerryRequest, site: Site, loc: Location, requestPath: string): Reply {
  const { to, status } = loc.config.redirect!;
  let target = to;
  if (to.endsWith("/")) {
    const rest = requestPath.slice(loc.config.path.length).replace(/^\/+/, "");
    target = to + (rest ? encodePath(rest).slice(1) : "");
  }
  if (req.query) target += (target.includes("?") ? "&" : "?") + req.query;
  return plain(status, site.name, loc.config.path, ["Location", target]);
}
