/**
 * The CLI adapter: `ferry serve` flags onto the user config (alone, or on
 * top of a config file), then the same validation as the YAML adapter.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, UsageError } from "../../errors.js";
import { buildConfig } from "../load.js";
import type { KeyPath } from "../problems.js";
import type { Config, UserConfig, UserSite } from "../types.js";
import { parseYamlConfig } from "./yaml.js";

/** What `ferry serve` was told on the command line. */
export interface ServeFlags {
  root?: string;
  http: string[];
  config?: string;
  accessLog?: string;
  logLevel?: string;
  /** `--dns HOST:PORT` */
  dns?: string[];
  /** `--zone FILE` (repeatable) */
  zones?: string[];
  /** `--forward HOST[:PORT]` (repeatable) */
  forward?: string[];
  /** `--realtime PATH`: a realtime endpoint on the default site. */
  realtime?: string;
  /** `--publish-key KEY`: the key of that endpoint (or of every endpoint in the file that names none). */
  publishKey?: string;
  broker?: string;
  workers?: string;
  /** `--admin HOST:PORT`: the inspector and /metrics. */
  admin?: string;
  /** `--proxy PREFIX=UPSTREAM[,UPSTREAM…]` (repeatable): proxy locations on the default site. */
  proxy?: string[];
  /** `--https HOST:PORT` (repeatable): TLS listeners; the default site gets `tls: internal` unless it has one. */
  https?: string[];
  /** `--tls-cert FILE --tls-key FILE`: the default site's certificate instead of an internal one. */
  tlsCert?: string;
  tlsKey?: string;
  /** `--dot HOST:PORT` (repeatable): DNS over TLS with the default site's certificate. */
  dot?: string[];
  /** `--h2c`: HTTP/2 with prior knowledge on the plain listeners. */
  h2c?: boolean;
  /** `--http-engine ferry|node`. */
  httpEngine?: string;
  /** `--state DIR`: where the local CA and certificates live. */
  state?: string;
}

/** Applies flags onto a user config (a copy); flags win over the file. */
export function applyServeFlags(user: UserConfig | null, flags: ServeFlags, cwd: string): UserConfig {
  const out: UserConfig = structuredClone(user ?? {});
  const root = flags.root !== undefined ? path.resolve(cwd, flags.root) : undefined;
  const dnsFlags =
    (flags.dns?.length ?? 0) > 0 ||
    (flags.zones?.length ?? 0) > 0 ||
    (flags.forward?.length ?? 0) > 0 ||
    (flags.dot?.length ?? 0) > 0;
  if (dnsFlags) {
    const dns = { ...out.dns };
    if (flags.dns?.length) dns.listen = flags.dns;
    if (flags.zones?.length)
      dns.zones = [...(dns.zones ?? []), ...flags.zones.map((f) => ({ file: path.resolve(cwd, f) }))];
    if (flags.forward?.length) dns.forward = flags.forward;
    if (flags.dot?.length) dns.tls = { ...dns.tls, listen: flags.dot };
    out.dns = dns;
  }
  // Flags alone start HTTP unless they name only DNS.
  if (
    (user === null && !dnsFlags) ||
    flags.http.length > 0 ||
    root !== undefined ||
    (flags.proxy?.length ?? 0) > 0
  ) {
    const http = { ...out.http };
    if (flags.http.length > 0) http.listen = flags.http;
    if (!http.sites) http.sites = [{ root: root ?? cwd }];
    else if (root !== undefined) {
      const sites: UserSite[] = http.sites;
      const target = sites.find((s) => s.default) ?? sites[0]!;
      target.root = root;
    }
    out.http = http;
  }
  if ((flags.proxy?.length ?? 0) > 0) applyProxyFlags(out, flags.proxy!, cwd);
  if ((flags.https?.length ?? 0) > 0 || flags.tlsCert !== undefined || flags.tlsKey !== undefined)
    applyTlsFlags(out, flags, cwd);
  if (flags.h2c === true) out.http = { ...out.http, h2c: true };
  if (flags.httpEngine !== undefined)
    out.http = { ...out.http, engine: flags.httpEngine as "ferry" | "node" };
  if (flags.state !== undefined) out.state = path.resolve(cwd, flags.state);
  if (flags.workers !== undefined) {
    if (flags.workers === "auto") out.workers = "auto";
    else if (/^\d{1,4}$/.test(flags.workers) && Number(flags.workers) >= 1 && Number(flags.workers) <= 1024)
      out.workers = Number(flags.workers);
    else throw new UsageError(`--workers takes a number of processes (1–1024) or auto, not ${flags.workers}`);
  }
  if (flags.realtime !== undefined || flags.publishKey !== undefined || flags.broker !== undefined)
    applyRealtimeFlags(out, flags);
  if (flags.admin !== undefined) out.admin = { ...out.admin, listen: flags.admin };
  if (flags.logLevel !== undefined) out.log = { ...out.log, level: flags.logLevel as never };
  if (flags.accessLog !== undefined) {
    out.log = {
      ...out.log,
      access:
        flags.accessLog === "off" ? false : { ...(out.log?.access || {}), format: flags.accessLog as never },
    };
  }
  return out;
}

