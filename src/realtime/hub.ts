/**
 * A realtime endpoint's hub: its connections, its channels, the JSON
 * protocol of docs/protocol.md, and fan-out. A published message is framed
 * once and the same bytes are written to every subscriber, with each socket
 * corked until the end of the event-loop turn so that bursts go out in one
 * write. One timer per hub pings silent connections, ends dead ones and
 * forgets idle channels.
 */
import { randomBytes } from "node:crypto";
import type net from "node:net";
import type { RealtimeConfig } from "../core/config/types.js";
import {
  type WsDropEvent,
  type WsPublishEvent,
  type WsSessionEvent,
  wsDropChannel,
  wsPublishChannel,
  wsSessionChannel,
} from "../core/diagnostics.js";
import type { Broker, BrokerRefusal, ChannelPosition } from "./broker/broker.js";
import { LocalBroker } from "./broker/local.js";
import { ChannelGroup, type Message } from "./channel.js";
import { CLOSING, Connection, type ConnectionOwner, clock, OPEN } from "./connection.js";
import { CloseCode } from "./constants.js";
import type { Handshake } from "./handshake.js";
import { parseCommand } from "./protocol.js";
import { type CompiledRule, compileRules, isChannelName, ruleFor } from "./rules.js";

/** Why a publish was refused (the HTTP API maps these to statuses). */
export type PublishRefusal = "bad_channel" | "forbidden" | "too_many_channels" | "broker_unavailable";

/** A subscribe to `g` was answered (its set goes when empty: idle connections stay small). */
function answered(conn: Connection, g: ChannelGroup<Connection>): void {
  const set = conn.answering;
  if (set === null) return;
  set.delete(g);
  if (set.size === 0) conn.answering = null;
}

const REFUSAL_WORDS: Record<BrokerRefusal, string> = {
  too_many_channels: "too many channels",
  broker_unavailable: "the broker is unreachable; try again",
};

/** Counters for `/metrics` and the inspector. */
export interface HubStats {
  connections: number;
  channels: number;
  messagesIn: number;
  messagesOut: number;
  published: number;
  slowConsumers: number;
  idleClosed: number;
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

function uncorkAll(hub: Hub): void {
  hub.flush();
}

function sweep(hub: Hub): void {
  hub.sweep(clock(), Date.now());
}

export class Hub implements ConnectionOwner {
  readonly site: string;
  config: RealtimeConfig;
  /** The publish API key in force (configured or generated). */
  key: string;
  /** True when the key was generated because the config named none. */
  keyGenerated: boolean;
  readonly limits = { maxBackpressure: 0, deflateThreshold: 0 };
  readonly connections = new Set<Connection>();
  /** Channels with local members, by name (logs live in the broker). */
  readonly channels = new Map<string, ChannelGroup<Connection>>();
  readonly broker: Broker;
  private rules: CompiledRule[] = [];
  private corked: Connection[] = [];
  private flushScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  readonly stats: HubStats = {
    connections: 0,
    channels: 0,
    messagesIn: 0,
    messagesOut: 0,
    published: 0,
    slowConsumers: 0,
    idleClosed: 0,
  };

  /** True for Ferry's own endpoints (the inspector's live feed): no diagnostics events, or it would watch itself. */
  /** Publishes its diagnostics events (the one switch, see `core/diagnostics.ts`). */
  readonly observed: boolean;

  constructor(site: string, config: RealtimeConfig, observed = true, broker: Broker = new LocalBroker()) {
    this.site = site;
    this.observed = observed;
    this.broker = broker;
    broker.deliver = (channel, message) => this.fanOut(channel, message);
    broker.resync = (channel, offset, epoch) => this.resync(channel, offset, epoch);
    this.config = config;
    // Workers of one cluster share the key the primary generated (FERRY_PUBLISH_KEY), so any of them takes it.
    this.key = config.publishKey ?? process.env.FERRY_PUBLISH_KEY ?? randomBytes(18).toString("base64url");
    this.keyGenerated = config.publishKey === null;
    this.configure(config);
  }

