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

/** A reverse proxy as written. */
export interface UserProxy {
  to: string[];
  balance?: ProxyBalance;
  stripPrefix?: boolean;
  preserveHost?: boolean;
  health?: {
    path?: string;
    interval?: DurationInput;
    timeout?: DurationInput;
    passes?: number;
    fails?: number;
  };
  passive?: { fails?: number; cooldown?: DurationInput };
  timeouts?: { connect?: DurationInput; response?: DurationInput; idle?: DurationInput };
  retries?: number;
  keepAlive?: number;
  headers?: {
    request?: { set?: Record<string, string>; remove?: string[] };
    response?: { set?: Record<string, string>; remove?: string[] };
  };
  maxBodySize?: SizeInput;
  caRoots?: string;
}

export interface UserLocation extends UserServing {
  path: string;
  redirect?: { to: string; status?: RedirectStatus };
  proxy?: UserProxy;
}

/** A channel rule as written. */
export interface UserChannelRule {
  match: string;
  publish?: boolean;
  history?: { size?: number; age?: DurationInput };
  maxSubscribers?: number;
}

/** A realtime (WebSocket pub/sub) endpoint as written. */
export interface UserRealtime {
  path: string;
  publishKey?: string;
  broker?: string;
  origins?: string[];
  protocols?: string[];
  maxMessageSize?: SizeInput;
  maxBackpressure?: SizeInput;
  maxSubscriptions?: number;
  maxChannels?: number;
  maxJsonDepth?: number;
  pingInterval?: DurationInput;
  idleTimeout?: DurationInput;
  deflate?: boolean | { threshold?: SizeInput };
  channels?: UserChannelRule[];
}

/** A site's certificate as written: Ferry's local CA, or PEM files. */
export type UserSiteTls = "internal" | "acme" | { cert: string; key: string };

export interface UserSite extends UserServing {
  hosts?: string[];
  tls?: UserSiteTls;
  hsts?: string;
  /** Shorthand for a location `/` that proxies. */
  proxy?: UserProxy;
  trustedProxies?: string[];
  realtime?: UserRealtime[];
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
    tls?: {
      listen?: string[];
      redirect?: boolean;
      strictSni?: boolean;
      acme?: { directory: string; email?: string; caRoots?: string; challenge?: "http-01" | "tls-alpn-01" };
    };
    h2c?: boolean;
    engine?: "ferry" | "node";
    sites?: UserSite[];
  };
  dns?: {
    listen?: string[];
    zones?: {
      file?: string;
      origin?: string;
      records?: string;
      primary?: string;
      tsig?: string;
      transfer?: { allow: string[]; tsig?: string };
      notify?: string[];
    }[];
    tsig?: { name: string; algorithm?: string; secret: string }[];
    forward?: string[];
    forwardTimeout?: DurationInput;
    cacheSize?: number;
    tcpIdleTimeout?: DurationInput;
    tcpMessageTimeout?: DurationInput;
    tcpMaxConnections?: number;
    transfersOut?: number;
    tls?: { listen?: string[]; site?: string };
  };
  admin?: {
    listen?: string;
    allowRemote?: boolean;
    token?: string;
    events?: number;
    frames?: number;
  };
  log?: {
    level?: LogLevel;
    access?: false | { format?: "json" | "combined"; output?: string };
  };
  shutdown?: { grace?: DurationInput };
  state?: string;
  workers?: number | "auto";
}

export type RedirectStatus = 301 | 302 | 303 | 307 | 308;
export type ProxyBalance = "round_robin" | "least_conn" | "client_hash" | "first";
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

/** How files are served: a site's settings, inherited by its static locations where they say nothing. */
export interface StaticSettings {
  /** Absolute folder. */
  root: string;
  index: string[];
  listing: boolean;
  spa: string | null;
  headers: Record<string, string>;
  cacheControl: string | null;
  symlinks: "inside" | "follow";
  compress: boolean;
}

