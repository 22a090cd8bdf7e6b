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
import { Channel } from "./channel.js";
import { CLOSING, Connection, type ConnectionOwner, clock, OPEN } from "./connection.js";
import { CloseCode } from "./constants.js";
import type { Handshake } from "./handshake.js";
import { parseCommand } from "./protocol.js";
import { type CompiledRule, compileRules, isChannelName, ruleFor } from "./rules.js";

/** Why a publish was refused (the HTTP API maps these to statuses). */
export type PublishRefusal = "bad_channel" | "forbidden" | "too_many_channels";

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
  readonly channels = new Map<string, Channel<Connection>>();
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
  readonly quiet: boolean;

  constructor(site: string, config: RealtimeConfig, quiet = false) {
    this.site = site;
    this.quiet = quiet;
    this.config = config;
    this.key = config.publishKey ?? randomBytes(18).toString("base64url");
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
    if (wsSessionChannel.hasSubscribers && !this.quiet) this.sessionEvent(conn, "open");
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
        const result = this.publish(cmd.channel, cmd.data, "client");
        if (typeof result === "string") {
          this.error(conn, result, "cannot publish there now", cmd.id);
          return;
        }
        this.reply(conn, { type: "published", channel: cmd.channel, offset: result }, cmd.id);
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

  private channel(name: string, create: boolean): Channel<Connection> | PublishRefusal {
    let ch = this.channels.get(name);
    if (ch !== undefined) return ch;
    const rule = ruleFor(this.rules, name);
    if (rule === null) return "forbidden";
    if (!create) return "forbidden";
    if (this.channels.size >= this.config.maxChannels) return "too_many_channels";
    ch = new Channel<Connection>(name, rule);
    this.channels.set(name, ch);
    this.stats.channels = this.channels.size;
    return ch;
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
    // Every limit is checked before the channel is created: a refused subscription creates nothing.
    const existing = this.channels.get(name);
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
      if (existing !== undefined && existing.subscribers.size >= existing.rule.maxSubscribers) {
        this.error(conn, "too_many_subscribers", `${name} has its maximum of subscribers`, id);
        return;
      }
    }
    const ch = existing ?? this.channel(name, true);
    if (typeof ch === "string") {
      this.error(conn, ch, ch === "forbidden" ? `no channel rule allows ${name}` : "too many channels", id);
      return;
    }
    const now = Date.now();
    const reply: Record<string, unknown> = {
      type: "subscribed",
      channel: name,
      offset: ch.offset,
      epoch: ch.epoch,
    };
    let replay = null;
    if (since !== undefined) {
      // A different epoch or an offset from the future: the channel was created anew, replay all it kept.
      const sameLife = (epoch === undefined || epoch === ch.epoch) && since <= ch.offset;
      const from = sameLife ? since : 0;
      reply.recovered = sameLife && from + 1 >= ch.oldest(now);
      replay = ch.since(from, now);
    }
    this.reply(conn, reply, id);
    if (replay !== null) for (const m of replay) conn.sendMessage(m);
    if (!already) {
      ch.subscribers.add(conn);
      conn.addChannel(ch);
    }
  }

  private leave(conn: Connection, ch: Channel<Connection>): void {
    ch.subscribers.delete(conn);
    conn.removeChannel(ch);
    if (ch.subscribers.size === 0) ch.touched = Date.now();
  }

  /**
   * Publishes `data` (JSON text) on a channel: serialised and framed once,
   * then written to every subscriber. Returns the new offset.
   */
  publish(name: string, data: string, source: "http" | "client"): number | PublishRefusal {
    if (!isChannelName(name)) return "bad_channel";
    const ch = this.channel(name, true);
    if (typeof ch === "string") return ch;
    const message = ch.append(data, Date.now());
    this.stats.published++;
    for (const conn of ch.subscribers) conn.sendMessage(message);
    this.stats.messagesOut += ch.subscribers.size;
    if (wsPublishChannel.hasSubscribers && !this.quiet) {
      const event: WsPublishEvent = {
        time: message.time,
        site: this.site,
        path: this.config.path,
        channel: name,
        offset: message.offset,
        bytes: message.payloadLength,
        subscribers: ch.subscribers.size,
        source,
      };
      wsPublishChannel.publish(event);
    }
    return message.offset;
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
    if (wsDropChannel.hasSubscribers && !this.quiet) {
      const event: WsDropEvent = { time: Date.now(), id: conn.id, reason: "slow-consumer" };
      wsDropChannel.publish(event);
    }
    // Its queue is full: a close frame would wait behind it, so end the socket now.
    conn.terminate(CloseCode.SlowConsumer, "slow consumer");
  }

  onClosed(conn: Connection): void {
    for (const ch of conn.channelList()) {
      ch.subscribers.delete(conn);
      if (ch.subscribers.size === 0) ch.touched = Date.now();
    }
    if (wsSessionChannel.hasSubscribers && !this.quiet) this.sessionEvent(conn, "close");
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
        if (wsDropChannel.hasSubscribers && !this.quiet)
          wsDropChannel.publish({ time: now, id: conn.id, reason: "idle" } satisfies WsDropEvent);
        conn.close(CloseCode.IdleTimeout, "idle timeout", true);
      } else if (pingInterval > 0 && silent >= pingInterval && !conn.pingSent) {
        conn.ping();
      }
    }
    for (const [name, ch] of this.channels) {
      if (ch.subscribers.size > 0) continue;
      if (ch.retained === 0 ? now - ch.touched > 1000 : now - ch.touched > ch.rule.historyAge) {
        this.channels.delete(name);
      } else {
        ch.trim(now);
      }
    }
    this.stats.channels = this.channels.size;
  }

  /** Closes every connection with `code` (1001 when the server stops or the endpoint goes away). */
  close(code: number = CloseCode.GoingAway, reason = "server going away"): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const conn of [...this.connections]) {
      if (conn.state === OPEN) conn.close(code, reason);
      else if (conn.state === CLOSING) conn.terminate(code, reason);
    }
  }
}