  /** Applies a (re)loaded config; connections and channels stay. */
  configure(config: RealtimeConfig): void {
    this.config = config;
    if (config.publishKey !== null) {
      this.key = config.publishKey;
      this.keyGenerated = false;
    }
    this.limits.maxBackpressure = config.maxBackpressure;
    this.limits.deflateThreshold = config.deflate.threshold;
    this.rules = compileRules(config.channels);
    const rules = this.rules;
    this.broker.configure((name) => ruleFor(rules, name), config.maxChannels);
    for (const ch of this.channels.values()) {
      const rule = ruleFor(this.rules, ch.name);
      if (rule !== null) ch.rule = rule;
    }
    if (this.timer !== null) clearInterval(this.timer);
    const every = [config.pingInterval, config.idleTimeout].filter((t) => t > 0);
    const tick = Math.max(100, Math.min(5000, Math.floor(Math.min(...every, 20_000) / 4)));
    this.timer = setInterval(sweep, tick, this);
    this.timer.unref();
  }

  /** Takes over a socket once the engine has written the handshake's 101. */
  accept(socket: net.Socket, head: Buffer, handshake: Handshake, query: string): Connection {
    const conn = new Connection(
      socket,
      this,
      this.config.maxMessageSize,
      handshake.deflate,
      handshake.protocol,
    );
    this.connections.add(conn);
    this.stats.connections = this.connections.size;
    if (wsSessionChannel.hasSubscribers && this.observed) this.sessionEvent(conn, "open");
    const wanted = new URLSearchParams(query).get("subscribe");
    if (wanted)
      for (const name of wanted.split(","))
        if (name !== "") this.subscribe(conn, name, undefined, undefined, undefined);
    if (head.length > 0) conn.onData(head);
    return conn;
  }

  // ---- the JSON protocol ----

  onClientMessage(conn: Connection, data: Buffer, binary: boolean): void {
    this.stats.messagesIn++;
    const cmd = parseCommand(data, binary, this.config.maxJsonDepth);
    switch (cmd.type) {
      case "error":
        this.error(conn, cmd.code, cmd.message, cmd.id);
        return;
      case "subscribe":
        this.subscribe(conn, cmd.channel, cmd.since, cmd.epoch, cmd.id);
        return;
      case "unsubscribe": {
        const ch = this.channels.get(cmd.channel);
        if (ch !== undefined) this.leave(conn, ch);
        this.reply(conn, { type: "unsubscribed", channel: cmd.channel }, cmd.id);
        return;
      }
      case "publish": {
        const rule = ruleFor(this.rules, cmd.channel);
        if (rule === null || !rule.publish) {
          this.error(conn, "forbidden", `clients may not publish on ${cmd.channel}`, cmd.id);
          return;
        }
        const { channel, id } = cmd;
        this.publish(channel, cmd.data, "client").then(
          (result) => {
            if (conn.state !== OPEN) return;
            if (typeof result === "string") this.error(conn, result, "cannot publish there now", id);
            else this.reply(conn, { type: "published", channel, offset: result }, id);
          },
          (err) => conn.internalError(err),
        );
        return;
      }
    }
  }

  private reply(conn: Connection, body: Record<string, unknown>, id: string | number | undefined): void {
    if (id !== undefined) body.id = id;
    conn.sendText(json(body));
  }

  private error(conn: Connection, code: string, message: string, id: string | number | undefined): void {
    this.reply(conn, { type: "error", code, message }, id);
  }

  private subscribe(
    conn: Connection,
    name: unknown,
    since: number | undefined,
    epoch: string | undefined,
    id: string | number | undefined,
  ): void {
    if (!isChannelName(name)) {
      this.error(conn, "bad_channel", "channel must be a channel name", id);
      return;
    }
    const rule = ruleFor(this.rules, name);
    if (rule === null) {
      this.error(conn, "forbidden", `no channel rule allows ${name}`, id);
      return;
    }
    // Every limit is checked before anything is created: a refused subscription creates nothing.
    const existing = this.channels.get(name);
    if (existing !== undefined && conn.answering?.has(existing)) {
      this.error(conn, "subscribe_pending", `a subscribe to ${name} is still being answered; retry`, id);
      return;
    }
    const already = existing !== undefined && conn.isSubscribed(existing);
    if (!already) {
      if (conn.subscriptionCount >= this.config.maxSubscriptions) {
        this.error(
          conn,
          "too_many_subscriptions",
          `at most ${this.config.maxSubscriptions} channels per connection`,
          id,
        );
        return;
      }
      if (existing !== undefined && existing.size >= existing.rule.maxSubscribers) {
        this.error(conn, "too_many_subscribers", `${name} has its maximum of subscribers`, id);
        return;
      }
    }
    let group = existing;
    if (group === undefined) {
      group = new ChannelGroup<Connection>(name, rule);
      this.channels.set(name, group);
      this.broker.watch(name);
    }
    if (!already) {
      // A member at once (it counts against the limits), but its messages wait until the reply is out.
      group.pending.set(conn, []);
      conn.addChannel(group);
      this.broker.count(name, group.size);
    }
    const g = group;
    conn.answering ??= new Set();
    conn.answering.add(g);
    this.broker.position(name, since, epoch, Date.now()).then(
      (pos) => {
        answered(conn, g);
        this.answerSubscribe(conn, g, pos, already, id);
      },
      (err) => {
        answered(conn, g);
        this.leave(conn, g);
        conn.internalError(err);
      },
    );
  }

