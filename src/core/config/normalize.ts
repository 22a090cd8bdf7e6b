import { existsSync } from "node:fs";
import { isIP } from "node:net";
import os from "node:os";
import path from "node:path";
import { isLoopback } from "../loopback.js";
import { parseListen } from "./listen.js";
import { normalizeLocation } from "./locations/location.js";
import { normalizeProxy, normalizeTrusted } from "./locations/proxy.js";
import { resolveServing } from "./locations/static.js";
import { normalizeRealtime } from "./normalize-realtime.js";
import type { KeyPath, RawProblem } from "./problems.js";
import { configSchema } from "./schema.js";
import type {
  AdminConfig,
  Config,
  DnsConfig,
  DnsZoneConfig,
  HttpConfig,
  ListenAddress,
  LocationConfig,
  SiteConfig,
  UserConfig,
  UserLocation,
  UserSite,
} from "./types.js";
import { parseDuration, parseSize } from "./units.js";
import { defaultOrigin } from "./zone-origin.js";

export { parseListen };

/** `$XDG_DATA_HOME/ferry`, or `~/.local/share/ferry`. */
function defaultState(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return path.join(xdg ? xdg : path.join(os.homedir(), ".local", "share"), "ferry");
}

/** Where relative paths start, and what to do when no site is configured. */
export interface NormalizeContext {
  /** Folder relative roots and log files are resolved against. */
  baseDir: string;
  /** File the config came from, if any. */
  source: string | null;
}

/**
 * Defaults inside a `oneOf` branch are not filled in by the validator (it
 * cannot know the branch before it has matched): read from the schema.
 */
const ACCESS_BRANCH = configSchema.properties.log.properties.access.oneOf[1].properties;
const ACCESS_DEFAULTS = { format: ACCESS_BRANCH.format.default, output: ACCESS_BRANCH.output.default };

function normalizeSite(
  site: UserSite,
  index: number,
  ctx: NormalizeContext,
  maxBodySize: number,
  problems: RawProblem[],
): SiteConfig {
  const at: KeyPath = ["http", "sites", index];
  const base = resolveServing(site, null, ctx, at, problems);
  const trustedProxies = normalizeTrusted(site.trustedProxies!, [...at, "trustedProxies"], problems);
  const lctx = { ...ctx, maxBodySize, trustedProxies };
  const seen = new Set<string>();
  const locations: LocationConfig[] = [];
  const userLocations: UserLocation[] = site.locations ?? [];
  userLocations.forEach((loc, i) => {
    const lat: KeyPath = [...at, "locations", i];
    if (seen.has(loc.path))
      problems.push({ path: [...lat, "path"], message: `location ${loc.path} is declared twice` });
    seen.add(loc.path);
    locations.push(normalizeLocation(loc, base, lctx, lat, problems));
  });
  if (site.proxy !== undefined) {
    if (seen.has("/"))
      problems.push({
        path: [...at, "proxy"],
        message: "the site proxies /, and a location for / is declared too",
      });
    else locations.push(normalizeProxy("/", site.proxy, lctx, [...at, "proxy"], problems));
    seen.add("/");
  }
  if (!seen.has("/")) {
    if (base.root === null) problems.push({ path: at, message: "a site needs a root, or a location for /" });
    locations.push({ kind: "static", path: "/", alias: false, ...base, root: base.root ?? "" });
  }
  locations.sort((a, b) => b.path.length - a.path.length);
  const errorPages: Record<number, string> = {};
  for (const [status, page] of Object.entries(site.errorPages ?? {})) errorPages[Number(status)] = page;
  const realtime = normalizeRealtime(site.realtime ?? [], [...at, "realtime"], problems);
  for (const r of realtime) {
    if (site.dnsOverHttps && r.path === "/dns-query")
      problems.push({ path: [...at, "realtime"], message: "/dns-query is taken by dnsOverHttps" });
  }
  return {
    hosts: (site.hosts ?? []).map((h) => h.toLowerCase()),
    tls: normalizeSiteTls(site.tls, ctx, [...at, "tls"], problems),
    hsts: site.hsts ?? null,
    trustedProxies,
    realtime,
    dnsOverHttps: site.dnsOverHttps!,
    default: site.default ?? false,
    errorPages,
    locations,
  };
}

