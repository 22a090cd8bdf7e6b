/**
 * The broker of one process: channel logs in memory. A channel is kept
 * while it is watched or has history; an unwatched one without history goes
 * after a second, one with history when its newest message is older than
 * the rule's age. A channel created anew gets a new epoch, so subscribers
 * see that offsets restarted.
 */
import type { ChannelRule } from "../../core/config/types.js";
import { ChannelLog, type Message } from "../channel.js";
import type { Broker, BrokerRefusal, ChannelPosition } from "./broker.js";

export class LocalBroker implements Broker {
  private readonly logs = new Map<string, ChannelLog>();
  private readonly watched = new Set<string>();
  private ruleFor: (channel: string) => ChannelRule | null = () => null;
  private maxChannels = 0;
  deliver: (channel: string, message: Message) => void = () => {};
  resync: (channel: string, offset: number, epoch: string) => void = () => {};
  private readonly counts = new Map<string, number>();

  count(channel: string, subscribers: number): void {
    if (subscribers === 0) this.counts.delete(channel);
    else this.counts.set(channel, subscribers);
  }

  presence(channel: string): Promise<number> {
    return Promise.resolve(this.counts.get(channel) ?? 0);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  configure(ruleFor: (channel: string) => ChannelRule | null, maxChannels: number): void {
    this.ruleFor = ruleFor;
    this.maxChannels = maxChannels;
    for (const log of this.logs.values()) {
      const rule = ruleFor(log.name);
      if (rule !== null) log.rule = rule;
    }
  }

  get size(): number {
    return this.logs.size;
  }

  private log(channel: string): ChannelLog | BrokerRefusal | null {
    let log = this.logs.get(channel);
    if (log !== undefined) return log;
    const rule = this.ruleFor(channel);
    if (rule === null) return null;
    if (this.logs.size >= this.maxChannels) return "too_many_channels";
    log = new ChannelLog(channel, rule);
    this.logs.set(channel, log);
    return log;
  }

  publish(channel: string, data: string, now: number): Promise<Message | BrokerRefusal> {
    const log = this.log(channel);
    if (log === null) return Promise.reject(new Error(`no rule for ${channel}`));
    if (typeof log === "string") return Promise.resolve(log);
    const message = log.append(data, now);
    if (this.watched.has(channel)) this.deliver(channel, message);
    return Promise.resolve(message);
  }

  position(
    channel: string,
    since: number | undefined,
    epoch: string | undefined,
    now: number,
  ): Promise<ChannelPosition | BrokerRefusal> {
    const log = this.log(channel);
    if (log === null) return Promise.reject(new Error(`no rule for ${channel}`));
    if (typeof log === "string") return Promise.resolve(log);
    if (since === undefined)
      return Promise.resolve({ offset: log.offset, epoch: log.epoch, replay: null, recovered: null });
    // A different epoch or an offset from the future: the channel was created anew, replay all it kept.
    const sameLife = (epoch === undefined || epoch === log.epoch) && since <= log.offset;
    const from = sameLife ? since : 0;
    return Promise.resolve({
      offset: log.offset,
      epoch: log.epoch,
      recovered: sameLife && from + 1 >= log.oldest(now),
      replay: log.since(from, now),
    });
  }

  watch(channel: string): void {
    this.watched.add(channel);
  }

  unwatch(channel: string): void {
    this.watched.delete(channel);
    const log = this.logs.get(channel);
    if (log !== undefined) log.touched = Date.now();
  }

  sweep(now: number): void {
    for (const [name, log] of this.logs) {
      if (this.watched.has(name)) continue;
      if (log.retained === 0 ? now - log.touched > 1000 : now - log.touched > log.rule.historyAge) {
        this.logs.delete(name);
      } else {
        log.trim(now);
      }
    }
  }
}
