/**
 * The admin listener: the inspector page, its JSON API, `/metrics`, and the
 * live feed over Ferry's own WebSocket (a hub and an engine made with `observed: false`, so the inspector never
 * watches itself). It runs on its own engine, never on the public sites.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AdminConfig, HttpLimits, ListenAddress, RealtimeConfig } from "../core/config/types.js";
import type { UpstreamState } from "../core/diagnostics.js";
import { createEngine, type HttpEngine } from "../http/engine/engine.js";
import type { FerryRequest, Reply } from "../http/types.js";
import { Hub } from "../realtime/hub.js";
import { hubHandshake } from "../realtime/mount.js";
import { checkAdmin, type GuardConfig, type Verdict } from "./admin-guard.js";
import { Collector } from "./collector.js";
import { type EndpointStats, withLabel } from "./metrics.js";
import { presentRow } from "./presenter.js";
import type { Row } from "./rows.js";

const LIMITS: HttpLimits = {
  maxRequestLine: 8192,
  maxHeaderSize: 16384,
  maxHeaderCount: 100,
  maxBodySize: 0,
  headerTimeout: 10_000,
  requestTimeout: 30_000,
  idleTimeout: 5000,
  sendTimeout: 30_000,
  maxConnections: 256,
};

const LIVE: RealtimeConfig = {
  path: "/live",
  publishKey: null,
  broker: null,
  origins: [],
  protocols: [],
  maxMessageSize: 4096,
  maxBackpressure: 8 * 1024 * 1024,
  maxSubscriptions: 8,
  maxChannels: 256,
  maxJsonDepth: 8,
  pingInterval: 25_000,
  idleTimeout: 60_000,
  deflate: { enabled: true, threshold: 1024 },
  channels: [{ match: "*", publish: false, historySize: 0, historyAge: 0, maxSubscribers: 64 }],
};

/** Live rows are sent in batches of at most this many, every FLUSH_MS. */
const BATCH = 300;
const FLUSH_MS = 250;

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const ui = new URL("./ui/", import.meta.url);
  const require = createRequire(import.meta.url);
  const uplot = (f: string) => require.resolve(`uplot/dist/${f}`);
  const files: [string, string | URL, string][] = [
    ["/", new URL("index.html", ui), "text/html; charset=utf-8"],
    ["/app.js", new URL("app.js", ui), "text/javascript; charset=utf-8"],
    ["/app.css", new URL("app.css", ui), "text/css; charset=utf-8"],
    ["/vendor/uPlot.iife.min.js", uplot("uPlot.iife.min.js"), "text/javascript; charset=utf-8"],
    ["/vendor/uPlot.min.css", uplot("uPlot.min.css"), "text/css; charset=utf-8"],
  ];
  return new Map(files.map(([p, f, type]) => [p, { type, body: readFileSync(f) }]));
}

function reply(
  status: number,
  type: string,
  body: Buffer,
  extra: string[] = [],
): Reply & { headers: string[] } {
  return {
    status,
    headers: [
      "Content-Type",
      type,
      "Content-Length",
      String(body.length),
      "Cache-Control",
      "no-store",
      ...extra,
    ],
    body,
    site: "admin",
    location: "",
  };
}

function json(value: unknown, status = 200): Reply {
  return reply(status, "application/json; charset=utf-8", Buffer.from(JSON.stringify(value)));
}

function refusal(v: Extract<Verdict, { ok: false }>): Reply {
  const r = json({ error: v.error, message: v.message }, v.status);
  if (v.status === 401) r.headers.push("WWW-Authenticate", 'Bearer realm="ferry-admin"');
  return r;
}

/** The live feed is best effort: a publish that fails only skips that batch. */
function ignore(): void {}

/** Where the realtime endpoints' counters come from. */
export type EndpointSource = () => EndpointStats[];

/** Where the proxy upstreams' states come from. */
export type UpstreamSource = () => UpstreamState[];

export class AdminService {
  readonly collector: Collector;
  readonly addresses: ListenAddress[] = [];
  private readonly engine: HttpEngine;
  private readonly hub = new Hub("admin", LIVE, false);
  private readonly assets = loadAssets();
  private pending: Row[] = [];
  private skipped = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly guard: GuardConfig;
  /** More series appended to /metrics (the primary of a cluster adds each worker's). */
  extraMetrics: (() => string) | null = null;
  /** Told when inspectors start or stop watching (a cluster's primary asks its workers for frames). */
  onWatch: ((on: boolean) => void) | null = null;
  private watchingNow = false;
  /** One worker's own collector (`?worker=N` on /metrics and /api/events), in a cluster's primary. */
  perWorker: ((id: number) => Collector | undefined) | null = null;

