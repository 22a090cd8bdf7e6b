/**
 * Engine-neutral checks of a request head, and the classification of heads
 * a parser refused: which status and stable code the client gets. Every
 * engine (node:http today, Ferry's own HTTP/1.1 next) answers the same way.
 */
import type { HttpLimits } from "../core/config/types.js";
import { parseHostCached } from "./host.js";

/** A parsed request head as any engine has it. */
export interface RequestHead {
  /** The request target as sent. */
  target: string;
  versionMajor: number;
  versionMinor: number;
  /** Header names and values as sent, flat `[name, value, …]`. */
  rawHeaders: readonly string[];
  /** The Content-Length header's value, if any. */
  contentLength: string | undefined;
}

/** The limits and framing rules a parser leaves to us; returns the error status, or 0. */
export function checkHead(h: RequestHead, limits: HttpLimits): number {
  // Ferry speaks HTTP/1.0 and 1.1 here (node's parser takes any one-digit version, e.g. HTTP/2.0).
  if (h.versionMajor !== 1 || h.versionMinor > 1) return 505;
  if (h.target.length > limits.maxRequestLine) return 414;
  const raw = h.rawHeaders;
  if (raw.length / 2 > limits.maxHeaderCount) return 431;
  let size = 0;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    size += name.length + raw[i + 1]!.length + 4;
    if (name.length === 4 && (name.charCodeAt(0) | 0x20) === 104 && name.toLowerCase() === "host") hosts++;
  }
  if (size > limits.maxHeaderSize) return 431;
  if (hosts > 1 || (hosts === 0 && h.versionMinor === 1)) return 400;
  if (h.contentLength !== undefined && Number(h.contentLength) > limits.maxBodySize) return 413;
  return 0;
}

/** Stable codes of the statuses the checks answer with. */
export const REFUSAL_CODES: Readonly<Record<number, string>> = {
  400: "ERR_HTTP_BAD_REQUEST",
  408: "ERR_HTTP_REQUEST_TIMEOUT",
  413: "ERR_HTTP_BODY_TOO_LARGE",
  414: "ERR_HTTP_URI_TOO_LONG",
  431: "ERR_HTTP_HEADERS_TOO_LARGE",
  501: "ERR_HTTP_BAD_REQUEST",
  505: "ERR_HTTP_VERSION",
};

/** Why a parser refused a head, in engine-neutral words. */
export type ParseFailure = "header-overflow" | "bad-method" | "bad-version" | "timeout" | "malformed";

const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r$/;
const ANY_VERSION_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/\d\.\d\r$/;

function firstLine(packet: Buffer | undefined): string {
  if (!packet) return "";
  const eol = packet.indexOf(10);
  return eol > 0 ? packet.toString("latin1", 0, eol) : "";
}

/** A request line still being sent when the header limit hit: 414 rather than 431. */
function isLongRequestLine(packet: Buffer | undefined, max: number): boolean {
  if (!packet) return false;
  const eol = packet.indexOf(10);
  const line = eol < 0 ? packet : packet.subarray(0, eol);
  return /^[A-Z]+ /.test(line.toString("latin1", 0, 16)) && (eol < 0 || line.length > max);
}

/** The status and code for a head the parser refused; `packet` is what it had read. */
export function classifyFailure(
  why: ParseFailure,
  packet: Buffer | undefined,
  limits: HttpLimits,
): { status: number; code: string } {
  let status = 400;
  if (why === "header-overflow") status = isLongRequestLine(packet, limits.maxRequestLine) ? 414 : 431;
  // A well-formed request line with a method the parser does not know: one we do not implement.
  else if (why === "bad-method" && REQUEST_LINE.test(firstLine(packet))) status = 501;
  else if (why === "bad-version" && ANY_VERSION_LINE.test(firstLine(packet))) status = 505;
  else if (why === "timeout") status = 408;
  return { status, code: REFUSAL_CODES[status]! };
}

/** Where a request goes: its path and query, and the host it names. */
export interface ResolvedTarget {
  rawPath: string;
  query: string;
  /** Lower-case host name without port, or "" when the request named none. */
  host: string;
}

/**
 * Splits a request target: origin-form (`/path?q`), absolute-form
 * (`http://host/path`, whose host wins over the Host header) or
 * asterisk-form (`*`, OPTIONS only). Null when the target or host is malformed.
 */
export function resolveTarget(method: string, target: string, hostHeader: string): ResolvedTarget | null {
  let host = hostHeader;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const abs = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(target);
    if (abs) {
      host = abs[1]!;
      target = abs[2] || "/";
    } else if (!(target === "*" && method === "OPTIONS")) {
      return null;
    }
  }
  const hostName = host === "" ? "" : parseHostCached(host);
  if (hostName === null) return null;
  const q = target.indexOf("?");
  return {
    rawPath: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? "" : target.slice(q + 1),
    host: hostName,
  };
}
