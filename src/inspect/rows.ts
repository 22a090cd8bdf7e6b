/** What the inspector keeps: one row per DNS query, HTTP exchange and WebSocket session event, frames and channels. */
import type { DnsQueryEvent, HttpRequestEvent, WsSessionEvent } from "../core/diagnostics.js";

/** A DNS query as kept: the event's fields (formatted for display only when asked: see `presentRow`). */
export type DnsRow = Omit<DnsQueryEvent, "source" | "answers" | "truncated"> & {
  kind: "dns";
  seq: number;
  /** For names outside the zones: whether the forwarder's cache answered. */
  cache: "hit" | "miss" | null;
};

/** An HTTP exchange: the event's fields, headers kept as the engine had them. */
export type HttpRow = Omit<HttpRequestEvent, "remoteAddress" | "referer" | "userAgent"> & {
  kind: "http";
  seq: number;
  client: string;
};

/** A WebSocket session opening or closing. */
export type WsRow = Omit<WsSessionEvent, "kind" | "id" | "remoteAddress"> & {
  kind: "ws";
  seq: number;
  event: "open" | "close";
  session: number;
  client: string;
};

export type Row = DnsRow | HttpRow | WsRow;

/** One frame of a session, like the devtools Messages tab. */
export interface FrameRow {
  time: number;
  direction: "in" | "out";
  opcode: number;
  length: number;
  text: string;
}

/** A channel's traffic. */
export interface ChannelRow {
  site: string;
  path: string;
  channel: string;
  total: number;
  /** Messages in the last whole second. */
  rate: number;
  subscribers: number;
  offset: number;
}

/** What the collector keeps. */
