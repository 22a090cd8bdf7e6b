import cluster from "node:cluster";
import { forwardEvents, forwardStats } from "../../app/forward-events.js";
import { Runtime } from "../../app/runtime.js";
import { runPrimary } from "../../app/workers.js";
import { configFromFlags, type ServeFlags } from "../../core/config/adapters/flags.js";
import type { Config } from "../../core/config/types.js";
import { UsageError } from "../../core/errors.js";
import { createLogger, type Logger } from "../../core/log.js";
import { AcmeRemote } from "../../tls/acme-remote.js";
import { parseArgs } from "../args.js";

export const serveHelp = `Usage: ferry serve [ROOT] [--http HOST:PORT]... [--dns HOST:PORT] [--zone FILE]... [--forward IP[:PORT]]...
                   [--proxy PREFIX=UPSTREAM[,UPSTREAM...]]... [--realtime PATH] [--publish-key KEY] [--broker URL] [--admin HOST:PORT]
                   [--workers N|auto]
                   [--https HOST:PORT]... [--tls-cert FILE --tls-key FILE] [--dot HOST:PORT]... [--state DIR] [--h2c]
                   [--http-engine ferry|node]
                   [--config FILE] [--access-log json|combined|off] [--log-level LEVEL]

Serves ROOT (default: the current folder) over HTTP on 127.0.0.1:8080, or
what --config FILE describes. Flags override the file. SIGHUP reloads the
config; SIGINT/SIGTERM stop gracefully.

  --http HOST:PORT      listen address (repeatable)        config: http.listen
  --dns HOST:PORT       answer DNS on UDP and TCP (alone: DNS only) config: dns.listen
  --zone FILE           zone file to serve (repeatable)     config: dns.zones
  --forward IP[:PORT]   upstream for other names (repeatable) config: dns.forward
  --proxy PREFIX=UPSTREAM[,UPSTREAM...]
                        proxy PREFIX to upstreams (repeatable), e.g. /=127.0.0.1:3000
                                                      config: http.sites[].locations[].proxy
  --https HOST:PORT     HTTPS listen address (repeatable); the site gets a certificate
                        from Ferry's local CA (see ferry ca)  config: http.tls.listen
  --tls-cert FILE       the site's certificate chain (PEM), with --tls-key
                                                      config: http.sites[].tls.cert
  --tls-key FILE        its private key (PEM)         config: http.sites[].tls.key
  --dot HOST:PORT       DNS over TLS (repeatable), with the site's certificate
                                                      config: dns.tls.listen
  --state DIR           where the local CA and certificates live  config: state
  --h2c                 HTTP/2 with prior knowledge on the --http listeners
                                                      config: http.h2c
  --http-engine NAME    ferry (default: Ferry's own HTTP/1.1) or node (node:http)
                                                      config: http.engine
  --realtime PATH       WebSocket pub/sub and publish API at PATH config: http.sites[].realtime
  --publish-key KEY     publish API key (default: generated) config: realtime[].publishKey
  --broker URL          share channels across nodes on Redis (redis://HOST:PORT/DB, or a cluster:
                        redis+cluster://HOST:PORT,HOST:PORT) config: realtime[].broker
  --workers N|auto      processes serving the same listeners (auto: one per core) config: workers
  --admin HOST:PORT     inspector and /metrics (loopback)  config: admin.listen
  --config FILE         YAML config file (see docs/config.md)
  --access-log FORMAT   json (default), combined, or off   config: log.access
  --log-level LEVEL     fatal|error|warn|info|debug|trace   config: log.level
`;

/** Parses `serve` arguments into flags. */
export function parseServeArgs(args: string[]): ServeFlags {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      http: { type: "string", multiple: true },
      config: { type: "string", short: "c" },
      "access-log": { type: "string" },
      "log-level": { type: "string" },
      dns: { type: "string", multiple: true },
      zone: { type: "string", multiple: true },
      forward: { type: "string", multiple: true },
      realtime: { type: "string" },
      "publish-key": { type: "string" },
      broker: { type: "string" },
      workers: { type: "string" },
      admin: { type: "string" },
      proxy: { type: "string", multiple: true },
      https: { type: "string", multiple: true },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      state: { type: "string" },
      dot: { type: "string", multiple: true },
      h2c: { type: "boolean" },
      "http-engine": { type: "string" },
    },
  });
  if (positionals.length > 1) throw new UsageError(`serve takes one ROOT folder, got ${positionals.length}`);
  const access = values["access-log"];
  if (access !== undefined && !["json", "combined", "off"].includes(access)) {
    throw new UsageError(`--access-log must be json, combined or off, not ${access}`);
  }
  const engine = values["http-engine"];
  if (engine !== undefined && engine !== "ferry" && engine !== "node") {
    throw new UsageError(`--http-engine must be ferry or node, not ${engine}`);
  }
  return {
    root: positionals[0],
    http: values.http ?? [],
    config: values.config,
    accessLog: access,
    logLevel: values["log-level"],
    dns: values.dns ?? [],
    zones: values.zone ?? [],
    forward: values.forward ?? [],
    realtime: values.realtime,
    publishKey: values["publish-key"],
    broker: values.broker,
    workers: values.workers,
    admin: values.admin,
    proxy: values.proxy ?? [],
    https: values.https ?? [],
    tlsCert: values["tls-cert"],
    tlsKey: values["tls-key"],
    state: values.state,
    dot: values.dot ?? [],
    h2c: values.h2c,
    httpEngine: engine,
  };
}

