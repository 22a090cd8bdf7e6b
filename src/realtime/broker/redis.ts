/**
 * The broker of many nodes: channel logs in Redis. Per channel (keys share a
 * hash tag, so a Redis Cluster keeps them on one shard): the offset counter
 * (`o`), the epoch (`e`, created with the log; a Redis that lost its data
 * makes a new one) and the history, a stream whose entry IDs are the
 * offsets (`h`, bounded by the rule's size; age is checked on read). One
 * Lua script numbers, keeps and publishes a message atomically, so every
 * node sees one order. A node subscribes (Redis pub/sub) only to channels
 * it has subscribers on; a message whose offset skips ahead (the node missed
 * some while Redis was away) is preceded by the missing ones from the
 * history, or, when the history no longer holds them, by a resync that tells
 * its subscribers `recovered: false`.
 *
 * Redis down: publish and subscribe answer `broker_unavailable` at once
 * (no offline queue); ioredis reconnects with a backoff, and each watched
 * channel is caught up when it is back.
 */
import { randomBytes } from "node:crypto";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { ChannelRule } from "../../core/config/types.js";
import { type Message, messageFor } from "../channel.js";
import type { Broker, BrokerRefusal, ChannelPosition } from "./broker.js";
import { clusterSeeds } from "./cluster-url.js";

/** Numbers the message, keeps it, publishes it: returns {offset, epoch}. */
const PUBLISH = `
local epoch = redis.call('GET', KEYS[3])
if not epoch then epoch = ARGV[5]; redis.call('SET', KEYS[3], epoch) end
local off = redis.call('INCR', KEYS[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], off .. '-0', 't', ARGV[2], 'd', ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], epoch .. ' ' .. off .. ' ' .. ARGV[2] .. ' ' .. ARGV[1])
return {off, epoch}
`;

/** The channel's epoch (created when missing) and offset. */
const POSITION = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then epoch = ARGV[1]; redis.call('SET', KEYS[2], epoch, 'PX', ARGV[2]) end
local off = tonumber(redis.call('GET', KEYS[1]) or '0')
return {off, epoch}
`;

/** Presence entries older than this are a node that went away. */
const PRESENCE_TTL_MS = 30_000;
const PRESENCE_REFRESH_MS = 10_000;

export interface RedisBrokerEvents {
  /** Redis reachable again, or lost (with the reason). */
  state: (up: boolean, reason: string) => void;
}

interface Watched {
  /** The last offset delivered here (or learned from the first position); -1 before any. */
  last: number;
  epoch: string | null;
  /** A catch-up from the history is under way (or waits for Redis): messages wait here, in order. */
  queue: { offset: number; time: number; data: string }[] | null;
  /**
   * The catch-up failed (Redis went away again): the next `ready` tries again, and so does a timer
   * (a cluster shard failing over to its replica brings no `ready`: the cluster stays connected).
   */
  stalled: boolean;
  /** Failed catch-ups in a row (the retry timer backs off). */
  retries: number;
  /**
   * Another catch-up was asked for while one ran (the subscriber connection came back): the one
   * running may have read the position before a message that pub/sub then missed, so it runs again.
   */
  again: boolean;
  /** More than MAX_QUEUE messages waited: the catch-up ends in a resync instead. */
  overflow: boolean;
  /** Settles once Redis confirmed the SUBSCRIBE (a position read before it could miss a message). */
  subscribed: Promise<void>;
}

/** A failed catch-up is tried again after 250 ms, doubling up to this (less up to half, at random). */
const CATCH_UP_RETRY_MAX_MS = 2000;
/** Messages held per channel while it catches up, at most. */
const MAX_QUEUE = 10_000;
/** How long a position waits for its channel's SUBSCRIBE to be confirmed. */
const SUBSCRIBE_WAIT_MS = 1000;

type StreamEntry = [string, string[]];

function nothing(): void {}

/** One Redis, or a Redis Cluster (`redis+cluster://`). */
type Client = Redis | Cluster;

/** The client with the scripts defined on it. */
type Scripted = Client & {
  ferryPublish(...args: string[]): Promise<unknown>;
  ferryPosition(...args: string[]): Promise<unknown>;
};

