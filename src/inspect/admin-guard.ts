/**
 * Who may use the admin listener. The inspector shows every exchange, so a
 * web page on another site must not read it, and DNS rebinding (a name of
 * the attacker's that resolves to 127.0.0.1) must not make it same-origin:
 * - `Host` must be a loopback name or address (any host with `allowRemote`,
 *   which then needs a token);
 * - a request that carries `Origin` (every WebSocket handshake from a
 *   browser, every cross-site fetch) must come from the admin page itself;
 * - with a token, every request carries it: `Authorization: Bearer`, the
 *   cookie the page sets, or `?token=` on the page's address.
 */
import { timingSafeEqual } from "node:crypto";
import { isLoopback } from "../core/loopback.js";
import type { FerryRequest } from "../http/types.js";

export const COOKIE = "ferry_admin";

export interface GuardConfig {
  token: string | null;
  allowRemote: boolean;
}

/** Why a request was refused, or null when it may pass (with the cookie to set, if any). */
export type Verdict =
  | { ok: true; setCookie: string | null }
  | { ok: false; status: 401 | 403; error: string; message: string };

function sameSecret(given: string, want: string): boolean {
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(want, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Checks one admin request (plain or upgrade). */
export function checkAdmin(req: FerryRequest, guard: GuardConfig): Verdict {
  const host = req.host;
  if (!guard.allowRemote && !isLoopback(host))
    return {
      ok: false,
      status: 403,
      error: "bad_host",
      message: `the admin listener answers loopback names only, not ${host || "an empty Host"}`,
    };
  const origin = req.headers.origin;
  if (typeof origin === "string" && origin !== "null") {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      originHost = null;
    }
    const own = typeof req.headers.host === "string" ? req.headers.host.toLowerCase() : "";
    if (originHost === null || originHost !== own)
      return { ok: false, status: 403, error: "bad_origin", message: "cross-origin requests are refused" };
  } else if (origin === "null") {
    return { ok: false, status: 403, error: "bad_origin", message: "cross-origin requests are refused" };
  }
  const token = guard.token;
  if (token === null) return { ok: true, setCookie: null };
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m && sameSecret(m[1]!, token)) return { ok: true, setCookie: null };
  }
  const raw = req.headers.cookie;
  const cookie = cookieValue(Array.isArray(raw) ? raw.join("; ") : raw, COOKIE);
  if (cookie !== null && sameSecret(cookie, token)) return { ok: true, setCookie: null };
  const query = new URLSearchParams(req.query).get("token");
  if (query !== null && sameSecret(query, token))
    return { ok: true, setCookie: `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` };
  return {
    ok: false,
    status: 401,
    error: "unauthorized",
    message: "send Authorization: Bearer <admin.token>, or open the page as /?token=<admin.token>",
  };
}
