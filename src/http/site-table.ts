/**
 * The table that picks a site by Host (exact name, then the longest
 * wildcard, then the default) and a location by longest path prefix.
 * Built once per config load; lookups allocate nothing. What a location
 * does is its handler's business (`locations/`).
 */
import type { LocationConfig, SiteConfig } from "../core/config/types.js";
import { HostIndex } from "./host-index.js";
import type { LocationHandler, Route, RoutedLocation } from "./locations/handler.js";

/** Builds the handler of one location (`id` is unique within the table). */
export type LocationFactory = (config: LocationConfig, id: number, site: string) => LocationHandler;

/** A location ready to serve. */
export class Location implements RoutedLocation {
  readonly path: string;
  constructor(
    readonly config: LocationConfig,
    readonly id: number,
    readonly handler: LocationHandler,
  ) {
    this.path = config.path;
  }
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

  constructor(config: SiteConfig, nextId: () => number, make: LocationFactory) {
    this.config = config;
    this.name = config.hosts[0] ?? "default";
    this.locations = config.locations.map((l) => {
      const id = nextId();
      return new Location(l, id, make(l, id, this.name));
    });
  }

  /** The location with the longest prefix of `p`; `/` always matches. */
  match(p: string): Location {
    const locs = this.locations;
    for (let i = 0; i < locs.length; i++) if (p.startsWith(locs[i]!.path)) return locs[i]!;
    return locs[locs.length - 1]!;
  }
}

/** Host → site. */
export class SiteTable {
  readonly sites: Site[];
  private readonly index: HostIndex<Site>;
  readonly fallback: Site;

  constructor(configs: SiteConfig[], make: LocationFactory) {
    let id = 0;
    this.sites = configs.map((c) => new Site(c, () => id++, make));
    this.fallback = this.sites.find((s) => s.config.default) ?? this.sites[0]!;
    this.index = new HostIndex(this.sites, (s) => s.config.hosts, this.fallback);
  }

  /** The site for a lower-case host name. */
  find(host: string): Site {
    return this.index.find(host);
  }

  /** Every location's handler, for closing them when the table is replaced. */
  *handlers(): Iterable<LocationHandler> {
    for (const s of this.sites) for (const l of s.locations) yield l.handler;
  }
}
