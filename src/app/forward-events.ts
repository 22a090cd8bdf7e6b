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
  wsPublishChannel,
  wsSessionChannel,
} from "../core/diagnostics.js";

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
].map((c) => c.name as string);

const SESSION = FORWARDED.indexOf(wsSessionChannel.name as string);
const BATCH = 512;
/** Batches sent and not yet taken by the primary, at most. */
const MAX_IN_FLIGHT = 32;
const EVERY_MS = 100;

export interface EventBatch {
  t: "events";
  batch: [channel: number, event: unknown][];
}

/** In a worker: starts sending events to the primary; returns the stop function. */
export function forwardEvents(worker: number): () => void {
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
  const subs = FORWARDED.map((name, i) => {
    const on = (event: unknown) => {
      // Session ids are per process: made unique across workers.
      if (i === SESSION) {
        const e = event as { id: number };
        event = { ...e, id: worker * 1_000_000_000 + e.id };
      }
      batch.push([i, event]);
      if (batch.length >= BATCH) flush();
    };
    diagnostics.subscribe(name, on);
    return () => diagnostics.unsubscribe(name, on);
  });
  const timer = setInterval(flush, EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    flush();
    for (const stop of subs) stop();
  };
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
