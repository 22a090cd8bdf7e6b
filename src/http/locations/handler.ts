/**
 * What every kind of location implements (Caddy's handler with `provision`
 * done in the constructor): built once per config load from its canonical
 * config, it answers the requests routed to its prefix and says which
 * methods it takes. `SiteHandler` picks the site and the location; it does
 * not know what the kinds do.
 */
import type { FileEntry } from "../static/file-cache.js";
import type { FerryRequest, Reply } from "../types.js";

/** Where a request path landed on a site; cached per raw path, so derived values are computed once. */
export interface Route {
  /** Decoded, normalised path. */
  path: string;
  /** A path segment starts with `.`. */
  hidden: boolean;
  /** The location with the longest matching prefix. */
  loc: RoutedLocation;
  /** File-system path, filled by a static location the first time it sees this route. */
  file?: string | null;
  /** File cache key, with `file`. */
  key?: string;
}

/** A location as the router holds it. */
export interface RoutedLocation {
  readonly id: number;
  readonly path: string;
  readonly handler: LocationHandler;
}

/** The site a request is for, as a location handler sees it. */
export interface SiteRef {
  readonly name: string;
}

/** Site-wide answers every location may need: error pages, and files elsewhere in the site. */
export interface SiteServices {
  /** The site's error answer for `status` (its custom page when it has one). */
  error(req: FerryRequest, site: SiteRef, status: number, extra?: string[]): Reply | Promise<Reply>;
  /** A file at `path` of the site, through whichever static location covers it; null when none. */
  page(site: SiteRef, path: string): Promise<FileEntry | null>;
}

export interface LocationHandler {
  /** The location kind (`static`, `redirect`, …), for logs and the inspector. */
  readonly kind: string;
  /**
   * Methods answered; anything else gets 405 with their `Allow` list, and
   * OPTIONS gets 204 with it. Null: every method goes to `handle`.
   */
  readonly methods: Methods | null;
  handle(req: FerryRequest, route: Route, site: SiteRef): Reply | Promise<Reply>;
  /** Upgrade requests (WebSocket); without it they are answered as plain requests. */
  upgrade?(req: FerryRequest, route: Route, site: SiteRef): Reply | Promise<Reply>;
  /** Stops timers and pools once the config it was built for is replaced and drained. */
  close?(): void;
  /** A proxy's upstreams as they are now (for `/metrics` and the inspector). */
  upstreams?(): import("../../core/diagnostics.js").UpstreamState[];
}

/** A set of allowed methods and its `Allow` header value (OPTIONS always included). */
export class Methods {
  private readonly set: ReadonlySet<string>;
  readonly allow: string;
  constructor(...methods: string[]) {
    const all = methods.includes("OPTIONS") ? methods : [...methods, "OPTIONS"];
    this.set = new Set(all);
    this.allow = all.join(", ");
  }
  has(method: string): boolean {
    return this.set.has(method);
  }
}