  private constructor(
    config: AdminConfig,
    endpoints: EndpointSource,
    upstreams: UpstreamSource,
    rss?: () => number,
  ) {
    this.guard = { token: config.token, allowRemote: config.allowRemote };
    this.collector = new Collector(
      { events: config.events, sessions: 200, frames: config.frames, channels: 1000 },
      endpoints,
      upstreams,
      { rss },
    );
    this.engine = createEngine({
      limits: LIMITS,
      handler: (req) => this.handle(req),
      upgrade: (req) => this.upgrade(req),
      observed: false,
    });
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Starts the admin listener. */
  static async start(
    config: AdminConfig,
    endpoints: EndpointSource,
    upstreams: UpstreamSource = () => [],
    rss?: () => number,
  ): Promise<AdminService> {
    const svc = new AdminService(config, endpoints, upstreams, rss);
    try {
      svc.addresses.push(await svc.engine.listen(config.listen));
    } catch (err) {
      await svc.close();
      throw err;
    }
    return svc;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.collector.close();
    this.hub.close();
    await this.engine.close(500);
  }

  /** Inspectors connected: collect frames and push rows; none: stop both. */
  private updateWatching(): void {
    const watching = this.hub.connections.size > 0;
    this.collector.watch(watching);
    if (watching !== this.watchingNow) {
      this.watchingNow = watching;
      this.onWatch?.(watching);
    }
    if (watching && this.collector.live === null) {
      this.collector.live = (m) => {
        if (m.type === "point") {
          this.hub.publish("series", JSON.stringify(m.point), "http").catch(ignore);
        } else if (this.pending.length < BATCH) this.pending.push(m.row);
        else this.skipped++;
      };
    } else if (!watching) {
      this.collector.live = null;
      this.pending = [];
    }
  }

  private flush(): void {
    this.updateWatching();
    if (this.pending.length > 0) {
      const rows = this.pending.map(presentRow);
      this.hub.publish("events", JSON.stringify({ rows, skipped: this.skipped }), "http").catch(ignore);
      this.pending = [];
      this.skipped = 0;
    }
    const frames = this.collector.drainLiveFrames();
    for (const [id, list] of frames) {
      const ch = this.hub.channels.get(`frames:${id}`);
      if (ch !== undefined && ch.subscribers.size > 0)
        this.hub.publish(`frames:${id}`, JSON.stringify(list), "http").catch(ignore);
    }
  }

  private upgrade(req: FerryRequest): Reply {
    const verdict = checkAdmin(req, this.guard);
    if (!verdict.ok) return refusal(verdict);
    if (req.rawPath !== "/live") return json({ error: "not_found" }, 404);
    return hubHandshake(req, this.hub, () => this.updateWatching());
  }

  private handle(req: FerryRequest): Reply {
    const verdict = checkAdmin(req, this.guard);
    if (!verdict.ok) return refusal(verdict);
    const reply = this.route(req);
    if (verdict.setCookie !== null) reply.headers.push("Set-Cookie", verdict.setCookie);
    return reply;
  }

  private route(req: FerryRequest): Reply {
    if (req.method !== "GET" && req.method !== "HEAD") return json({ error: "method_not_allowed" }, 405);
    const path = req.rawPath;
    const asset = this.assets.get(path === "/index.html" ? "/" : path);
    if (asset) return reply(200, asset.type, asset.body);
    const params = new URLSearchParams(req.query);
    const worker = params.get("worker");
    if (worker !== null && (path === "/metrics" || path === "/api/events")) {
      // One worker's own view (a cluster's primary keeps one per worker), its series labelled with it.
      const one = /^[1-9]\d{0,3}$/.test(worker) ? this.perWorker?.(Number(worker)) : undefined;
      if (one === undefined) return json({ error: "no_such_worker", worker }, 404);
      if (path === "/metrics")
        return reply(
          200,
          "text/plain; version=0.0.4; charset=utf-8",
          Buffer.from(withLabel(one.metrics.render(), "worker", worker)),
        );
      return this.events(one, params);
    }
    const c = this.collector;
    if (path === "/metrics")
      return reply(
        200,
        "text/plain; version=0.0.4; charset=utf-8",
        Buffer.from(c.metrics.render() + (this.extraMetrics?.() ?? "")),
      );
    if (path === "/api/events") return this.events(c, params);
    if (path === "/api/channels") return json(c.channelRows());
    if (path === "/api/upstreams") return json(c.upstreamRows());
    const m = /^\/api\/sessions\/(\d+)\/frames$/.exec(path);
    if (m) return json(c.sessionFrames(Number(m[1])));
    return json({ error: "not_found" }, 404);
  }

  private events(c: Collector, params: URLSearchParams): Reply {
    const limit = Math.min(5000, Number(params.get("limit") ?? 1000) || 1000);
    return json({
      rows: c.rows(limit).map(presentRow),
      series: c.series.all(),
      channels: c.channelRows(),
      watching: true,
    });
  }
}