/** Serves files from a folder. */
export interface StaticLocationConfig extends StaticSettings {
  kind: "static";
  path: string;
  /** True when the location names its own root: the prefix is removed before the rest is looked up in it. */
  alias: boolean;
}

/** Answers every request with a redirect. */
export interface RedirectLocationConfig {
  kind: "redirect";
  path: string;
  to: string;
  status: RedirectStatus;
}

/** One upstream of a proxy. */
export interface UpstreamAddress {
  /** As written, without the scheme (`127.0.0.1:3001`, `app.internal:443`). */
  name: string;
  host: string;
  port: number;
  /** `https://` upstreams: TLS, the certificate checked for `host`. */
  tls: boolean;
}

/** Header changes on one direction of a proxy. */
export interface HeaderRules {
  /** Set (replacing any value), names as written. */
  set: Record<string, string>;
  /** Removed, lower case. */
  remove: string[];
}

/** Passes requests to upstream servers. Times in ms, sizes in bytes. */
export interface ProxyLocationConfig {
  kind: "proxy";
  path: string;
  to: UpstreamAddress[];
  balance: ProxyBalance;
  stripPrefix: boolean;
  preserveHost: boolean;
  /** Active checks; null: none. */
  health: { path: string; interval: number; timeout: number; passes: number; fails: number } | null;
  /** Passive ejection after `fails` consecutive failures (0: off) for `cooldown`. */
  passive: { fails: number; cooldown: number };
  timeouts: { connect: number; response: number; idle: number };
  retries: number;
  /** Idle pooled connections kept per upstream. */
  keepAlive: number;
  headers: { request: HeaderRules; response: HeaderRules };
  maxBodySize: number;
  /** The site's trusted proxies (CIDR), copied here so the handler needs only its own config. */
  trustedProxies: string[];
  /** Extra roots (PEM file, absolute) for `https://` upstreams; null: the system's only. */
  caRoots: string | null;
}

/**
 * A path prefix of a site and what answers it: a tagged union, one kind per
 * handler module (`src/http/locations/`), each with its own normaliser
 * (`src/core/config/locations/`).
 */
export type LocationConfig = StaticLocationConfig | RedirectLocationConfig | ProxyLocationConfig;

/** The kinds of location. */
export type LocationKind = LocationConfig["kind"];

/** Which channels a rule covers and what is allowed on them. */
export interface ChannelRule {
  /** Channel name pattern; `*` matches any run of characters. */
  match: string;
  /** Clients may publish (the HTTP API always may). */
  publish: boolean;
  /** Messages kept for recovery with `since`. */
  historySize: number;
  /** How long a kept message stays recoverable, in ms. */
  historyAge: number;
  maxSubscribers: number;
}

/** A realtime endpoint: WebSocket upgrade and HTTP publish on one path. */
export interface RealtimeConfig {
  path: string;
  /** Bearer key of the publish API; null: Ferry generates one at start. */
  publishKey: string | null;
  /** Redis URL of the broker shared by every node; null: channels live in this process. */
  broker: string | null;
  /** Allowed Origin values (lower case); empty allows any. */
  origins: string[];
  protocols: string[];
  maxMessageSize: number;
  maxBackpressure: number;
  maxSubscriptions: number;
  maxChannels: number;
  /** Deepest nesting of arrays and objects accepted in client messages and publish bodies. */
  maxJsonDepth: number;
  pingInterval: number;
  idleTimeout: number;
  deflate: { enabled: boolean; threshold: number };
  /** First match wins. */
  channels: ChannelRule[];
}

/** Where a site's certificate comes from (resolved paths for files). */
export type SiteTls = { kind: "internal" } | { kind: "acme" } | { kind: "files"; cert: string; key: string };