function normalizeSiteTls(
  tls: UserSite["tls"],
  ctx: NormalizeContext,
  at: KeyPath,
  problems: RawProblem[],
): SiteConfig["tls"] {
  if (tls === undefined) return null;
  if (tls === "internal") return { kind: "internal" };
  if (tls === "acme") return { kind: "acme" };
  const cert = path.resolve(ctx.baseDir, tls.cert);
  const key = path.resolve(ctx.baseDir, tls.key);
  if (!existsSync(cert))
    problems.push({ path: [...at, "cert"], message: `certificate file ${cert} does not exist` });
  if (!existsSync(key)) problems.push({ path: [...at, "key"], message: `key file ${key} does not exist` });
  return { kind: "files", cert, key };
}

/** Parses a list of `HOST:PORT`, reporting each bad one at its own key. */
function listenList(texts: string[], at: KeyPath, problems: RawProblem[]): ListenAddress[] {
  const out: ListenAddress[] = [];
  texts.forEach((text, i) => {
    const addr = parseListen(text);
    if (addr) out.push(addr);
    else problems.push({ path: [...at, i], message: `${text} is not HOST:PORT with a port up to 65535` });
  });
  return out;
}

function normalizeHttp(
  http: NonNullable<UserConfig["http"]>,
  ctx: NormalizeContext,
  problems: RawProblem[],
): HttpConfig {
  const listen = listenList(http.listen!, ["http", "listen"], problems);
  const l = http.limits!;
  const maxBodySize = parseSize(l.maxBodySize!);
  const sites = http.sites!.map((s, i) => normalizeSite(s, i, ctx, maxBodySize, problems));
  const owner = new Map<string, number>();
  sites.forEach((s, i) => {
    s.hosts.forEach((h, j) => {
      const prev = owner.get(h);
      if (prev !== undefined)
        problems.push({
          path: ["http", "sites", i, "hosts", j],
          message: `host ${h} is already served by http.sites[${prev}]`,
        });
      else owner.set(h, i);
    });
  });
  const defaults = sites.filter((s) => s.default);
  if (defaults.length > 1) {
    const second = sites.indexOf(defaults[1]!);
    problems.push({
      path: ["http", "sites", second, "default"],
      message: "only one site can be the default",
    });
  }
  if (defaults.length === 0 && sites.length > 0) sites[0]!.default = true;
  sites.forEach((s, i) => {
    if (s.tls?.kind === "acme" && !http.tls?.acme)
      problems.push({
        path: ["http", "sites", i, "tls"],
        message: "tls: acme needs http.tls.acme (the CA's directory)",
      });
  });
  if (http.tls === undefined)
    sites.forEach((s, i) => {
      if (s.tls !== null)
        problems.push({
          path: ["http", "sites", i, "tls"],
          message: "a site certificate needs TLS listeners: add http.tls.listen (or --https HOST:PORT)",
        });
    });
  const tls = http.tls
    ? {
        listen: listenList(http.tls.listen ?? [], ["http", "tls", "listen"], problems),
        redirect: http.tls.redirect!,
        strictSni: http.tls.strictSni!,
        acme: http.tls.acme
          ? {
              directory: http.tls.acme.directory,
              email: http.tls.acme.email ?? null,
              caRoots: http.tls.acme.caRoots ? path.resolve(ctx.baseDir, http.tls.acme.caRoots) : null,
              challenge: http.tls.acme.challenge!,
            }
          : null,
      }
    : null;
  if (tls !== null && tls.listen.length === 0)
    problems.push({
      path: ["http", "tls"],
      message: "http.tls needs listen addresses (e.g. [127.0.0.1:8443])",
    });
  const c = http.fileCache!;
  const z = http.compression!;
  return {
    listen,
    limits: {
      maxRequestLine: parseSize(l.maxRequestLine!),
      maxHeaderSize: parseSize(l.maxHeaderSize!),
      maxHeaderCount: l.maxHeaderCount!,
      maxBodySize,
      headerTimeout: Math.max(1, parseDuration(l.headerTimeout!)),
      requestTimeout: Math.max(1, parseDuration(l.requestTimeout!)),
      idleTimeout: Math.max(1, parseDuration(l.idleTimeout!)),
      sendTimeout: Math.max(1, parseDuration(l.sendTimeout!)),
      maxConnections: l.maxConnections!,
    },
    fileCache: {
      maxSize: parseSize(c.maxSize!),
      maxFileSize: parseSize(c.maxFileSize!),
      validity: parseDuration(c.validity!),
    },
    compression: {
      threshold: parseSize(z.threshold!),
      gzip: z.gzip!,
      brotli: z.brotli!,
    },
    tls,
    h2c: http.h2c!,
    engine: http.engine!,
    sites,
  };
}

