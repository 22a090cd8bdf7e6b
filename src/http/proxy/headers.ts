/**
 * Header rules of the reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers
 * never cross in either direction, X-Forwarded-* say who the client is
 * (believed from trusted proxies only), then the location's own set/remove
 * rules. Pure functions over flat `[name, value, …]` lists, table-tested.
 */
import type { HeaderRules } from "../../core/config/types.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the non-standard ones nginx and Caddy drop too). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Client-identity headers that only a trusted proxy may set. */
const IDENTITY = new Set([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
  "x-real-ip",
]);

/** The header names listed in `Connection` values (lower case). */
function connectionTokens(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "connection") continue;
    for (const t of raw[i + 1]!.split(",")) {
      const name = t.trim().toLowerCase();
      if (name !== "") out.add(name);
    }
  }
  return out;
}

/** What the request side needs to know. */
export interface ForwardContext {
  /** The peer's address. */
  client: string;
  /** The peer is a trusted proxy: its X-Forwarded-* are kept (and extended). */
  trusted: boolean;
  /** `http` or `https`: how the client reached Ferry. */
  proto: string;
  /** The value for `Host` upstream. */
  host: string;
  /** A WebSocket upgrade: `Upgrade` and `Connection: upgrade` go up. */
  websocket: boolean;
  rules: HeaderRules;
}

/** The request headers to send upstream, flat. */
export function requestHeaders(raw: readonly string[], ctx: ForwardContext): string[] {
  const named = connectionTokens(raw);
  const out: string[] = ["host", ctx.host];
  let xff: string | null = null;
  let xfp: string | null = null;
  let xfh: string | null = null;
  let clientHost = "";
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (lower === "host") {
      clientHost = value;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower === "expect") continue;
    if (IDENTITY.has(lower)) {
      if (!ctx.trusted) continue;
      if (lower === "x-forwarded-for") xff = xff === null ? value : `${xff}, ${value}`;
      else if (lower === "x-forwarded-proto") xfp ??= value;
      else if (lower === "x-forwarded-host") xfh ??= value;
      else out.push(name, value);
      continue;
    }
    if (ctx.rules.remove.includes(lower) || hasKey(ctx.rules.set, lower)) continue;
    out.push(name, value);
  }
  const own = (h: string) => !ctx.rules.remove.includes(h) && !hasKey(ctx.rules.set, h);
  if (own("x-forwarded-for"))
    out.push("x-forwarded-for", xff === null ? ctx.client : `${xff}, ${ctx.client}`);
  if (own("x-forwarded-proto")) out.push("x-forwarded-proto", xfp ?? ctx.proto);
  if ((xfh !== null || clientHost !== "") && own("x-forwarded-host"))
    out.push("x-forwarded-host", xfh ?? clientHost);
  if (ctx.websocket) out.push("connection", "upgrade", "upgrade", "websocket");
  for (const [k, v] of Object.entries(ctx.rules.set)) out.push(k, v);
  return out;
}

function hasKey(set: Record<string, string>, lower: string): boolean {
  for (const k in set) if (k.toLowerCase() === lower) return true;
  return false;
}

/**
 * The upstream's response headers to send to the client, flat. `websocket`
 * keeps `Upgrade` and `Connection` (a 101 needs them).
 */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  rules: HeaderRules,
  websocket = false,
): string[] {
  const connection = headers.connection;
  const named = new Set<string>();
  if (connection !== undefined)
    for (const t of (Array.isArray(connection) ? connection.join(",") : connection).split(","))
      named.add(t.trim().toLowerCase());
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (websocket && (lower === "upgrade" || lower === "connection")) {
      out.push(name, Array.isArray(value) ? value.join(", ") : value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    if (rules.remove.includes(lower) || hasKey(rules.set, lower)) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  for (const [k, v] of Object.entries(rules.set)) out.push(k, v);
  return out;
}

/** True when the request asks for a WebSocket upgrade (any other `Upgrade` is not forwarded). */
export function wantsWebSocket(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const up = headers.upgrade;
  return typeof up === "string" && up.toLowerCase() === "websocket";
}
