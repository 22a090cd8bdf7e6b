/**
 * The inspector's collector: subscribes to the protocol code's
 * diagnostics_channel events and keeps bounded ring buffers of recent DNS
 * queries, HTTP exchanges and WebSocket sessions, per-session frames (only
 * while an inspector is watching, frames being the costly events), channel
 * rates, per-second series and the metrics. Memory is fixed whatever the
 * traffic.
 */

import diagnostics from "node:diagnostics_channel";
import {
  type DnsQueryEvent,
  type DnsTcpDropEvent,
  dnsQueryChannel,
  dnsTcpDropChannel,
  type HttpClientErrorEvent,
  type HttpRequestEvent,
  httpClientErrorChannel,
  httpRequestChannel,
  type ProxyErrorEvent,
  type ProxyHealthEvent,
  proxyErrorChannel,
  proxyHealthChannel,
  type TlsHandshakeEvent,
  tlsHandshakeChannel,
  type UpstreamState,
  type WsFrameEvent,
  type WsPublishEvent,
  type WsSessionEvent,
  wsFrameChannel,
  wsPublishChannel,
  wsSessionChannel,
} from "../core/diagnostics.js";
import { type EndpointStats, type HistogramCell, Metrics } from "./metrics.js";
import { RCODES } from "./presenter.js";
import { Ring } from "./ring.js";
import type { ChannelRow, DnsRow, FrameRow, HttpRow, Row, WsRow } from "./rows.js";
import { type Point, Series } from "./series.js";

export interface CollectorLimits {
  /** Rows kept per protocol. */
  events: number;
  /** Sessions whose frames are kept, and frames per session. */
  sessions: number;
  frames: number;
  channels: number;
}

/** A row about to be stored: the fields that make it, sequence number to come. */
type Pending<T> = Omit<T, "seq">;

export class Collector {
  readonly dns: Ring<DnsRow | Pending<DnsRow>>;
  readonly http: Ring<HttpRow | Pending<HttpRow>>;
  readonly ws: Ring<WsRow | Pending<WsRow>>;
  readonly metrics: Metrics;
  readonly series = new Series(300);
  private readonly frames = new Map<number, Ring<FrameRow>>();
  private readonly channels = new Map<string, ChannelRow & { current: number }>();
  private readonly limits: CollectorLimits;
  private seq = 0;
  private liveFrames = new Map<number, FrameRow[]>();
  private watching = false;
  private timer: NodeJS.Timeout;
  /** Called with each new row and each closed second while an inspector is connected. */
  live: ((message: { type: "row"; row: Row } | { type: "point"; point: Point }) => void) | null = null;

  private readonly onHttp = (m: unknown) => this.http_(m as HttpRequestEvent);
  private readonly onRefused = (m: unknown) =>
    this.metrics.httpRefused.inc({ code: (m as HttpClientErrorEvent).code });
  private readonly onDns = (m: unknown) => this.dns_(m as DnsQueryEvent);
  private readonly onHandshake = (m: unknown) => {
    const e = m as TlsHandshakeEvent;
    if (e.ok) this.metrics.tlsHandshakes.inc({ result: e.resumed ? "resumed" : "full", reason: "" });
    else this.metrics.tlsHandshakes.inc({ result: "failed", reason: e.reason.slice(0, 80) });
  };
  private readonly onProxyError = (m: unknown) =>
    this.metrics.proxyErrors.inc({ code: (m as ProxyErrorEvent).code });
  private readonly onProxyHealth = (m: unknown) => {
    const e = m as ProxyHealthEvent;
    this.metrics.proxyHealth.inc({ upstream: e.upstream, state: e.healthy ? "up" : "down" });
    const key = `${e.site} ${e.location} ${e.upstream}`;
    this.healthChanges.delete(key);
    this.healthChanges.set(key, e);
    if (this.healthChanges.size > 1000) this.healthChanges.delete(this.healthChanges.keys().next().value!);
  };
  private readonly upstreams: () => UpstreamState[];
  /** The last health change of each upstream (by site, location and address). */
  private readonly healthChanges = new Map<string, ProxyHealthEvent>();

