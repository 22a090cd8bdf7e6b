/**
 * A channel's log (offsets, epoch, bounded history; kept by the broker) and
 * its local group of subscribers (kept by the hub). A message is serialised and framed once when it is
 * published; its compressed frame is made at most once, on first need.
 */
import { randomBytes } from "node:crypto";
import type { ChannelRule } from "../core/config/types.js";
import { Opcode } from "./constants.js";
import { deflateMessage } from "./deflate.js";
import { encodeFrame } from "./frame.js";

/** A published message, framed once for every subscriber. */
export class Message {
  readonly offset: number;
  readonly time: number;
  /** The uncompressed text frame. */
  readonly frame: Buffer;
  readonly payloadLength: number;
  private deflated: Buffer | null = null;
  private deflatedBits = 0;

  constructor(offset: number, time: number, payload: Buffer) {
    this.offset = offset;
    this.time = time;
    this.payloadLength = payload.length;
    this.frame = encodeFrame(Opcode.Text, payload);
  }

  /** The frame compressed without context (RFC 7692), made once per window size. */
  compressedFrame(windowBits: number): Buffer {
    if (this.deflated === null || this.deflatedBits !== windowBits) {
      const head = this.frame.length - this.payloadLength;
      const payload = this.frame.subarray(head);
      this.deflated = encodeFrame(Opcode.Text, deflateMessage(payload, windowBits), { rsv1: true });
      this.deflatedBits = windowBits;
    }
    return this.deflated;
  }
}

/** A channel's message as every subscriber gets it: the JSON text framed once. */
export function messageFor(channel: string, offset: number, time: number, data: string): Message {
  const payload = Buffer.from(
    `{"type":"message","channel":${JSON.stringify(channel)},"offset":${offset},"data":${data}}`,
    "utf8",
  );
  return new Message(offset, time, payload);
}

/** Something that can receive a channel's messages. */
export interface Subscriber {
  sendMessage(message: Message): void;
}

/**
 * A channel's log, as a broker keeps it: the offset counter, the epoch and
 * the bounded history (count and age).
 */
export class ChannelLog {
  readonly name: string;
  rule: ChannelRule;
  /** Changes when the channel is created anew (its offsets restart). */
  readonly epoch = randomBytes(6).toString("base64url");
  /** Offset of the newest message; 0 before the first. */
  offset = 0;
  /** Oldest first; bounded by the rule's size and age. */
  private history: Message[] = [];
  private head = 0;
  /** When it last had a message or lost its last watcher. */
  touched = Date.now();

  constructor(name: string, rule: ChannelRule) {
    this.name = name;
    this.rule = rule;
  }

  /** Serialises and frames a message once; returns it with its new offset. */
  append(data: string, now: number): Message {
    const offset = ++this.offset;
    const message = messageFor(this.name, offset, now, data);
    this.touched = now;
    if (this.rule.historySize > 0) {
      this.history.push(message);
      this.trim(now);
    }
    return message;
  }

  /** Drops messages past the rule's count or age. */
  trim(now: number): void {
    const h = this.history;
    const minTime = now - this.rule.historyAge;
    let head = this.head;
    while (head < h.length && (h.length - head > this.rule.historySize || h[head]!.time < minTime)) head++;
    if (head > 64 && head * 2 > h.length) {
      this.history = h.slice(head);
      head = 0;
    }
    this.head = head;
  }

  /** Offset of the oldest message still kept, or `offset + 1` when none is. */
  oldest(now: number): number {
    this.trim(now);
    return this.head < this.history.length ? this.history[this.head]!.offset : this.offset + 1;
  }

  /** The kept messages after `since`, oldest first. */
  since(since: number, now: number): Message[] {
    this.trim(now);
    const out: Message[] = [];
    for (let i = this.head; i < this.history.length; i++) {
      const m = this.history[i]!;
      if (m.offset > since) out.push(m);
    }
    return out;
  }

  /** Number of messages kept. */
  get retained(): number {
    return this.history.length - this.head;
  }
}

/**
 * A channel as one hub sees it: the local connections that receive it.
 * `pending` holds those whose subscription is being answered: messages for
 * them wait there until their `subscribed` reply and replay are out, so none
 * is lost or sent twice.
 */
export class ChannelGroup<S extends Subscriber = Subscriber> {
  readonly subscribers = new Set<S>();
  readonly pending = new Map<S, Message[]>();
  /**
   * New subscribers and the offset their `subscribed` said, until a later message
   * reaches them: with a networked broker a message at or below it can still be
   * on its way, and must not reach them twice.
   */
  readonly floors = new Map<S, number>();
  /** A resync that came while these subscribers waited for their position: told after their reply. */
  readonly resyncs = new Map<S, { offset: number; epoch: string }>();

  constructor(
    readonly name: string,
    public rule: ChannelRule,
  ) {}

  /** Members, pending ones included (for the per-channel subscriber limit). */
  get size(): number {
    return this.subscribers.size + this.pending.size;
  }
}