  /** The broker told where the channel stands: the reply, the replay, then what arrived meanwhile. */
  private answerSubscribe(
    conn: Connection,
    group: ChannelGroup<Connection>,
    pos: ChannelPosition | BrokerRefusal,
    already: boolean,
    id: string | number | undefined,
  ): void {
    this.stats.channels = this.broker.size;
    if (typeof pos === "string") {
      this.leave(conn, group);
      if (conn.state === OPEN) this.error(conn, pos, REFUSAL_WORDS[pos], id);
      return;
    }
    const held = already ? undefined : group.pending.get(conn);
    if (!already) {
      if (held === undefined) return; // left (unsubscribed or closed) before the answer
      group.pending.delete(conn);
    }
    if (conn.state !== OPEN) return;
    const reply: Record<string, unknown> = {
      type: "subscribed",
      channel: group.name,
      offset: pos.offset,
      epoch: pos.epoch,
    };
    if (pos.recovered !== null) reply.recovered = pos.recovered;
    this.reply(conn, reply, id);
    if (pos.replay !== null) for (const m of pos.replay) conn.sendMessage(m);
    if (!already) {
      group.subscribers.add(conn);
      const resync = group.resyncs.get(conn);
      group.resyncs.delete(conn);
      if (resync !== undefined && resync.epoch !== pos.epoch) {
        // The channel was made anew while this subscriber waited: it hears so, then the new life's messages.
        conn.sendText(json({ type: "subscribed", channel: group.name, ...resync, recovered: false }));
        for (const m of held!) if (m.offset > resync.offset) conn.sendMessage(m);
        return;
      }
      let last = pos.offset;
      for (const m of held!)
        if (m.offset > last) {
          conn.sendMessage(m);
          last = m.offset;
        }
      if (last === pos.offset) group.floors.set(conn, pos.offset);
    }
  }

  private leave(conn: Connection, group: ChannelGroup<Connection>): void {
    const had = group.subscribers.delete(conn) || group.pending.delete(conn);
    group.pending.delete(conn);
    group.floors.delete(conn);
    group.resyncs.delete(conn);
    conn.removeChannel(group);
    if (had) this.broker.count(group.name, group.size);
    if (group.size === 0 && this.channels.get(group.name) === group) {
      this.channels.delete(group.name);
      this.broker.unwatch(group.name);
    }
  }

  /**
   * Publishes `data` (JSON text) on a channel through the broker; the
   * message comes back to every node watching it (`fanOut`). Resolves to
   * the new offset.
   */
  async publish(name: string, data: string, source: "http" | "client"): Promise<number | PublishRefusal> {
    if (!isChannelName(name)) return "bad_channel";
    if (ruleFor(this.rules, name) === null) return "forbidden";
    const message = await this.broker.publish(name, data, Date.now());
    this.stats.channels = this.broker.size;
    if (typeof message === "string") return message;
    this.stats.published++;
    if (wsPublishChannel.hasSubscribers && this.observed) {
      const event: WsPublishEvent = {
        time: message.time,
        site: this.site,
        path: this.config.path,
        channel: name,
        offset: message.offset,
        bytes: message.payloadLength,
        subscribers: this.channels.get(name)?.subscribers.size ?? 0,
        source,
      };
      wsPublishChannel.publish(event);
    }
    return message.offset;
  }