  /** Each proxy upstream now, with its last health change. */
  upstreamRows(): (UpstreamState & { changed: number; reason: string })[] {
    return this.upstreams().map((u) => {
      const last = this.healthChanges.get(`${u.site} ${u.location} ${u.upstream}`);
      return { ...u, changed: last?.time ?? 0, reason: last?.reason ?? "" };
    });
  }
  private readonly onDnsTcpDrop = (m: unknown) =>
    this.metrics.dnsTcpDropped.inc({ reason: (m as DnsTcpDropEvent).reason });
  private readonly onSession = (m: unknown) => this.session(m as WsSessionEvent);
  private readonly onPublish = (m: unknown) => this.publish(m as WsPublishEvent);
  private readonly onFrame = (m: unknown) => this.frame(m as WsFrameEvent);

  /** The handler of each channel this collector reads (frames only while watching). */
  private readonly handlers: [name: string, on: (m: unknown) => void][];
  /** False: fed by `feed` (one worker's events, in a cluster's primary) instead of the channels. */
  private readonly subscribed: boolean;

  constructor(
    limits: CollectorLimits,
    endpoints: () => EndpointStats[],
    upstreams: () => UpstreamState[] = () => [],
    options: { subscribe?: boolean; rss?: () => number } = {},
  ) {
    this.limits = limits;
    this.dns = new Ring(limits.events);
    this.http = new Ring(limits.events);
    this.ws = new Ring(limits.events);
    this.metrics = new Metrics(endpoints, upstreams, options.rss);
    this.upstreams = upstreams;
    this.forwardHits = this.metrics.dnsForwarded.cell({ result: "hit" });
    this.forwardMisses = this.metrics.dnsForwarded.cell({ result: "miss" });
    this.handlers = [
      [httpRequestChannel.name as string, this.onHttp],
      [httpClientErrorChannel.name as string, this.onRefused],
      [proxyErrorChannel.name as string, this.onProxyError],
      [tlsHandshakeChannel.name as string, this.onHandshake],
      [proxyHealthChannel.name as string, this.onProxyHealth],
      [dnsQueryChannel.name as string, this.onDns],
      [dnsTcpDropChannel.name as string, this.onDnsTcpDrop],
      [wsSessionChannel.name as string, this.onSession],
      [wsPublishChannel.name as string, this.onPublish],
    ];
    this.subscribed = options.subscribe ?? true;
    if (this.subscribed) for (const [name, on] of this.handlers) diagnostics.subscribe(name, on);
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Frames are collected only while someone watches (they are the costly events). */
  watch(on: boolean): void {
    if (on === this.watching) return;
    this.watching = on;
    if (on) diagnostics.subscribe(wsFrameChannel.name, this.onFrame);
    else {
      diagnostics.unsubscribe(wsFrameChannel.name, this.onFrame);
      this.frames.clear();
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.watch(false);
    if (this.subscribed) for (const [name, on] of this.handlers) diagnostics.unsubscribe(name, on);
  }

  /** An event of channel `name`, as the channel would have delivered it (a collector that does not subscribe). */
  feed(name: string, event: unknown): void {
    for (const [n, on] of this.handlers)
      if (n === name) {
        on(event);
        return;
      }
  }

  private store<T extends Row>(ring: Ring<T | Pending<T>>, row: Pending<T>): void {
    (row as T).seq = this.seq++;
    ring.push(row);
    this.live?.({ type: "row", row: row as T });
  }

  /** Per site and status class: the metric cells, found once (no label serialising per request). */
  private readonly httpCells = new Map<
    string,
    { requests: { value: number }[]; bytes: { value: number }; duration: HistogramCell }
  >();

  private http_(e: HttpRequestEvent): void {
    const status = e.status;
    let cells = this.httpCells.get(e.site);
    if (cells === undefined) {
      const m = this.metrics;
      const site = e.site;
      cells = {
        requests: ["1xx", "2xx", "3xx", "4xx", "5xx"].map((c) => m.httpRequests.cell({ site, status: c })),
        bytes: m.httpBytes.cell({ site }),
        duration: m.httpDuration.cell({ site }),
      };
      if (this.httpCells.size < 1000) this.httpCells.set(site, cells);
    }
    const cls = Math.min(5, Math.max(1, Math.floor(status / 100))) - 1;
    cells.requests[cls]!.value++;
    cells.bytes.value += e.bytes;
    this.metrics.httpDuration.observeCell(cells.duration, e.durationMs / 1000);
    this.series.httpRequest(e.durationMs);
    const u = e.upstream;
    if (u !== null) {
      const status = u.status === 0 ? "error" : `${Math.floor(u.status / 100)}xx`;
      this.metrics.proxyRequests.inc({ site: e.site, location: e.location, upstream: u.address, status });
      if (u.status !== 0) this.metrics.proxyDuration.observe(u.firstByteMs / 1000, { upstream: u.address });
    }
    const { remoteAddress, referer: _referer, userAgent: _agent, ...rest } = e;
    this.store<HttpRow>(this.http, { kind: "http", client: remoteAddress, ...rest });
  }

  private readonly forwardHits: { value: number };
  private readonly forwardMisses: { value: number };

  /** Per rcode and transport: the metric cells, found once. */
  private readonly dnsCells = new Map<string, { queries: { value: number }; duration: HistogramCell }>();

  private dns_(e: DnsQueryEvent): void {
    const key = `${e.rcode}/${e.transport}`;
    let cells = this.dnsCells.get(key);
    if (cells === undefined) {
      const rcode = RCODES.get(e.rcode) ?? String(e.rcode);
      cells = {
        queries: this.metrics.dnsQueries.cell({ rcode, transport: e.transport }),
        duration: this.metrics.dnsDuration.cell({ transport: e.transport }),
      };
      this.dnsCells.set(key, cells);
    }
    cells.queries.value++;
    this.metrics.dnsDuration.observeCell(cells.duration, e.durationMs / 1000);
    const cache = e.source === "cache" ? "hit" : e.source === "upstream" ? "miss" : null;
    if (cache === "hit") this.forwardHits.value++;
    else if (cache === "miss") this.forwardMisses.value++;
    this.series.dnsQuery(e.durationMs);
    const { source: _source, answers: _answers, truncated: _truncated, ...rest } = e;
    this.store<DnsRow>(this.dns, { kind: "dns", ...rest, cache });
  }

  private session(e: WsSessionEvent): void {
    if (e.kind === "close") this.metrics.wsClosed.inc({ code: String(e.code) });
    const { kind, id, remoteAddress, ...rest } = e;
    this.store<WsRow>(this.ws, { kind: "ws", event: kind, session: id, client: remoteAddress, ...rest });
  }

  private publish(e: WsPublishEvent): void {
    this.series.wsMessages(e.subscribers);
    const key = `${e.site} ${e.path} ${e.channel}`;
    let c = this.channels.get(key);
    if (c === undefined) {
      if (this.channels.size >= this.limits.channels) {
        const oldest = this.channels.keys().next().value;
        if (oldest !== undefined) this.channels.delete(oldest);
      }
      c = {
        site: e.site,
        path: e.path,
        channel: e.channel,
        total: 0,
        rate: 0,
        current: 0,
        subscribers: 0,
        offset: 0,
      };
      this.channels.set(key, c);
    }
    c.total++;
    c.current++;
    c.subscribers = e.subscribers;
    c.offset = e.offset;
  }

  /** Frames recorded since the last call, by session (for the live view of a selected session). */
  drainLiveFrames(): Map<number, FrameRow[]> {
    const out = this.liveFrames;
    this.liveFrames = new Map();
    return out;
  }

  private frame(e: WsFrameEvent): void {
    let ring = this.frames.get(e.id);
    if (ring === undefined) {
      if (this.frames.size >= this.limits.sessions) {
        const oldest = this.frames.keys().next().value;
        if (oldest !== undefined) this.frames.delete(oldest);
      }
      ring = new Ring<FrameRow>(this.limits.frames);
      this.frames.set(e.id, ring);
    }
    const row: FrameRow = {
      time: e.time,
      direction: e.direction,
      opcode: e.opcode,
      length: e.length,
      text: e.text,
    };
    ring.push(row);
    let live = this.liveFrames.get(e.id);
    if (live === undefined) {
      live = [];
      this.liveFrames.set(e.id, live);
    }
    if (live.length < 100) live.push(row);
  }

  private tick(): void {
    for (const c of this.channels.values()) {
      c.rate = c.current;
      c.current = 0;
    }
    const closed = this.series.tick();
    if (this.live) for (const point of closed) this.live({ type: "point", point });
  }

  /** Rows of every protocol, newest first. */
  rows(limit: number): Row[] {
    const all = [...this.dns.newest(limit), ...this.http.newest(limit), ...this.ws.newest(limit)] as Row[];
    return all.sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  /** A session's frames, oldest first (empty unless frames were being watched). */
  sessionFrames(id: number): FrameRow[] {
    return this.frames.get(id)?.after(-1) ?? [];
  }

  channelRows(): ChannelRow[] {
    return [...this.channels.values()]
      .map(({ current: _, ...row }) => row)
      .sort((a, b) => b.rate - a.rate || b.total - a.total);
  }
}