export interface SiteConfig {
  hosts: string[];
  /** Its certificate for the TLS listeners; null: none of its own (the default site's is used). */
  tls: SiteTls | null;
  /** `Strict-Transport-Security` sent on its answers over TLS; null: none. */
  hsts: string | null;
  /** Peers (CIDR) whose X-Forwarded-* headers are believed. */
  trustedProxies: string[];
  /** Realtime endpoints, by path. */
  realtime: RealtimeConfig[];
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
  /** TLS listeners (HTTP/1.1 over TLS today); null: none. */
  tls: {
    listen: ListenAddress[];
    redirect: boolean;
    strictSni: boolean;
    /** The ACME CA for sites with `tls: acme` (directory URL, contact, extra roots to trust for it). */
    acme: {
      directory: string;
      email: string | null;
      caRoots: string | null;
      challenge: "http-01" | "tls-alpn-01";
    } | null;
  } | null;
  /** HTTP/2 with prior knowledge on the plain listeners. */
  h2c: boolean;
  /** Which HTTP/1.1 implementation serves the listeners. */
  engine: "ferry" | "node";
  sites: SiteConfig[];
}

/** One zone the DNS server serves, and who may copy it. */
export interface DnsZoneConfig {
  file: string;
  origin: string;
  records?: string;
  /** AXFR/IXFR: allowed client ranges (canonical `ADDR/PREFIX`) and the key they must sign with; null: nobody. */
  transfer: { allow: string[]; tsig: string | null } | null;
  /** Secondaries to NOTIFY on load and on every new serial. */
  notify: ListenAddress[];
  /** A secondary zone: its primary and the key transfers from it are signed with (`file` is its copy under the state folder). */
  primary?: { address: ListenAddress; tsig: string | null };
}

/** The DNS server: addresses (UDP and TCP each) and zones. */
export interface DnsConfig {
  listen: ListenAddress[];
  /**
   * Zones with their origins: from a file (absolute path), or inline master-file
   * text (`records`, with `file` naming the config file for messages).
   */
  zones: DnsZoneConfig[];
  /** TSIG keys by name (lower case, no trailing dot). */
  tsig: { name: string; algorithm: string; secret: string }[];
  /** Upstreams for names outside the zones (empty: REFUSED). */
  forward: ListenAddress[];
  /** How long to wait for one upstream answer, in ms. */
  forwardTimeout: number;
  /** Most entries in the forwarder's cache. */
  cacheSize: number;
  /** An idle DNS-over-TCP connection closes after this, in ms. */
  tcpIdleTimeout: number;
  /** A query over TCP must arrive whole within this of its first byte, in ms. */
  tcpMessageTimeout: number;
  /** Open DNS-over-TCP connections per listener; past it the least recently active idle one is closed. */
  tcpMaxConnections: number;
  /** Zone transfers being sent at once (all clients); one more is refused. */
  transfersOut: number;
  /** DNS over TLS listeners, with the certificate of the HTTP site `site` (null: the default site's). */
  tls: { listen: ListenAddress[]; site: string | null } | null;
}

/** The admin listener: inspector and /metrics. */
export interface AdminConfig {
  listen: ListenAddress;
  /** Rows kept per protocol (DNS, HTTP, WebSocket sessions). */
  events: number;
  /** Frames kept per watched WebSocket session. */
  frames: number;
  /** When set, every admin request must carry it (Bearer, cookie, or `?token=` once on the page). */
  token: string | null;
  /** True when the listener may be reached from other hosts (then `Host` is not limited to loopback). */
  allowRemote: boolean;
}

/** The canonical configuration: the only runtime truth. */
export interface Config {
  /** The file it came from, if any (reloads read it again). */
  source: string | null;
  http: HttpConfig | null;
  dns: DnsConfig | null;
  admin: AdminConfig | null;
  log: {
    level: LogLevel;
    access: { format: "json" | "combined"; output: string } | null;
  };
  shutdown: { grace: number };
  /** Worker processes (1: no cluster, this process serves). */
  workers: number;
  /** Folder where Ferry keeps its local CA and issued certificates (absolute). */
  state: string;
}