/** `IP[:PORT]` addresses (port 53 when left out; IPv6 as `[::1]:53`). */
function ipList(list: string[], at: KeyPath, problems: RawProblem[]): ListenAddress[] {
  const out: ListenAddress[] = [];
  list.forEach((text, i) => {
    const addr =
      isIP(text) !== 0 ? { host: text, port: 53 } : (parseListen(text) ?? parseListen(`${text}:53`));
    if (addr && isIP(addr.host) !== 0) out.push(addr);
    else
      problems.push({
        path: [...at, i],
        message: `${text} is not IP[:PORT] (an address such as 127.0.0.1:53 or [::1]:53)`,
      });
  });
  return out;
}

const keyName = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** TSIG keys: names unique, secrets base64 of at least 16 bytes (RFC 8945 §6 asks for the digest's length). */
function normalizeTsig(
  keys: NonNullable<NonNullable<UserConfig["dns"]>["tsig"]>,
  problems: RawProblem[],
): DnsConfig["tsig"] {
  const out: DnsConfig["tsig"] = [];
  keys.forEach((k, i) => {
    const name = keyName(k.name);
    if (out.some((o) => o.name === name))
      problems.push({ path: ["dns", "tsig", i, "name"], message: `a second key named ${name}` });
    const bytes = Buffer.from(k.secret, "base64");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(k.secret) || bytes.length < 16)
      problems.push({
        path: ["dns", "tsig", i, "secret"],
        message: "the secret is not base64 of at least 16 bytes (make one with `openssl rand -base64 32`)",
      });
    out.push({ name, algorithm: k.algorithm!, secret: k.secret });
  });
  return out;
}

function normalizeDns(
  dns: NonNullable<UserConfig["dns"]>,
  ctx: NormalizeContext,
  problems: RawProblem[],
  state: string,
): DnsConfig {
  const listen = listenList(dns.listen!, ["dns", "listen"], problems);
  const tsig = normalizeTsig(dns.tsig ?? [], problems);
  const zones = (dns.zones ?? []).map((z, i): DnsZoneConfig => {
    const at: KeyPath = ["dns", "zones", i];
    const transfer = z.transfer
      ? {
          allow: normalizeTrusted(z.transfer.allow, [...at, "transfer", "allow"], problems),
          tsig: z.transfer.tsig ? keyName(z.transfer.tsig) : null,
        }
      : null;
    if (transfer?.tsig && !tsig.some((k) => k.name === transfer.tsig))
      problems.push({
        path: [...at, "transfer", "tsig"],
        message: `no key named ${transfer.tsig} in dns.tsig`,
      });
    const notify = ipList(z.notify ?? [], [...at, "notify"], problems);
    if (z.primary !== undefined) {
      const origin = (z.origin ?? "").replace(/\.$/, "");
      const address = ipList([z.primary], [...at, "primary"], problems)[0] ?? { host: "", port: 0 };
      const key = z.tsig ? keyName(z.tsig) : null;
      if (key && !tsig.some((k) => k.name === key))
        problems.push({ path: [...at, "tsig"], message: `no key named ${key} in dns.tsig` });
      const file = path.join(state, "secondary", `${origin.toLowerCase() || "root"}.zone`);
      return { file, origin, transfer, notify, primary: { address, tsig: key } };
    }
    if (z.tsig !== undefined)
      problems.push({
        path: [...at, "tsig"],
        message: "tsig names the key of a primary: it goes with primary",
      });
    if (z.records !== undefined) {
      const origin = (z.origin ?? "").replace(/\.$/, "");
      const file = `${ctx.source ?? "config"} (dns.zones[${i}], ${origin})`;
      return { file, origin, records: z.records, transfer, notify };
    }
    const file = path.resolve(ctx.baseDir, z.file!);
    if (!existsSync(file))
      problems.push({ path: [...at, "file"], message: `zone file ${file} does not exist` });
    return { file, origin: (z.origin ?? defaultOrigin(file)).replace(/\.$/, ""), transfer, notify };
  });
  const forward = ipList(dns.forward ?? [], ["dns", "forward"], problems);
  return {
    listen,
    zones,
    tsig,
    forward,
    forwardTimeout: parseDuration(dns.forwardTimeout!),
    cacheSize: dns.cacheSize!,
    tcpIdleTimeout: parseDuration(dns.tcpIdleTimeout!),
    tcpMessageTimeout: parseDuration(dns.tcpMessageTimeout!),
    tcpMaxConnections: dns.tcpMaxConnections!,
    transfersOut: dns.transfersOut!,
    tls: dns.tls
      ? {
          listen: listenList(dns.tls.listen!, ["dns", "tls", "listen"], problems),
          site: dns.tls.site?.toLowerCase() ?? null,
        }
      : null,
  };
}

