/**
 * Counters and histograms for `/metrics`, rendered in the Prometheus text
 * exposition format (version 0.0.4). Fed by the collector from the
 * diagnostics events; each update is a few array writes.
 */
import type { UpstreamState } from "../core/diagnostics.js";
import type { HubStats } from "../realtime/hub.js";

/** One realtime endpoint's counters, as its hub keeps them. */
export type EndpointStats = HubStats & { site: string; path: string };

/** Label values in a fixed order per metric. */
type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  return Number.isInteger(v) ? String(v) : v.toPrecision(10).replace(/\.?0+$/, "");
}

/** A counter family with labels. */
export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    this.cell(labels).value += by;
  }

  /** The cell of one label set, to be kept by a caller on a hot path (then `cell.value += n`). */
  cell(labels: Labels): { labels: Labels; value: number } {
    const key = JSON.stringify(labels);
    let v = this.values.get(key);
    if (v === undefined) {
      v = { labels, value: 0 };
      this.values.set(key, v);
    }
    return v;
  }

  get(labels: Labels = {}): number {
    return this.values.get(JSON.stringify(labels))?.value ?? 0;
  }

  render(type = "counter"): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${type}\n`;
    for (const { labels, value } of this.values.values())
      out += `${this.name}${labelText(labels)} ${num(value)}\n`;
    return out;
  }
}

/** A gauge (or a counter kept elsewhere), read when rendered. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => { labels: Labels; value: number }[],
    private readonly type: "gauge" | "counter" = "gauge",
  ) {}

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { labels, value } of this.read()) out += `${this.name}${labelText(labels)} ${num(value)}\n`;
    return out;
  }
}

/** One label set of a histogram. */
export interface HistogramCell {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram family (cumulative buckets, sum and count) with labels. */
export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    this.observeCell(this.cell(labels), value);
  }

  /** The cell of one label set, to be kept by a caller on a hot path. */
  cell(labels: Labels): HistogramCell {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  observeCell(s: HistogramCell, value: number): void {
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i]!;
        out += `${this.name}_bucket${labelText(labels, ["le", num(le)])} ${cumulative}\n`;
      });
      out += `${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${num(sum)}\n`;
      out += `${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return out;
  }
}

const LATENCY = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Every metric Ferry exposes. */
export class Metrics {
  readonly httpRequests = new Counter(
    "ferry_http_requests_total",
    "HTTP requests answered, by site and status class.",
  );
  readonly httpBytes = new Counter("ferry_http_response_bytes_total", "Response body bytes sent.");
  readonly httpDuration = new Histogram(
    "ferry_http_request_duration_seconds",
    "Time from request to the end of the response.",
    LATENCY,
  );
  readonly httpRefused = new Counter(
    "ferry_http_refused_total",
    "Malformed or over-limit requests refused before any handler, by code.",
  );
  readonly dnsQueries = new Counter(
    "ferry_dns_queries_total",
    "DNS queries answered, by rcode and transport.",
  );
  readonly dnsDuration = new Histogram(
    "ferry_dns_query_duration_seconds",
    "Time to answer a DNS query.",
    LATENCY,
  );
  readonly dnsForwarded = new Counter(
    "ferry_dns_forward_cache_total",
    "Queries for names outside the zones, by forwarder cache result (hit or miss).",
  );
  readonly dnsTcpDropped = new Counter(
    "ferry_dns_tcp_dropped_total",
    "DNS-over-TCP connections Ferry closed on a limit, by reason (message-timeout, evicted, refused, internal).",
  );
  readonly proxyRequests = new Counter(
    "ferry_proxy_requests_total",
    "Proxied requests, by site, location, upstream and the upstream's status class (`error` when it sent none).",
  );
  readonly proxyDuration = new Histogram(
    "ferry_proxy_upstream_response_seconds",
    "Time from sending a request upstream to its response headers, by upstream.",
    LATENCY,
  );
  readonly proxyErrors = new Counter(
    "ferry_proxy_errors_total",
    "Proxied requests that failed on the upstream side, by stable code (ERR_PROXY_*).",
  );
  readonly proxyHealth = new Counter(
    "ferry_proxy_health_changes_total",
    "Upstreams going down or coming back, by upstream and state (up or down).",
  );
  readonly tlsHandshakes = new Counter(
    "ferry_tls_handshakes_total",
    "TLS handshakes on the HTTP listeners, by result (full, resumed, failed) and, for failures, reason.",
  );
  readonly wsClosed = new Counter(
    "ferry_ws_connections_closed_total",
    "WebSocket connections closed, by close code.",
  );
  private readonly gauges: Gauge[];
  private readonly started = Date.now();