/** `ferry serve`: runs until a signal stops it. */
export async function serve(args: string[]): Promise<void> {
  const flags = parseServeArgs(args);
  const config = configFromFlags(flags);
  const log = createLogger(config.log.level);
  if (config.workers > 1 && cluster.isPrimary) {
    const primary = runPrimary(config, () => configFromFlags(flags), log);
    const banner = await primary.ready.catch((err: Error & { exitCode?: number }) => {
      // A worker could not start (ERR_LISTEN, say): its words, and its exit code.
      process.stderr.write(`ferry: ${err.message}\n`);
      process.exit(err.exitCode ?? 1);
    });
    for (const line of banner) process.stderr.write(`${line}\n`);
    return;
  }
  const worker = process.env.FERRY_WORKER;
  if (worker === undefined) {
    const rt = await Runtime.start(config, log);
    rt.handleSignals(() => configFromFlags(flags));
    for (const line of bannerOf(rt, log)) process.stderr.write(`${line}\n`);
    return;
  }
  // A worker of the cluster: the admin listener is the primary's; its events go there.
  const wlog = log.child({ worker: Number(worker) });
  const noAdmin = (c: Config): Config => ({ ...c, admin: null });
  let rt: Runtime;
  try {
    // ACME orders are the primary's (one per certificate); this worker serves their challenges.
    rt = await Runtime.start(noAdmin(config), wlog, { acme: (_settings, state) => new AcmeRemote(state) });
  } catch (err) {
    const e = err as Error & { code?: string };
    process.send?.(
      { t: "failed", message: e.code ? `${e.message} (${e.code})` : e.message, exitCode: 1 },
      () => process.exit(1),
    );
    return;
  }
  rt.handleSignals(() => noAdmin(configFromFlags(flags)), true);
  let events: ReturnType<typeof forwardEvents> | null = null;
  if (process.env.FERRY_EVENTS === "1") {
    events = forwardEvents(Number(worker));
    forwardStats(
      () => (rt.http?.realtime.all() ?? []).map((h) => ({ site: h.site, path: h.config.path, ...h.stats })),
      () => rt.http?.upstreams() ?? [],
    );
  }
  process.on("message", (msg: { t?: string; origin?: string; on?: boolean }) => {
    if (msg?.t === "dns-notify" && msg.origin !== undefined) rt.dns?.notified(msg.origin);
    // An inspector watches in the primary: this worker's frames go there too.
    else if (msg?.t === "watch") events?.watch(msg.on === true);
  });
  process.send?.({ t: "ready", banner: bannerOf(rt, wlog) });
}

/** What `ferry serve` prints once it listens (the primary prints one worker's, once). */
function bannerOf(rt: Runtime, log: Logger): string[] {
  const lines: string[] = [];
  for (const a of rt.http?.addresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    log.info({ address: `${host}:${a.port}` }, `serving http://${host}:${a.port}/`);
    lines.push(`Ferry serving http://${host}:${a.port}/`);
  }
  for (const a of rt.http?.tlsAddresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    log.info({ address: `${host}:${a.port}` }, `serving https://${host}:${a.port}/`);
    lines.push(`Ferry serving https://${host}:${a.port}/`);
  }
  for (const hub of rt.http?.realtime.all() ?? []) {
    const where = `${hub.site === "default" ? "" : `${hub.site} `}${hub.config.path}`;
    if (hub.keyGenerated) {
      log.info({ site: hub.site, path: hub.config.path }, "realtime publish key generated");
      lines.push(`Ferry realtime on ${where}; publish key (generated): ${hub.key}`);
    } else {
      lines.push(`Ferry realtime on ${where}`);
    }
  }
  for (const a of rt.admin?.addresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    log.info({ address: `${host}:${a.port}` }, `inspector on http://${host}:${a.port}/`);
    lines.push(`Ferry inspector on http://${host}:${a.port}/ (metrics: /metrics)`);
  }
  for (const a of rt.dns?.addresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    lines.push(`Ferry answering DNS on ${host}:${a.port} (udp, tcp)`);
  }
  for (const a of rt.dns?.tlsAddresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    lines.push(`Ferry answering DNS over TLS on ${host}:${a.port}`);
  }
  if (!rt.http && !rt.dns) lines.push("Ferry: the configuration starts no service");
  return lines;
}