function normalizeAdmin(admin: NonNullable<UserConfig["admin"]>, problems: RawProblem[]): AdminConfig | null {
  const listen = parseListen(admin.listen!);
  if (listen === null) {
    problems.push({
      path: ["admin", "listen"],
      message: `${admin.listen} is not HOST:PORT with a port up to 65535`,
    });
    return null;
  }
  if (!isLoopback(listen.host) && !admin.allowRemote)
    problems.push({
      path: ["admin", "listen"],
      message: `${admin.listen} is not a loopback address; the inspector shows every request, so set allowRemote: true to mean it`,
    });
  const token = admin.token ?? null;
  if (admin.allowRemote && !isLoopback(listen.host) && token === null)
    problems.push({
      path: ["admin", "allowRemote"],
      message:
        "a non-loopback admin listener needs admin.token: anyone who can reach it would see your traffic",
    });
  return {
    listen,
    events: admin.events!,
    frames: admin.frames!,
    token,
    allowRemote: admin.allowRemote!,
  };
}

/**
 * Turns a schema-valid user config into the canonical `Config`: defaults
 * applied, units parsed, paths absolute, sites' settings pushed down into
 * their locations. Returns the problems that the schema cannot see.
 */
export function normalizeConfig(
  user: UserConfig,
  ctx: NormalizeContext,
): { config: Config; problems: RawProblem[] } {
  const problems: RawProblem[] = [];
  const access = user.log!.access!;
  let output = access === false ? "" : (access.output ?? ACCESS_DEFAULTS.output);
  if (output !== "stdout" && output !== "stderr" && output !== "") output = path.resolve(ctx.baseDir, output);
  const state = user.state !== undefined ? path.resolve(ctx.baseDir, user.state) : defaultState();
  const config: Config = {
    source: ctx.source,
    http: user.http ? normalizeHttp(user.http, ctx, problems) : null,
    dns: user.dns ? normalizeDns(user.dns, ctx, problems, state) : null,
    admin: user.admin ? normalizeAdmin(user.admin, problems) : null,
    log: {
      level: user.log!.level!,
      access: access === false ? null : { format: access.format ?? ACCESS_DEFAULTS.format, output },
    },
    shutdown: { grace: parseDuration(user.shutdown!.grace!) },
    workers: user.workers === "auto" ? os.availableParallelism() : (user.workers ?? 1),
    state,
  };
  if (config.dns?.tls) {
    const t = config.dns.tls;
    if (config.http?.tls == null)
      problems.push({
        path: ["dns", "tls"],
        message:
          "DNS over TLS presents an HTTP site's certificate: add http.tls (or --https) and a site with tls",
      });
    else if (t.site !== null && !config.http.sites.some((s) => s.hosts.includes(t.site!)))
      problems.push({ path: ["dns", "tls", "site"], message: `no HTTP site has the host name ${t.site}` });
  }
  if (config.http && !config.dns) {
    config.http.sites.forEach((s, i) => {
      if (s.dnsOverHttps)
        problems.push({
          path: ["http", "sites", i, "dnsOverHttps"],
          message: "DNS over HTTPS needs a dns section (zones or forward)",
        });
    });
  }
  return { config, problems };
}
