/**
 * Header rules of the reverse proxy (RFC 9110 §7.6.1): hop-by-hop headers
 * never cross in either direction, X-Forwarded-* say who the client is
 * (believed from trusted proxies only), then the location's own set/remove
 * rules. Pure functions over flat `[name, value, …]` lists, table-tested.
 */
import type { HeaderRules } from "../../core/config/types.js";
import { lowerName } from "./byte-strings.js";

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

const NONE: ReadonlySet<string> = new Set();

/** The header names listed in `Connection` values (lower case). */
function connectionTokens(raw: readonly string[]): ReadonlySet<string> {
  let out: Set<string> | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || lowerName(raw[i]!) !== "connection") continue;
    const value = raw[i + 1]!;
    // The usual values name no header (`keep-alive` is hop-by-hop anyway): nothing to collect.
    if (value.length <= 10) {
      const v = value.toLowerCase();
      if (v === "keep-alive" || v === "close") continue;
    }
    out ??= new Set<string>();
    for (const t of value.split(",")) {
      const name = t.trim().toLowerCase();
      if (name !== "") out.add(name);
    }
  }
  return out ?? NONE;
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
  const ruled = ctx.rules.remove.length > 0 || hasAny(ctx.rules.set);
  const out: string[] = ["host", ctx.host];
  let xff: string | null = null;
  let xfp: string | null = null;
  let xfh: string | null = null;
  let clientHost = "";
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = lowerName(name);
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
    if (ruled && (ctx.rules.remove.includes(lower) || hasKey(ctx.rules.set, lower))) continue;
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
 * The upstream's response headers to send to the client, flat, from its raw
 * `[name, value, …]` list (names keep their case, repeats stay separate).
 * `websocket` keeps `Upgrade` and `Connection` (a 101 needs them).
 */
export function responseHeaders(raw: readonly string[], rules: HeaderRules, websocket = false): string[] {
  const named = connectionTokens(raw);
  const ruled = rules.remove.length > 0 || hasAny(rules.set);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = lowerName(name);
    if (websocket && (lower === "upgrade" || lower === "connection")) {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    if (ruled && (rules.remove.includes(lower) || hasKey(rules.set, lower))) continue;
    out.push(name, value);
  }
  if (ruled) for (const k in rules.set) out.push(k, rules.set[k]!);
  return out;
}

function hasAny(set: Record<string, string>): boolean {
  for (const _ in set) return true;
  return false;
}

/** True when the request asks for a WebSocket upgrade (any other `Upgrade` is not forwarded). */
export function wantsWebSocket(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const up = headers.upgrade;
  return typeof up === "string" && up.toLowerCase() === "websocket";
}
