/**
 * The opening handshake (RFC 6455 §4.2): checks the upgrade request and
 * builds the 101 answer, with the optional origin allow-list, subprotocol
 * choice and permessage-deflate negotiation.
 */
import { createHash } from "node:crypto";
import type { FerryRequest } from "../http/types.js";
import { GUID } from "./constants.js";
import { type DeflateParams, negotiateDeflate } from "./deflate.js";

/** What the endpoint allows. */
export interface HandshakeRules {
  /** Allowed `Origin` values; empty allows any (requests without Origin are always allowed). */
  origins: string[];
  /** Subprotocols the server speaks, in preference order. */
  protocols: string[];
  deflate: boolean;
}

/** An accepted handshake. */
export interface Handshake {
  ok: true;
  /** The headers of the 101 response (the engine writes the status line and the head). */
  headers: string[];
  protocol: string | null;
  deflate: DeflateParams | null;
}

/** A refused handshake: the status, extra headers and why. */
export interface Refusal {
  ok: false;
  status: number;
  headers: string[];
  message: string;
}

/** `Sec-WebSocket-Accept` for a key. */
export function acceptValue(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

function header(req: FerryRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(",")) if (part.trim().toLowerCase() === token) return true;
  return false;
}

const KEY = /^[A-Za-z0-9+/]{22}==$/;

function refuse(status: number, message: string, headers: string[] = []): Refusal {
  return { ok: false, status, headers, message };
}

/** Checks an upgrade request against RFC 6455 and the endpoint's rules. */
export function checkHandshake(req: FerryRequest, rules: HandshakeRules): Handshake | Refusal {
  if (req.method !== "GET") return refuse(400, "the WebSocket handshake must be a GET");
  // HTTP/2 engines present an extended CONNECT (RFC 8441) as this same upgrade.
  if (req.httpVersion !== "1.1" && req.httpVersion !== "2.0")
    return refuse(400, "the WebSocket handshake needs HTTP/1.1 (or HTTP/2's extended CONNECT)");
  if (!hasToken(header(req, "upgrade"), "websocket")) return refuse(400, "Upgrade must be websocket");
  if (!hasToken(header(req, "connection"), "upgrade")) return refuse(400, "Connection must include Upgrade");
  const version = header(req, "sec-websocket-version");
  if (version?.trim() !== "13")
    return refuse(400, "unsupported Sec-WebSocket-Version", ["Sec-WebSocket-Version", "13"]);
  const key = header(req, "sec-websocket-key")?.trim();
  if (key === undefined || !KEY.test(key)) return refuse(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  const origin = header(req, "origin");
  if (rules.origins.length > 0 && origin !== undefined && !rules.origins.includes(origin.toLowerCase()))
    return refuse(403, `origin ${origin} is not allowed`);
  let protocol: string | null = null;
  const offered = header(req, "sec-websocket-protocol");
  if (offered !== undefined && rules.protocols.length > 0) {
    const list = offered.split(",").map((p) => p.trim());
    protocol = list.find((p) => rules.protocols.includes(p)) ?? null;
  }
  const deflate = rules.deflate ? negotiateDeflate(header(req, "sec-websocket-extensions")) : null;
  const headers = ["Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", acceptValue(key)];
  if (protocol !== null) headers.push("Sec-WebSocket-Protocol", protocol);
  if (deflate !== null) headers.push("Sec-WebSocket-Extensions", deflate.response);
  return { ok: true, headers, protocol, deflate };
}