  /**
   * `endpoints` reads each realtime endpoint's own counters, `upstreams` each
   * proxy upstream's state, when the metrics are rendered.
   */
  /** `rss`: the resident memory to report (default: this process's; a cluster's primary adds its workers'). */
  constructor(
    endpoints: () => EndpointStats[],
    upstreams: () => UpstreamState[] = () => [],
    rss: () => number = () => process.memoryUsage.rss(),
  ) {
    const eachUpstream = (pick: (u: UpstreamState) => number) => () =>
      upstreams().map((u) => ({
        labels: { site: u.site, location: u.location, upstream: u.upstream },
        value: pick(u),
      }));
    const each = (pick: (s: EndpointStats) => number) => () =>
      endpoints().map((s) => ({ labels: { site: s.site, path: s.path }, value: pick(s) }));
    this.gauges = [
      new Gauge(
        "ferry_ws_connections",
        "Open WebSocket connections.",
        each((s) => s.connections),
      ),
      new Gauge(
        "ferry_ws_channels",
        "Channels kept (with subscribers or history).",
        each((s) => s.channels),
      ),
      new Gauge(
        "ferry_ws_messages_in_total",
        "Messages received from WebSocket clients.",
        each((s) => s.messagesIn),
        "counter",
      ),
      new Gauge(
        "ferry_ws_messages_out_total",
        "Channel messages delivered to WebSocket clients (each delivery counts).",
        each((s) => s.messagesOut),
        "counter",
      ),
      new Gauge(
        "ferry_ws_published_total",
        "Messages published (HTTP API and clients).",
        each((s) => s.published),
        "counter",
      ),
      new Gauge(
        "ferry_ws_slow_consumers_total",
        "Connections dropped because their send queue passed maxBackpressure.",
        each((s) => s.slowConsumers),
        "counter",
      ),
      new Gauge(
        "ferry_ws_idle_closed_total",
        "Connections closed by the idle timeout.",
        each((s) => s.idleClosed),
        "counter",
      ),
      new Gauge(
        "ferry_proxy_upstream_healthy",
        "1 while an upstream is in rotation, 0 while health checks or passive ejection keep it out.",
        eachUpstream((u) => (u.healthy ? 1 : 0)),
      ),
      new Gauge(
        "ferry_proxy_upstream_in_flight",
        "Requests and WebSocket sessions in flight to an upstream.",
        eachUpstream((u) => u.inflight),
      ),
      new Gauge(
        "ferry_proxy_upstream_connections_opened_total",
        "Connections opened to an upstream (the keep-alive pool reuses them).",
        eachUpstream((u) => u.connections),
        "counter",
      ),
      new Gauge("ferry_dns_forward_cache_hit_ratio", "Share of forwarded queries the cache answered.", () => {
        const hit = this.dnsForwarded.get({ result: "hit" });
        const total = hit + this.dnsForwarded.get({ result: "miss" });
        return [{ labels: {}, value: total === 0 ? 0 : hit / total }];
      }),
      new Gauge("ferry_process_resident_memory_bytes", "Resident memory of the process.", () => [
        { labels: {}, value: rss() },
      ]),
      new Gauge("ferry_uptime_seconds", "Seconds since the inspector started.", () => [
        { labels: {}, value: (Date.now() - this.started) / 1000 },
      ]),
    ];
  }

  /** The whole exposition text. */
  render(): string {
    return [
      this.httpRequests.render(),
      this.httpBytes.render(),
      this.httpDuration.render(),
      this.httpRefused.render(),
      this.dnsQueries.render(),
      this.dnsDuration.render(),
      this.dnsForwarded.render(),
      this.dnsTcpDropped.render(),
      this.proxyRequests.render(),
      this.proxyDuration.render(),
      this.proxyErrors.render(),
      this.proxyHealth.render(),
      this.tlsHandshakes.render(),
      this.wsClosed.render(),
      ...this.gauges.map((g) => g.render()),
    ].join("");
  }
}

/**
 * Adds `name="value"` to every sample of an exposition text (one worker's
 * series, told apart from the others' by it).
 */
export function withLabel(exposition: string, name: string, value: string): string {
  const label = `${name}="${escapeLabel(value)}"`;
  return exposition
    .split("\n")
    .map((line) => {
      if (line === "" || line.startsWith("#")) return line;
      const brace = line.indexOf("{");
      const space = line.indexOf(" ");
      if (brace >= 0 && brace < space) return `${line.slice(0, brace + 1)}${label},${line.slice(brace + 1)}`;
      return `${line.slice(0, space)}{${label}}${line.slice(space)}`;
    })
    .join("\n");
}
