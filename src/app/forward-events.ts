/**
 * Workers feed the primary's inspector and `/metrics`: the diagnostics
 * events the collector reads are sent to the primary in batches (every
 * 100 ms, or 512 events), and the primary publishes them again on the same
 * channels, so its collector counts every worker as if they were one
 * process. Only while the config has an admin listener (otherwise nothing
 * subscribes and nothing is sent).
 */
import diagnostics from "node:diagnostics_channel";
import {
  dnsQueryChannel,
  dnsTcpDropChannel,
  httpClientErrorChannel,
  httpRequestChannel,
  proxyErrorChannel,
  proxyHealthChannel,
  tlsHandshakeChannel,
  type UpstreamState,
  wsFrameChannel,
  wsPublishChannel,
  wsSessionChannel,
} from "../core/diagnostics.js";
import type { EndpointStats } from "../inspect/metrics.js";

/** The channels the collector reads (frames of watched sessions stay per worker). */
export const FORWARDED = [
  httpRequestChannel,
  httpClientErrorChannel,
  proxyErrorChannel,
  proxyHealthChannel,
  tlsHandshakeChannel,
  dnsQueryChannel,
  dnsTcpDropChannel,
  wsSessionChannel,
  wsPublishChannel,
  // Last, and only while an inspector watches (the primary says so): frames are the costly events.
  wsFrameChannel,
].map((c) => c.name as string);

const SESSION = FORWARDED.indexOf(wsSessionChannel.name as string);
const FRAME = FORWARDED.indexOf(wsFrameChannel.name as string);

/** The primary tells a worker whether an inspector watches (then its frames are forwarded too). */
export interface WatchFrames {
  t: "watch";
  on: boolean;
}
const BATCH = 512;
/** Batches sent and not yet taken by the primary, at most. */
const MAX_IN_FLIGHT = 32;
const EVERY_MS = 100;

export interface EventBatch {
  t: "events";
  batch: [channel: number, event: unknown][];
}

/** The channel index of HTTP requests and DNS queries in a batch (the primary counts them per worker). */
export const HTTP_REQUEST = FORWARDED.indexOf(httpRequestChannel.name as string);
export const DNS_QUERY = FORWARDED.indexOf(dnsQueryChannel.name as string);

/**
 * In a worker: starts sending events to the primary (frames only while
 * `watch(true)`); returns `stop` and `watch`.
 */
export function forwardEvents(worker: number): { stop: () => void; watch: (on: boolean) => void } {
  const sessionBase = Number(process.env.FERRY_SESSION_BASE ?? worker * 1e12);
  let batch: EventBatch["batch"] = [];
  let inFlight = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    // A primary that cannot keep up loses batches (the inspector is best effort), never this worker's memory.
    if (inFlight >= MAX_IN_FLIGHT) return;
    inFlight++;
    // A primary that is gone: the callback takes the error (the worker is ending anyway).
    process.send?.({ t: "events", batch: b } satisfies EventBatch, undefined, {}, () => {
      inFlight--;
    });
  };
  const handlers = FORWARDED.map((_name, i) => (event: unknown) => {
    // Session ids are per process: made unique across workers (a frame names its session's).
    if (i === SESSION || i === FRAME) {
      const e = event as { id: number };
      event = { ...e, id: sessionBase + e.id };
    }
    batch.push([i, event]);
    if (batch.length >= BATCH) flush();
  });
  FORWARDED.forEach((name, i) => {
    if (i !== FRAME) diagnostics.subscribe(name, handlers[i]!);
  });
  let watching = false;
  const watch = (on: boolean) => {
    if (on === watching) return;
    watching = on;
    if (on) diagnostics.subscribe(FORWARDED[FRAME]!, handlers[FRAME]!);
    else diagnostics.unsubscribe(FORWARDED[FRAME]!, handlers[FRAME]!);
  };
  const timer = setInterval(flush, EVERY_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      flush();
      watch(false);
      FORWARDED.forEach((name, i) => {
        if (i !== FRAME) diagnostics.unsubscribe(name, handlers[i]!);
      });
    },
    watch,
  };
}

/** A worker's gauges, sent every second: its realtime endpoints' counters and its upstreams' states. */
export interface StatsReport {
  t: "stats";
  endpoints: EndpointStats[];
  upstreams: UpstreamState[];
  /** The worker's resident memory, bytes. */
  rss: number;
}

/** In a worker: sends its gauges to the primary every second; returns the stop function. */
export function forwardStats(endpoints: () => EndpointStats[], upstreams: () => UpstreamState[]): () => void {
  const timer = setInterval(() => {
    process.send?.(
      {
        t: "stats",
        endpoints: endpoints(),
        upstreams: upstreams(),
        rss: process.memoryUsage.rss(),
      } satisfies StatsReport,
      undefined,
      {},
      () => {},
    );
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** In the primary: every worker's last gauges as one process's (counters summed; a channel count is the largest). */
export function mergeStats(reports: Iterable<StatsReport>): {
  endpoints: EndpointStats[];
  upstreams: UpstreamState[];
} {
  const endpoints = new Map<string, EndpointStats>();
  const upstreams = new Map<string, UpstreamState>();
  for (const r of reports) {
    for (const e of r.endpoints) {
      const key = `${e.site} ${e.path}`;
      const have = endpoints.get(key);
      if (have === undefined) endpoints.set(key, { ...e });
      else {
        have.connections += e.connections;
        have.channels = Math.max(have.channels, e.channels);
        have.messagesIn += e.messagesIn;
        have.messagesOut += e.messagesOut;
        have.published += e.published;
        have.slowConsumers += e.slowConsumers;
        have.idleClosed += e.idleClosed;
      }
    }
    for (const u of r.upstreams) {
      const key = `${u.site} ${u.location} ${u.upstream}`;
      const have = upstreams.get(key);
      if (have === undefined) upstreams.set(key, { ...u });
      else {
        // Each worker checks the upstream itself: healthy when every worker finds it so.
        have.healthy &&= u.healthy;
        have.inflight += u.inflight;
        have.connections += u.connections;
      }
    }
  }
  return { endpoints: [...endpoints.values()], upstreams: [...upstreams.values()] };
}

/** In the primary: publishes a worker's batch on the same channels. */
export function republish(msg: EventBatch): void {
  for (const [i, event] of msg.batch) {
    const name = FORWARDED[i];
    if (name === undefined) continue;
    const channel = diagnostics.channel(name);
    if (channel.hasSubscribers) channel.publish(event);
  }
}
