import { Runtime } from "../../app/runtime.js";
import { configFromFlags, type ServeFlags } from "../../core/config/adapters/flags.js";
import { UsageError } from "../../core/errors.js";
import { createLogger } from "../../core/log.js";
import { parseArgs } from "../args.js";

export const serveHelp = `Usage: ferry serve [ROOT] [--http HOST:PORT]... [--dns HOST:PORT] [--zone FILE]... [--forward IP[:PORT]]...
                   [--proxy PREFIX=UPSTREAM[,UPSTREAM...]]... [--realtime PATH] [--publish-key KEY] [--broker URL] [--admin HOST:PORT]
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
  --broker URL          share channels across nodes on Redis (redis://HOST:PORT/DB) config: realtime[].broker
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
  const rt = await Runtime.start(config, log);
  rt.handleSignals(() => configFromFlags(flags));
  for (const a of rt.http?.addresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    log.info({ address: `${host}:${a.port}` }, `serving http://${host}:${a.port}/`);
    process.stderr.write(`Ferry serving http://${host}:${a.port}/\n`);
  }
  for (const a of rt.http?.tlsAddresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    log.info({ address: `${host}:${a.port}` }, `serving https://${host}:${a.port}/`);
    process.stderr.write(`Ferry serving https://${host}:${a.port}/\n`);
  }
  for (const hub of rt.http?.realtime.all() ?? []) {
    const where = `${hub.site === "default" ? "" : `${hub.site} `}${hub.config.path}`;
    if (hub.keyGenerated) {
      log.info({ site: hub.site, path: hub.config.path }, "realtime publish key generated");
      process.stderr.write(`Ferry realtime on ${where}; publish key (generated): ${hub.key}\n`);
    } else {
      process.stderr.write(`Ferry realtime on ${where}\n`);
    }
  }
  for (const a of rt.admin?.addresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    log.info({ address: `${host}:${a.port}` }, `inspector on http://${host}:${a.port}/`);
    process.stderr.write(`Ferry inspector on http://${host}:${a.port}/ (metrics: /metrics)\n`);
  }
  for (const a of rt.dns?.addresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    process.stderr.write(`Ferry answering DNS on ${host}:${a.port} (udp, tcp)\n`);
  }
  for (const a of rt.dns?.tlsAddresses ?? []) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    process.stderr.write(`Ferry answering DNS over TLS on ${host}:${a.port}\n`);
  }
  if (!rt.http && !rt.dns) process.stderr.write("Ferry: the configuration starts no service\n");
}