/**
 * `--proxy PREFIX=UPSTREAM[,UPSTREAM…]`: a location with `proxy.to` on the
 * default site (replacing a location of that path from the file).
 */
function applyProxyFlags(out: UserConfig, specs: string[], cwd: string): void {
  if (!out.http) out.http = {};
  if (!out.http.sites) out.http.sites = [{ root: cwd }];
  const sites: UserSite[] = out.http.sites;
  const target = sites.find((s) => s.default) ?? sites[0]!;
  const locations = [...(target.locations ?? [])];
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const prefix = spec.slice(0, eq);
    const to = spec
      .slice(eq + 1)
      .split(",")
      .filter((u) => u !== "");
    if (eq <= 0 || !prefix.startsWith("/") || to.length === 0)
      throw new UsageError(
        `--proxy takes PREFIX=UPSTREAM[,UPSTREAM...], e.g. /api/=127.0.0.1:3001 (got ${JSON.stringify(spec)})`,
      );
    const i = locations.findIndex((l) => l.path === prefix);
    const loc = { path: prefix, proxy: { to } };
    if (i >= 0) locations[i] = loc;
    else locations.push(loc);
  }
  target.locations = locations;
}

/**
 * `--https HOST:PORT`: `http.tls.listen`; the default site gets a certificate:
 * `--tls-cert/--tls-key` files, or `internal` when it has none of its own.
 */
function applyTlsFlags(out: UserConfig, flags: ServeFlags, cwd: string): void {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
    throw new UsageError("--tls-cert and --tls-key go together");
  if (!out.http) out.http = {};
  if ((flags.https?.length ?? 0) > 0) out.http.tls = { ...out.http.tls, listen: flags.https };
  if (!out.http.sites) out.http.sites = [{ root: cwd }];
  const sites: UserSite[] = out.http.sites;
  const target = sites.find((s) => s.default) ?? sites[0]!;
  if (flags.tlsCert !== undefined)
    target.tls = { cert: path.resolve(cwd, flags.tlsCert), key: path.resolve(cwd, flags.tlsKey!) };
  else target.tls ??= "internal";
}

function applyRealtimeFlags(out: UserConfig, flags: ServeFlags): void {
  const sites: UserSite[] = out.http?.sites ?? [];
  if (flags.realtime !== undefined && !flags.realtime.startsWith("/"))
    throw new UsageError(
      `--realtime takes a path that starts with /, e.g. /${flags.realtime.replace(/^\/*/, "")}`,
    );
  if (flags.realtime === undefined && !sites.some((s) => (s.realtime ?? []).length > 0))
    throw new UsageError(
      `${flags.publishKey !== undefined ? "--publish-key" : "--broker"} needs --realtime PATH (or a realtime endpoint in the config file)`,
    );
  if (flags.realtime !== undefined) {
    if (!out.http) out.http = { sites: [{ root: "." }] };
    if (!out.http.sites) out.http.sites = [{ root: "." }];
    const target = out.http.sites.find((s) => s.default) ?? out.http.sites[0]!;
    const list = [...(target.realtime ?? [])];
    const existing = list.find((r) => r.path === flags.realtime);
    if (existing) {
      if (flags.publishKey !== undefined) existing.publishKey = flags.publishKey;
      if (flags.broker !== undefined) existing.broker = flags.broker;
    } else {
      list.push({
        path: flags.realtime,
        ...(flags.publishKey !== undefined ? { publishKey: flags.publishKey } : {}),
        ...(flags.broker !== undefined ? { broker: flags.broker } : {}),
      });
    }
    target.realtime = list;
    return;
  }
  for (const site of sites)
    for (const r of site.realtime ?? []) {
      if (flags.publishKey !== undefined) r.publishKey ??= flags.publishKey;
      if (flags.broker !== undefined) r.broker = flags.broker;
    }
}

/** Builds the canonical config for `ferry serve` from its flags (and `--config` file when given). */
export function configFromFlags(flags: ServeFlags, cwd = process.cwd()): Config {
  if (flags.config === undefined) {
    return buildConfig(applyServeFlags(null, flags, cwd), { baseDir: cwd, source: null });
  }
  const abs = path.resolve(cwd, flags.config);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new ConfigError("ERR_CONFIG_READ", [
      { key: "", message: `cannot read ${flags.config}: ${reason}` },
    ]);
  }
  const parsed = parseYamlConfig(text, flags.config);
  const merged = applyServeFlags((parsed.value ?? {}) as UserConfig, flags, cwd);
  return buildConfig(merged, { baseDir: path.dirname(abs), source: abs }, (p: KeyPath) => parsed.locate(p));
}
