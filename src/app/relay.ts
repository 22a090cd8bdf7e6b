/**
 * The primary's side of realtime across workers (`workers` > 1, no Redis):
 * one `LocalBroker` per endpoint holds every channel's log; workers ask it
 * to publish and for positions over IPC (src/realtime/broker/cluster.ts),
 * and each message goes to the workers watching its channel, framed once.
 */
import type { Worker } from "node:cluster";
import type { Config } from "../core/config/types.js";
import type { Broker } from "../realtime/broker/broker.js";
import { endpointKey, type RelayRequest, toWire } from "../realtime/broker/cluster.js";
import { LocalBroker } from "../realtime/broker/local.js";
import { compileRules, ruleFor } from "../realtime/rules.js";

interface Endpoint {
  broker: Broker;
  /** Channel → the workers watching it. */
  watchers: Map<string, Set<Worker>>;
  /** Channel → subscribers per worker. */
  counts: Map<string, Map<Worker, number>>;
}

export class Relay {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly timer: NodeJS.Timeout;

  constructor(config: Config) {
    this.configure(config);
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const e of this.endpoints.values()) e.broker.sweep(now);
    }, 1000);
    this.timer.unref();
  }

  /** Endpoints of a (re)loaded config: new ones made, rules updated, removed ones dropped. */
  configure(config: Config): void {
    const wanted = new Set<string>();
    for (const site of config.http?.sites ?? [])
      for (const r of site.realtime) {
        if (r.broker !== null) continue; // shared through Redis instead
        const name = endpointKey(site.hosts[0] ?? "default", r.path);
        wanted.add(name);
        let e = this.endpoints.get(name);
        if (e === undefined) {
          e = { broker: new LocalBroker(), watchers: new Map(), counts: new Map() };
          const ep = e;
          e.broker.deliver = (channel, message) => {
            const wire = toWire(message);
            for (const w of ep.watchers.get(channel) ?? [])
              if (w.isConnected()) w.send({ t: "rt-msg", ep: name, channel, m: wire });
          };
          this.endpoints.set(name, e);
        }
        const rules = compileRules(r.channels);
        e.broker.configure((channel) => ruleFor(rules, channel), r.maxChannels);
      }
    // Endpoints are kept until a restart: the workers keep the broker they started with (a changed
    // `broker` takes effect at the next restart), and a removed endpoint's hubs close anyway.
  }

  /** A worker's request; answers it on the same channel. */
  handle(worker: Worker, msg: RelayRequest): void {
    const e = this.endpoints.get(msg.ep);
    if (msg.t === "rt-watch") {
      if (e === undefined) return;
      let set = e.watchers.get(msg.channel);
      if (msg.on) {
        if (set === undefined) {
          set = new Set();
          e.watchers.set(msg.channel, set);
          e.broker.watch(msg.channel);
        }
        set.add(worker);
      } else if (set?.delete(worker) && set.size === 0) {
        e.watchers.delete(msg.channel);
        e.broker.unwatch(msg.channel);
      }
      return;
    }
    if (msg.t === "rt-count") {
      if (e === undefined) return;
      let per = e.counts.get(msg.channel);
      if (per === undefined) {
        per = new Map();
        e.counts.set(msg.channel, per);
      }
      if (msg.n === 0) per.delete(worker);
      else per.set(worker, msg.n);
      if (per.size === 0) e.counts.delete(msg.channel);
      return;
    }
    const reply = (result: unknown) => {
      if (worker.isConnected()) worker.send({ t: "rt-reply", id: msg.id, result });
    };
    if (e === undefined) {
      reply("broker_unavailable");
      return;
    }
    const fail = () => reply("broker_unavailable");
    switch (msg.op) {
      case "publish":
        e.broker
          .publish(msg.channel, msg.data, msg.now)
          .then((m) => reply(typeof m === "string" ? m : toWire(m)), fail);
        return;
      case "position":
        e.broker
          .position(msg.channel, msg.since, msg.epoch, msg.now)
          .then(
            (p) =>
              reply(
                typeof p === "string" ? p : { ...p, replay: p.replay === null ? null : p.replay.map(toWire) },
              ),
            fail,
          );
        return;
      case "presence": {
        let n = 0;
        for (const c of e.counts.get(msg.channel)?.values() ?? []) n += c;
        reply(n);
        return;
      }
    }
  }

  /** A worker is gone: it watches nothing and counts no one any more. */
  forget(worker: Worker): void {
    for (const e of this.endpoints.values()) {
      for (const [channel, set] of e.watchers)
        if (set.delete(worker) && set.size === 0) {
          e.watchers.delete(channel);
          e.broker.unwatch(channel);
        }
      for (const [channel, per] of e.counts)
        if (per.delete(worker) && per.size === 0) e.counts.delete(channel);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
