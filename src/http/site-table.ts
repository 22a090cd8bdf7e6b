/**
 * The table that picks a site by Host (exact name, then the longest
 * wildcard, then the default) and a location by longest path prefix.
 * Built once per config load; lookups allocate nothing.
 */
import { realpathSync } from "node:fs";
import path from "node:path";
import type { LocationConfig, SiteConfig } from "../core/config/types.js";
import type { ResponseSettings } from "./static/respond.js";

/** A location ready to serve: its config plus what is derived from it once. */
export class Location {
  readonly config: LocationConfig;
  /** Unique within a table; part of file cache keys. */
  readonly id: number;
  /** The root with symlinks resolved, for the "stays inside the root" check. */
  readonly realRoot: string | null;
  /** Path prefix removed before looking in `root` (a location with its own root). */
  readonly strip: string;
  readonly settings: ResponseSettings;

  constructor(config: LocationConfig, id: number) {
    this.config = config;
    this.id = id;
    let real: string | null = null;
    if (config.root !== null) {
      try {
        real = realpathSync(config.root);
      } catch {
        real = config.root;
      }
    }
    this.realRoot = real;
    this.strip = config.alias && config.path !== "/" ? config.path.replace(/\/$/, "") : "";
    const headers: string[] = [];
    for (const [k, v] of Object.entries(config.headers)) headers.push(k, v);
    this.settings = { cacheControl: config.cacheControl, headers };
  }

  /** The file-system path for a normalised request path (null for redirect-only locations). */
  fsPath(requestPath: string): string | null {
    if (this.config.root === null) return null;
    const rel = this.strip ? requestPath.slice(this.strip.length) : requestPath;
    return this.config.root + (rel.charCodeAt(0) === 47 ? rel : `/${rel}`);
  }

  /** True when `real` (a resolved path) is the root or inside it. */
  contains(real: string): boolean {
    const root = this.realRoot!;
    return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  }
}

/** What a raw request path maps to on one site, computed once per path. */
export interface Route {
  /** Decoded, normalised path. */
  path: string;
  hidden: boolean;
  loc: Location;
  /** File-system path, or null for a redirect-only location. */
  file: string | null;
  /** File cache key. */
  key: string;
}

/** A site ready to serve. */
export class Site {
  readonly config: SiteConfig;
  /** Name for logs: its first host, or `default`. */
  readonly name: string;
  /** Longest prefix first. */
  readonly locations: Location[];
  /** Raw path → route, filled on demand and bounded by the handler. */
  readonly routes = new Map<string, Route | 400>();

  constructor(config: SiteConfig, nextId: () => number) {
    this.config = config;
    this.name = config.hosts[0] ?? "default";
    this.locations = config.locations.map((l) => new Location(l, nextId()));
  }

  /** The location with the longest prefix of `p`; `/` always matches. */
  match(p: string): Location {
    const locs = this.locations;
    for (let i = 0; i < locs.length; i++) if (p.startsWith(locs[i]!.config.path)) return locs[i]!;
    return locs[locs.length - 1]!;
  }
}

/** Host → site. */
export class SiteTable {
  readonly sites: Site[];
  private readonly exact = new Map<string, Site>();
  /** `.example.test` suffixes, longest first. */
  private readonly wildcards: [string, Site][] = [];
  readonly fallback: Site;

  constructor(configs: SiteConfig[]) {
    let id = 0;
    this.sites = configs.map((c) => new Site(c, () => id++));
    for (const site of this.sites) {
      for (const h of site.config.hosts) {
        if (h.startsWith("*.")) this.wildcards.push([h.slice(1), site]);
        else this.exact.set(h, site);
      }
    }
    this.wildcards.sort((a, b) => b[0].length - a[0].length);
    this.fallback = this.sites.find((s) => s.config.default) ?? this.sites[0]!;
  }

  /** The site for a lower-case host name. */
  find(host: string): Site {
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    for (let i = 0; i < this.wildcards.length; i++) {
      const [suffix, site] = this.wildcards[i]!;
      if (host.length > suffix.length && host.endsWith(suffix)) return site;
    }
    return this.fallback;
  }
}
