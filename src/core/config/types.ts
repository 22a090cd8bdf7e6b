/**
 * Types of the configuration: what a user writes (`UserConfig`, validated by
 * the JSON Schema) and the one canonical `Config` that the running server uses.
 */

/** A duration as written: milliseconds, or `10s`-style text. */
export type DurationInput = number | string;
/** A size as written: bytes, or `16KiB`-style text. */
export type SizeInput = number | string;

export interface UserServing {
  root?: string;
  index?: string[];
  listing?: boolean;
  spa?: string;
  headers?: Record<string, string>;
  cacheControl?: string;
  symlinks?: "inside" | "follow";
  compress?: boolean;
}

export interface UserLocation extends UserServing {
  path: string;
  redirect?: { to: string; status?: RedirectStatus };
}

export interface UserSite extends UserServing {
  hosts?: string[];
  dnsOverHttps?: boolean;
  default?: boolean;
  errorPages?: Record<string, string>;
  locations?: UserLocation[];
}

export interface UserConfig {
  http?: {
    listen?: string[];
    limits?: {
      maxRequestLine?: SizeInput;
      maxHeaderSize?: SizeInput;
      maxHeaderCount?: number;
      maxBodySize?: SizeInput;
      headerTimeout?: DurationInput;
      requestTimeout?: DurationInput;
      idleTimeout?: DurationInput;
      sendTimeout?: DurationInput;
      maxConnections?: number;
    };
    fileCache?: { maxSize?: SizeInput; maxFileSize?: SizeInput; validity?: DurationInput };
    compression?: { threshold?: SizeInput; gzip?: boolean; brotli?: boolean };
    sites?: UserSite[];
  };
  dns?: {
    listen?: string[];
    zones?: { file?: string; origin?: string; records?: string }[];
    forward?: string[];
    forwardTimeout?: DurationInput;
    cacheSize?: number;
    tcpIdleTimeout?: DurationInput;
  };
  log?: {
    level?: LogLevel;
    access?: false | { format?: "json" | "combined"; output?: string };
  };
  shutdown?: { grace?: DurationInput };
}

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** A parsed `HOST:PORT`. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Limits of every HTTP listener; sizes in bytes, times in milliseconds. */
export interface HttpLimits {
  maxRequestLine: number;
  maxHeaderSize: number;
  maxHeaderCount: number;
  maxBodySize: number;
  headerTimeout: number;
  requestTimeout: number;
  idleTimeout: number;
  sendTimeout: number;
  maxConnections: number;
}

/** A location with every setting resolved (inherited from its site where it said nothing). */
export interface LocationConfig {
  path: string;
  /** True when the location names its own root: the prefix is removed before the rest is looked up in it. */
  alias: boolean;
  /** Absolute folder, or null for a redirect-only location. */
  root: string | null;
  index: string[];
  listing: boolean;
  spa: string | null;
  headers: Record<string, string>;
  cacheControl: string | null;
  symlinks: "inside" | "follow";
  compress: boolean;
  redirect: { to: string; status: RedirectStatus } | null;
}

export interface SiteConfig {
  hosts: string[];
  /** Answers DNS over HTTPS on `/dns-query`. */
  dnsOverHttps: boolean;
  default: boolean;
  errorPages: Record<number, string>;
  /** Always holds a `/` location; sorted longest path first. */
  locations: LocationConfig[];
}

export interface HttpConfig {
  listen: ListenAddress[];
  limits: HttpLimits;
  fileCache: { maxSize: number; maxFileSize: number; validity: number };
  compression: { threshold: number; gzip: boolean; brotli: boolean };
  sites: SiteConfig[];
}

/** The DNS server: addresses (UDP and TCP each) and zones. */
export interface DnsConfig {
  listen: ListenAddress[];
  /**
   * Zones with their origins: from a file (absolute path), or inline master-file
   * text (`records`, with `file` naming the config file for messages).
   */
  zones: { file: string; origin: string; records?: string }[];
  /** Upstreams for names outside the zones (empty: REFUSED). */
  forward: ListenAddress[];
  /** How long to wait for one upstream answer, in ms. */
  forwardTimeout: number;
  /** Most entries in the forwarder's cache. */
  cacheSize: number;
  tcpIdleTimeout: number;
}

/** The canonical configuration: the only runtime truth. */
export interface Config {
  /** The file it came from, if any (reloads read it again). */
  source: string | null;
  http: HttpConfig | null;
  dns: DnsConfig | null;
  log: {
    level: LogLevel;
    access: { format: "json" | "combined"; output: string } | null;
  };
  shutdown: { grace: number };
}
