/**
 * The `static` location kind: files from a folder (cache first, disk when
 * needed), folder redirects, listings and the SPA fallback. GET and HEAD only.
 */
import { realpathSync } from "node:fs";
import { realpath } from "node:fs/promises";
import path from "node:path";
import { turnWallNow } from "../../core/clock.js";
import type { StaticLocationConfig } from "../../core/config/types.js";
import { plainReply } from "../plain-reply.js";
import type { EntryOptions, FileEntry } from "../static/file-cache.js";
import type { Found, LookupLocation, StaticFiles } from "../static/files.js";
import { readListing, renderListingHtml, renderListingJson } from "../static/listing.js";
import { encodePath } from "../static/resolve-path.js";
import { type ResponseSettings, replyForEntry } from "../static/respond.js";
import type { FerryRequest, Reply } from "../types.js";
import { type LocationHandler, Methods, type Route, type SiteRef, type SiteServices } from "./handler.js";

const READ_ONLY = new Methods("GET", "HEAD", "OPTIONS");

export class StaticLocation implements LocationHandler, LookupLocation {
  readonly kind = "static";
  readonly methods = READ_ONLY;
  readonly config: StaticLocationConfig;
  readonly settings: ResponseSettings;
  readonly options: EntryOptions;
  readonly index: readonly string[];
  /** The root with symlinks resolved, for the "stays inside the root" check. */
  private readonly realRoot: string;
  /** Path prefix removed before looking in `root` (a location with its own root). */
  private readonly strip: string;

  constructor(
    config: StaticLocationConfig,
    private readonly id: number,
    private readonly files: StaticFiles,
    private readonly services: SiteServices,
  ) {
    this.config = config;
    this.index = config.index;
    let real = config.root;
    try {
      real = realpathSync(config.root);
    } catch {}
    this.realRoot = real;
    this.strip = config.alias && config.path !== "/" ? config.path.replace(/\/$/, "") : "";
    const headers: string[] = [];
    for (const [k, v] of Object.entries(config.headers)) headers.push(k, v);
    this.settings = { cacheControl: config.cacheControl, headers };
    this.options = files.entryOptions(config.compress);
  }

  /** The file-system path for a normalised request path. */
  fsPath(requestPath: string): string {
    const rel = this.strip ? requestPath.slice(this.strip.length) : requestPath;
    return this.config.root + (rel.charCodeAt(0) === 47 ? rel : `/${rel}`);
  }

  /** The cache key of a file of this location. */
  key(file: string): string {
    return this.id + file;
  }

  async inside(file: string): Promise<boolean> {
    if (this.config.symlinks === "follow") return true;
    const real = await realpath(file).catch(() => null);
    if (real === null) return false;
    const root = this.realRoot;
    return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  }

  handle(req: FerryRequest, r: Route, site: SiteRef): Reply | Promise<Reply> {
    if (r.hidden) return this.services.error(req, site, 404);
    let file = r.file;
    if (file === undefined) {
      file = r.file = this.fsPath(r.path);
      r.key = this.key(file);
    }
    const entry = this.files.cache.peek(r.key!, turnWallNow());
    if (entry !== undefined) return replyForEntry(entry, req, this.settings, site.name, this.config.path);
    return this.fromDisk(req, site, r.path, file!, r.key!);
  }

  /** A file of this location at `requestPath`, for error pages and the SPA fallback; null when there is none. */
  async page(requestPath: string): Promise<FileEntry | null> {
    const file = this.fsPath(requestPath);
    const key = this.key(file);
    const found =
      this.files.cache.peek(key, Date.now()) ??
      (await this.files.lookup(this, requestPath, file, key).catch(() => null));
    return found !== null && typeof found === "object" && !("dir" in found) ? found : null;
  }

  private async fromDisk(
    req: FerryRequest,
    site: SiteRef,
    requestPath: string,
    file: string,
    key: string,
  ): Promise<Reply> {
    let found: Found;
    try {
      found = await this.files.lookup(this, requestPath, file, key);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EPERM") return this.services.error(req, site, 403);
      if (code === "ENOENT" || code === "ENOTDIR") return this.notFound(req, site);
      process.emitWarning(`ERR_HTTP_FILE_READ: ${file}: ${(err as Error).message}`);
      return this.services.error(req, site, 500);
    }
    if (typeof found === "number")
      return found === 404 ? this.notFound(req, site) : this.services.error(req, site, found);
    if ("dir" in found) {
      if (found.dir === "") {
        const location = encodePath(`${requestPath}/`) + (req.query ? `?${req.query}` : "");
        return plainReply(301, site.name, this.config.path, ["Location", location]);
      }
      if (!this.config.listing) return this.notFound(req, site);
      return this.listing(req, site, requestPath, found.dir);
    }
    return replyForEntry(found, req, this.settings, site.name, this.config.path);
  }

  private async listing(req: FerryRequest, site: SiteRef, requestPath: string, dir: string): Promise<Reply> {
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
    headers.push(...this.settings.headers);
    return { status: 200, headers, body, site: site.name, location: this.config.path };
  }

  private async notFound(req: FerryRequest, site: SiteRef): Promise<Reply> {
    if (this.config.spa !== null) {
      const page = await this.services.page(site, this.config.spa);
      if (page) return replyForEntry(page, req, this.settings, site.name, this.config.path);
    }
    return this.services.error(req, site, 404);
  }
}