export class RedisBroker implements Broker {
  private readonly cmd: Client;
  /** Pub/sub: a plain connection, to the Redis or to one node of the cluster (replaced when it moves). */
  private sub: Redis;
  private subWasDown = false;
  private closed = false;
  /** A Redis Cluster: a pipeline holds one channel's keys only (one hash slot). */
  private readonly clustered: boolean;
  private readonly prefix: string;
  private readonly node = randomBytes(8).toString("hex");
  private readonly watched = new Map<string, Watched>();
  private readonly counts = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private ruleFor: (channel: string) => ChannelRule | null = () => null;
  private up = false;
  /** The outage (or the failure to connect at all) was reported. */
  private saidDown = false;
  private maxChannels = 0;
  private flushSoon = false;
  deliver: (channel: string, message: Message) => void = () => {};
  resync: (channel: string, offset: number, epoch: string) => void = () => {};

  /** `scope` keeps endpoints apart on one Redis (site and path). */
  constructor(url: string, scope: string, events: RedisBrokerEvents) {
    // Braces in the scope (a path) would choose the cluster's hash slot for every channel: escaped.
    this.prefix = `ferry:rt:${scope.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}:`;
    const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);
    const options: RedisOptions = {
      // Fail at once while Redis is away (the API answers 503); reconnect with a backoff up to 2 s.
      // A Redis that stops answering without closing fails commands after 2 s, and TCP keep-alive finds it.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy,
      commandTimeout: 2000,
      connectTimeout: 2000,
      keepAlive: 10_000,
      lazyConnect: false,
    };
    const seeds = clusterSeeds(url);
    this.clustered = seeds !== null;
    const credentials: RedisOptions =
      seeds === null
        ? {}
        : { username: seeds.username, password: seeds.password, ...(seeds.tls ? { tls: {} } : {}) };
    this.cmd =
      seeds === null
        ? new Redis(url, options)
        : // The seeds tell ioredis the cluster's nodes; it follows MOVED/ASK and failovers from there.
          new Cluster(seeds.nodes, {
            // No node at all: fail at once, as with one Redis.
            enableOfflineQueue: false,
            clusterRetryStrategy: retryStrategy,
            slotsRefreshTimeout: 2000,
            redisOptions: {
              ...options,
              // A node's connection opens with its first command, which waits for it (commandTimeout
              // bounds that). Opened at once instead, a node still connecting refuses commands, and the
              // cluster's own readiness check (CLUSTER INFO to a node it has just found) fails and
              // starts over whenever it asks too early.
              lazyConnect: true,
              ...credentials,
            },
          });
    // Sent as EVALSHA (the script body once per connection, as ioredis does for defined commands).
    this.cmd.defineCommand("ferryPublish", { numberOfKeys: 3, lua: PUBLISH });
    this.cmd.defineCommand("ferryPosition", { numberOfKeys: 2, lua: POSITION });
    // The subscriber connection sends nothing while away (no queue a client could grow); on every
    // `ready` it subscribes to the channels watched then, in one command. It is one plain connection
    // even to a cluster (whose every node relays PUBLISH), so that its own close and ready tell when
    // messages may have been missed; there it moves to another node when its node stays away.
    const subOptions: RedisOptions = { ...options, commandTimeout: undefined, autoResubscribe: false };
    if (seeds === null) this.sub = this.attachSub(new Redis(url, subOptions));
    else {
      let next = 0;
      const open = (): Redis => {
        // The cluster's nodes as the command client knows them (replicas relay PUBLISH too), else the seeds.
        const known = (this.cmd as Cluster)
          .nodes("all")
          .map((n) => ({ host: n.options.host!, port: n.options.port! }));
        const nodes = known.length > 0 ? known : seeds.nodes;
        const at = nodes[next++ % nodes.length]!;
        const sub = new Redis({
          ...subOptions,
          ...credentials,
          host: at.host,
          port: at.port,
          // Two tries on this node, then another one.
          retryStrategy: (times: number) => (times > 2 ? null : retryStrategy(times)),
        });
        sub.once("end", () => {
          if (this.closed) return;
          this.subWasDown = true;
          this.sub = this.attachSub(open());
        });
        return sub;
      };
      this.sub = this.attachSub(open());
    }
    let lastError = "";
    this.cmd.on("error", (err: Error) => {
      lastError = err.message;
    });
    this.cmd.on("ready", () => {
      const was = this.up;
      this.up = true;
      this.saidDown = false;
      if (!was) events.state(true, "connected");
      for (const channel of this.watched.keys()) void this.catchUp(channel, null);
      for (const channel of this.counts.keys()) this.dirty.add(channel);
    });
    this.cmd.on("close", () => {
      // Said once per outage, and also when Redis was never reached (a wrong address, a certificate
      // that is not trusted): a broker that never connects must not be silent.
      if (!this.up && this.saidDown) return;
      this.up = false;
      this.saidDown = true;
      events.state(false, lastError || "connection closed");
    });
    let ticks = 0;
    this.timer = setInterval(() => {
      ticks++;
      this.flushPresence(ticks % (PRESENCE_REFRESH_MS / 1000) === 0);
    }, 1000);
    this.timer.unref();
  }

  /**
   * The subscriber connection's handlers. Back after a drop (alone, or on
   * another cluster node), what was published meanwhile comes from the history.
   */
  private attachSub(sub: Redis): Redis {
    sub.on("error", () => {});
    sub.on("close", () => {
      this.subWasDown = true;
    });
    sub.on("ready", () => {
      const topics = [...this.watched.keys()].map((c) => this.topic(c));
      const done = topics.length > 0 ? sub.subscribe(...topics).then(nothing, nothing) : Promise.resolve();
      for (const w of this.watched.values()) w.subscribed = done;
      if (!this.subWasDown) return;
      this.subWasDown = false;
      void done.then(() => {
        for (const channel of this.watched.keys()) void this.catchUp(channel, null);
      });
    });
    sub.on("messageBuffer", (topic: Buffer, payload: Buffer) => this.onMessage(topic.toString(), payload));
    return sub;
  }

  /**
   * A key of the channel: its name is the hash tag, so a cluster keeps its keys in one slot. A name
   * that starts with `}` would make an empty tag (Redis would hash each whole key): a space (never
   * in a name) stands before it, and the tag is that space.
   */
  private key(channel: string, part: string): string {
    return channel.charCodeAt(0) === 0x7d
      ? `${this.prefix}{ ${channel}}:${part}`
      : `${this.prefix}{${channel}}:${part}`;
  }

  private topic(channel: string): string {
    return `${this.prefix}pub:${channel}`;
  }

  configure(ruleFor: (channel: string) => ChannelRule | null, maxChannels: number): void {
    // Channels live in Redis, bounded by their TTLs; maxChannels bounds the channels this node watches.
    this.ruleFor = ruleFor;
    this.maxChannels = maxChannels;
  }

  get size(): number {
    return this.watched.size;
  }

  private ttl(rule: ChannelRule): number {
    return Math.max(rule.historyAge, 60_000) + 60_000;
  }

  async publish(channel: string, data: string, now: number): Promise<Message | BrokerRefusal> {
    const rule = this.ruleFor(channel);
    if (rule === null) throw new Error(`no rule for ${channel}`);
    if (!this.up) return "broker_unavailable";
    let r: [number, string];
    try {
      r = (await (this.cmd as Scripted).ferryPublish(
        this.key(channel, "o"),
        this.key(channel, "h"),
        this.key(channel, "e"),
        data,
        String(now),
        String(rule.historySize),
        String(this.ttl(rule)),
        randomBytes(6).toString("base64url"),
        this.topic(channel),
      )) as [number, string];
    } catch {
      return "broker_unavailable";
    }
    return messageFor(channel, Number(r[0]), now, data);
  }

  async position(
    channel: string,
    since: number | undefined,
    epoch: string | undefined,
    now: number,
  ): Promise<ChannelPosition | BrokerRefusal> {
    const rule = this.ruleFor(channel);
    if (rule === null) throw new Error(`no rule for ${channel}`);
    if (this.watched.size > this.maxChannels) return "too_many_channels";
    if (!this.up) return "broker_unavailable";
    const watched = this.watched.get(channel);
    if (watched !== undefined)
      await Promise.race([watched.subscribed, new Promise((r) => setTimeout(r, SUBSCRIBE_WAIT_MS).unref())]);
    try {
      const [offset, current] = (await (this.cmd as Scripted).ferryPosition(
        this.key(channel, "o"),
        this.key(channel, "e"),
        randomBytes(6).toString("base64url"),
        String(this.ttl(rule)),
      )) as [number, string];
      const w = this.watched.get(channel);
      if (w !== undefined && w.last < 0) {
        // The first position of a newly watched channel is where delivery starts.
        w.epoch = current;
        w.last = offset;
      } else if (w !== undefined && w.epoch !== null && w.epoch !== current) {
        // Redis made the channel anew under its subscribers: they hear of it (a resync) before its messages.
        void this.catchUp(channel, null);
      }
      if (since === undefined) return { offset, epoch: current, replay: null, recovered: null };
      const sameLife = (epoch === undefined || epoch === current) && since <= offset;
      const from = sameLife ? since : 0;
      const kept = await this.history(channel, from, rule, now);
      const oldest = kept.length > 0 ? kept[0]!.offset : offset + 1;
      return {
        offset,
        epoch: current,
        recovered: sameLife && from + 1 >= oldest,
        replay: kept.filter((m) => m.offset <= offset),
      };
    } catch {
      return "broker_unavailable";
    }
  }

  /** The kept messages after `from`, within the rule's age, oldest first. */
  private async history(channel: string, from: number, rule: ChannelRule, now: number): Promise<Message[]> {
    if (rule.historySize === 0) return [];
    const entries = (await this.cmd.xrange(this.key(channel, "h"), `(${from}-0`, "+")) as StreamEntry[];
    const out: Message[] = [];
    for (const [id, fields] of entries) {
      const time = Number(fields[1]);
      if (now - time > rule.historyAge) continue;
      out.push(messageFor(channel, Number.parseInt(id, 10), time, fields[3]!));
    }
    return out;
  }

  watch(channel: string): void {
    if (this.watched.has(channel)) return;
    const w: Watched = {
      last: -1,
      epoch: null,
      queue: null,
      stalled: false,
      retries: 0,
      again: false,
      overflow: false,
      subscribed: Promise.resolve(),
    };
    this.watched.set(channel, w);
    // While Redis is away nothing is sent: the next `ready` subscribes to every watched channel.
    if (this.sub.status === "ready")
      w.subscribed = this.sub.subscribe(this.topic(channel)).then(nothing, nothing);
  }

  unwatch(channel: string): void {
    if (!this.watched.delete(channel)) return;
    if (this.sub.status === "ready") this.sub.unsubscribe(this.topic(channel)).catch(nothing);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const channel = topic.slice(this.prefix.length + 4);
    const w = this.watched.get(channel);
    if (w === undefined) return;
    // "EPOCH OFFSET TIME DATA"
    const text = payload.toString("utf8");
    const a = text.indexOf(" ");
    const b = text.indexOf(" ", a + 1);
    const c = text.indexOf(" ", b + 1);
    const epoch = text.slice(0, a);
    const m = {
      offset: Number(text.slice(a + 1, b)),
      time: Number(text.slice(b + 1, c)),
      data: text.slice(c + 1),
    };
    if (w.queue !== null) {
      if (w.queue.length < MAX_QUEUE) w.queue.push(m);
      else w.overflow = true;
      return;
    }
    if (w.epoch !== null && epoch !== w.epoch) {
      // Redis lost the channel and made it anew: the catch-up tells subscribers of the new epoch, then
      // delivers its messages from the history (this one included).
      w.queue = [m];
      void this.catchUp(channel, w);
      return;
    }
    w.epoch = epoch;
    if (w.last >= 0 && m.offset <= w.last) return; // already delivered (a catch-up got it first)
    if (w.last >= 0 && m.offset > w.last + 1) {
      w.queue = [m];
      void this.catchUp(channel, w);
      return;
    }
    w.last = m.offset;
    this.deliver(channel, messageFor(channel, m.offset, m.time, m.data));
  }

  /**
   * Brings a watched channel up to date after missed messages: the ones the
   * history still holds are delivered in order; a new epoch or a gap past the
   * history is a resync. Messages that arrive meanwhile wait in the queue.
   */
  private async catchUp(channel: string, known: Watched | null): Promise<void> {
    const w = known ?? this.watched.get(channel);
    if (w === undefined || w.last < 0) return;
    if (known === null) {
      if (w.queue !== null && !w.stalled) {
        w.again = true; // one under way already: it runs once more when it ends
        return;
      }
      w.queue ??= [];
    }
    w.stalled = false;
    const rule = this.ruleFor(channel);
    try {
      const [offset, epoch] = (await (this.cmd as Scripted).ferryPosition(
        this.key(channel, "o"),
        this.key(channel, "e"),
        randomBytes(6).toString("base64url"),
        String(rule ? this.ttl(rule) : 120_000),
      )) as [number, string];
      if (epoch !== w.epoch) {
        // A new life: subscribers hear of it, then get what its history holds, in order.
        const kept = rule
          ? (await this.history(channel, 0, rule, Date.now())).filter((m) => m.offset <= offset)
          : [];
        const base = kept.length > 0 ? kept[0]!.offset - 1 : offset;
        w.epoch = epoch;
        w.last = base;
        w.overflow = false;
        this.resync(channel, base, epoch);
        for (const m of kept) {
          w.last = m.offset;
          this.deliver(channel, m);
        }
      } else if (w.overflow) {
        w.last = offset;
        w.overflow = false;
        w.queue = w.queue?.filter((m) => m.offset > offset) ?? null;
        this.resync(channel, offset, epoch);
      } else if (offset > w.last) {
        const kept = rule ? await this.history(channel, w.last, rule, Date.now()) : [];
        if (kept.length === 0 || kept[0]!.offset !== w.last + 1) {
          w.last = offset;
          this.resync(channel, offset, epoch);
        } else
          for (const m of kept) {
            if (m.offset <= w.last || m.offset > offset) continue;
            w.last = m.offset;
            this.deliver(channel, m);
          }
      }
    } catch {
      // Redis went away again: the messages stay queued; the next `ready` catches up, or the timer.
      w.stalled = true;
      // Jittered, so the channels of a node that all failed at once do not all ask again at once.
      const delay = Math.min(CATCH_UP_RETRY_MAX_MS, 250 * 2 ** w.retries++) * (0.5 + Math.random() / 2);
      setTimeout(() => {
        if (!this.closed && w.stalled && this.watched.get(channel) === w) void this.catchUp(channel, null);
      }, delay).unref();
      return;
    }
    w.retries = 0;
    const queue = w.queue ?? [];
    w.queue = null;
    for (const m of queue) {
      if (m.offset <= w.last) continue;
      if (m.offset > w.last + 1) {
        // Still a gap (a message lost between the history read and now): one more catch-up.
        w.queue = queue.filter((q) => q.offset >= m.offset);
        void this.catchUp(channel, w);
        return;
      }
      w.last = m.offset;
      this.deliver(channel, messageFor(channel, m.offset, m.time, m.data));
    }
    if (w.again) {
      w.again = false;
      void this.catchUp(channel, null);
    }
  }

  count(channel: string, subscribers: number): void {
    if (subscribers === 0) this.counts.delete(channel);
    else this.counts.set(channel, subscribers);
    this.dirty.add(channel);
    if (!this.flushSoon) {
      this.flushSoon = true;
      setTimeout(() => {
        this.flushSoon = false;
        void this.flushPresence(false);
      }, 50).unref();
    }
  }

  /** Writes this node's changed counts (and, every PRESENCE_REFRESH_MS, all of them) to each channel's presence hash. */
  private flushPresence(all: boolean): Promise<unknown> {
    if (!this.up) return Promise.resolve();
    const names = all ? new Set([...this.dirty, ...this.counts.keys()]) : this.dirty;
    if (names.size === 0) return Promise.resolve();
    const now = Date.now();
    // One pipeline for all; on a Redis Cluster one per channel: its keys share a slot, the channels do
    // not, and ioredis refuses a pipeline whose keys are not all on one node (slots move between nodes).
    const pipes = [this.cmd.pipeline()];
    for (const channel of names) {
      if (this.clustered && pipes[0]!.length > 0) pipes.unshift(this.cmd.pipeline());
      const pipe = pipes[0]!;
      const key = this.key(channel, "p");
      const n = this.counts.get(channel) ?? 0;
      if (n === 0) pipe.hdel(key, this.node);
      else {
        pipe.hset(key, this.node, `${n}:${now}`);
        pipe.pexpire(key, PRESENCE_TTL_MS);
      }
    }
    this.dirty.clear();
    return Promise.all(pipes.map((pipe) => pipe.exec().catch(() => {})));
  }

  async presence(channel: string): Promise<number | BrokerRefusal> {
    if (!this.up) return "broker_unavailable";
    await this.flushPresence(false);
    try {
      const all = await this.cmd.hgetall(this.key(channel, "p"));
      const now = Date.now();
      let n = 0;
      for (const v of Object.values(all)) {
        const [count, at] = v.split(":");
        if (now - Number(at) <= PRESENCE_TTL_MS) n += Number(count);
      }
      return n;
    } catch {
      return "broker_unavailable";
    }
  }

  sweep(_now: number): void {}

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const channel of this.counts.keys()) this.counts.set(channel, 0);
    await this.flushPresence(true);
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
