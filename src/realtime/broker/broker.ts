/**
 * Where channels' logs live: offsets, epochs, history, and publishing to
 * every node that has subscribers (issue 14 adds Redis for many nodes; one
 * process uses `LocalBroker`). The hub keeps local subscriptions, fan-out
 * and corking, and asks the broker for everything else. Every call is
 * async, as a networked broker's are.
 */
import type { ChannelRule } from "../../core/config/types.js";
import type { Message } from "../channel.js";

/** Where a channel stands for a new subscriber, and what it missed. */
export interface ChannelPosition {
  offset: number;
  epoch: string;
  /** With `since`: the kept messages after it (oldest first), and whether they reach back to it. */
  replay: Message[] | null;
  recovered: boolean | null;
}

/** Why a broker refused: the channel limit, or (a networked broker) its store is unreachable. */
export type BrokerRefusal = "too_many_channels" | "broker_unavailable";

export interface Broker {
  /**
   * Gives the message the channel's next offset, keeps it in the history,
   * and delivers it (through `deliver`) wherever the channel is watched.
   */
  publish(channel: string, data: string, now: number): Promise<Message | BrokerRefusal>;
  /** The channel's offset and epoch now; with `since` (of `epoch`), what was kept after it. */
  position(
    channel: string,
    since: number | undefined,
    epoch: string | undefined,
    now: number,
  ): Promise<ChannelPosition | BrokerRefusal>;
  /** This node has subscribers on `channel` (messages must reach it) / no longer has. */
  watch(channel: string): void;
  unwatch(channel: string): void;
  /** Set by the hub: where the messages of watched channels arrive. */
  deliver: (channel: string, message: Message) => void;
  /**
   * Set by the hub: a watched channel's log changed under its subscribers
   * (a new epoch: the store lost it; or messages missed that its history no
   * longer holds). They are told where it stands now, with `recovered: false`.
   */
  resync: (channel: string, offset: number, epoch: string) => void;
  /** How many subscribers this node has on `channel` now (for presence across nodes). */
  count(channel: string, subscribers: number): void;
  /** Subscribers on `channel` across every node. */
  presence(channel: string): Promise<number | BrokerRefusal>;
  /** Lets go of connections and timers. */
  close(): Promise<void>;
  /** The rules and limits in force (set by the hub on every config load). */
  configure(ruleFor: (channel: string) => ChannelRule | null, maxChannels: number): void;
  /** Drops what has expired (history by age, idle channels). */
  sweep(now: number): void;
  /** Channels kept. */
  readonly size: number;
}
