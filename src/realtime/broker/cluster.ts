/**
 * The broker of a worker process (`workers` > 1, no Redis): every channel's
 * log lives in the primary (one `LocalBroker` per endpoint, src/app/relay.ts),
 * so offsets, epochs and history are one per channel whatever worker a
 * client is on. This side forwards calls over the cluster IPC channel and
 * receives the messages of the channels it watches, already framed once by
 * the primary; fan-out to its own subscribers stays here.
 */
import type { ChannelRule } from "../../core/config/types.js";
import { Message } from "../channel.js";
import type { Broker, BrokerRefusal, ChannelPosition } from "./broker.js";

/** A message as it crosses the IPC channel: offset, time, the JSON payload of its frame. */
export type WireMessage = [offset: number, time: number, payload: Uint8Array];

export type RelayRequest =
  | { t: "rt"; id: number; ep: string; op: "publish"; channel: string; data: string; now: number }
  | {
      t: "rt";
      id: number;
      ep: string;
      op: "position";
      channel: string;
      since?: number;
      epoch?: string;
      now: number;
    }
  | { t: "rt"; id: number; ep: string; op: "presence"; channel: string }
  | { t: "rt-watch"; ep: string; channel: string; on: boolean }
  | { t: "rt-count"; ep: string; channel: string; n: number };

export type RelayReply =
  | { t: "rt-reply"; id: number; result: unknown }
  | { t: "rt-msg"; ep: string; channel: string; m: WireMessage };

/** How both sides name an endpoint: its site's name and its path. */
export function endpointKey(site: string, path: string): string {
  return `${site} ${path}`;
}

/** True in a worker of a cluster (`workers` > 1): realtime goes through the primary. */
export function inCluster(): boolean {
  return process.env.FERRY_WORKER !== undefined && typeof process.send === "function";
}

/** A request's body, without what `ask` adds. */
type AskBody =
  | { op: "publish"; channel: string; data: string; now: number }
  | { op: "position"; channel: string; since?: number; epoch?: string; now: number }
  | { op: "presence"; channel: string };

export function toMessage(w: WireMessage): Message {
  return new Message(w[0], w[1], Buffer.from(w[2].buffer, w[2].byteOffset, w[2].byteLength));
}

/** The payload of a message's frame (what `toMessage` frames again). */
export function toWire(m: Message): WireMessage {
  return [m.offset, m.time, m.frame.subarray(m.frame.length - m.payloadLength)];
}

const pending = new Map<number, (result: unknown) => void>();
const brokers = new Map<string, ClusterBroker>();
let nextId = 1;
let listening = false;

function onPrimaryMessage(msg: RelayReply): void {
  if (msg === null || typeof msg !== "object") return;
  if (msg.t === "rt-reply") {
    const done = pending.get(msg.id);
    pending.delete(msg.id);
    done?.(msg.result);
  } else if (msg.t === "rt-msg") {
    const b = brokers.get(msg.ep);
    if (b?.watching(msg.channel)) b.deliver(msg.channel, toMessage(msg.m));
  }
}

export class ClusterBroker implements Broker {
  private readonly ep: string;
  private readonly watched = new Set<string>();
  deliver: (channel: string, message: Message) => void = () => {};
  resync: (channel: string, offset: number, epoch: string) => void = () => {};

  /** `ep` names the endpoint on both sides (site and path). */
  constructor(ep: string) {
    this.ep = ep;
    brokers.set(ep, this);
    if (!listening) {
      listening = true;
      process.on("message", onPrimaryMessage);
    }
  }

  private ask(req: AskBody): Promise<unknown> {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      // A false return only means the channel is backed up (it is still sent); a failure comes to the callback.
      const fail = (err: Error | null) => {
        if (err === null || !pending.has(id)) return;
        pending.delete(id);
        resolve("broker_unavailable");
      };
      if (process.send === undefined) fail(new Error("not a worker"));
      else process.send({ t: "rt", id, ep: this.ep, ...req }, undefined, {}, fail);
    });
  }

  watching(channel: string): boolean {
    return this.watched.has(channel);
  }

  async publish(channel: string, data: string, now: number): Promise<Message | BrokerRefusal> {
    const r = (await this.ask({ op: "publish", channel, data, now })) as WireMessage | BrokerRefusal;
    return typeof r === "string" ? r : toMessage(r);
  }

  async position(
    channel: string,
    since: number | undefined,
    epoch: string | undefined,
    now: number,
  ): Promise<ChannelPosition | BrokerRefusal> {
    const r = (await this.ask({ op: "position", channel, since, epoch, now })) as
      | (Omit<ChannelPosition, "replay"> & { replay: WireMessage[] | null })
      | BrokerRefusal;
    if (typeof r === "string") return r;
    return { ...r, replay: r.replay === null ? null : r.replay.map(toMessage) };
  }

  watch(channel: string): void {
    if (this.watched.has(channel)) return;
    this.watched.add(channel);
    process.send?.({ t: "rt-watch", ep: this.ep, channel, on: true });
  }

  unwatch(channel: string): void {
    if (!this.watched.delete(channel)) return;
    process.send?.({ t: "rt-watch", ep: this.ep, channel, on: false });
  }

  count(channel: string, subscribers: number): void {
    process.send?.({ t: "rt-count", ep: this.ep, channel, n: subscribers });
  }

  async presence(channel: string): Promise<number | BrokerRefusal> {
    return (await this.ask({ op: "presence", channel })) as number | BrokerRefusal;
  }

  configure(_ruleFor: (channel: string) => ChannelRule | null, _maxChannels: number): void {
    // The primary holds the rules (it loads the same config).
  }

  sweep(_now: number): void {}

  get size(): number {
    return this.watched.size;
  }

  close(): Promise<void> {
    brokers.delete(this.ep);
    return Promise.resolve();
  }
}