  /**
   * The broker says a watched channel's log changed under it (a new epoch,
   * or missed messages its history no longer has): every subscriber is told
   * where it stands now, before any later message.
   */
  private resync(name: string, offset: number, epoch: string): void {
    const group = this.channels.get(name);
    if (group === undefined) return;
    const text = json({ type: "subscribed", channel: name, offset, epoch, recovered: false });
    for (const conn of group.subscribers) conn.sendText(text);
    group.floors.clear();
    for (const [conn, held] of group.pending) {
      group.resyncs.set(conn, { offset, epoch });
      held.length = 0;
    }
  }

  /** Subscribers of `channel` on every node (the broker's count; this node's alone without one). */
  presence(channel: string): Promise<number | BrokerRefusal> {
    return this.broker.presence(channel);
  }

  /** A message of a watched channel: framed once, the same bytes to every local subscriber. */
  private fanOut(name: string, message: Message): void {
    const group = this.channels.get(name);
    if (group === undefined) return;
    if (group.floors.size === 0) for (const conn of group.subscribers) conn.sendMessage(message);
    else
      for (const conn of group.subscribers) {
        const floor = group.floors.get(conn);
        if (floor !== undefined) {
          if (message.offset <= floor) continue;
          group.floors.delete(conn);
        }
        conn.sendMessage(message);
      }
    this.stats.messagesOut += group.subscribers.size;
    for (const held of group.pending.values()) held.push(message);
  }

  // ---- connection owner ----

  cork(conn: Connection): void {
    conn.corked = true;
    conn.socket.cork();
    this.corked.push(conn);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(uncorkAll, this);
    }
  }

  /** @internal uncorks every socket corked this turn. */
  flush(): void {
    const list = this.corked;
    this.corked = [];
    this.flushScheduled = false;
    for (const conn of list) {
      conn.corked = false;
      conn.socket.uncork();
    }
  }

  onSlow(conn: Connection): void {
    this.stats.slowConsumers++;
    if (wsDropChannel.hasSubscribers && this.observed) {
      const event: WsDropEvent = { time: Date.now(), id: conn.id, reason: "slow-consumer" };
      wsDropChannel.publish(event);
    }
    // Its queue is full: a close frame would wait behind it, so end the socket now.
    conn.terminate(CloseCode.SlowConsumer, "slow consumer");
  }

  onClosed(conn: Connection): void {
    for (const group of conn.channelList()) this.leave(conn, group);
    if (wsSessionChannel.hasSubscribers && this.observed) this.sessionEvent(conn, "close");
    conn.clearChannels();
    this.connections.delete(conn);
    this.stats.connections = this.connections.size;
  }

  private sessionEvent(conn: Connection, kind: "open" | "close"): void {
    const event: WsSessionEvent = {
      kind,
      time: Date.now(),
      id: conn.id,
      remoteAddress: conn.remoteAddress,
      site: this.site,
      path: this.config.path,
      channels: conn.channelList().map((c) => c.name),
      code: kind === "open" ? 0 : conn.closeCode,
      reason: kind === "open" ? "" : conn.closeReason,
      durationMs: clock() - conn.opened,
      compressed: conn.deflate !== null,
    };
    wsSessionChannel.publish(event);
  }

  /** @internal heartbeats (on the connections' `clock()`) and channel cleanup (wall time). */
  sweep(tick: number, now: number): void {
    const { pingInterval, idleTimeout } = this.config;
    for (const conn of this.connections) {
      if (conn.state !== OPEN) continue;
      const silent = tick - conn.lastSeen;
      if (idleTimeout > 0 && silent >= idleTimeout) {
        this.stats.idleClosed++;
        if (wsDropChannel.hasSubscribers && this.observed)
          wsDropChannel.publish({ time: now, id: conn.id, reason: "idle" } satisfies WsDropEvent);
        conn.close(CloseCode.IdleTimeout, "idle timeout", true);
      } else if (pingInterval > 0 && silent >= pingInterval && !conn.pingSent) {
        conn.ping();
      }
    }
    this.broker.sweep(now);
    this.stats.channels = this.broker.size;
  }

  /** Closes every connection with `code` (1001 when the server stops or the endpoint goes away). */
  close(code: number = CloseCode.GoingAway, reason = "server going away"): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    void this.broker.close();
    for (const conn of [...this.connections]) {
      if (conn.state === OPEN) conn.close(code, reason);
      else if (conn.state === CLOSING) conn.terminate(code, reason);
    }
  }
}
