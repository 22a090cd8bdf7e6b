/**
 * Response heads of Ferry's HTTP/1.1 engine: the status line and `Date`
 * built once (per status, per second), the handler's headers copied as they
 * are, and the framing headers the engine owns (Content-Length when the
 * handler gave none, chunked for a stream of unknown length, Connection).
 */
import { STATUS_CODES } from "node:http";
import { httpDate } from "./http-date.js";

const statusLines: string[] = [];

function statusLine(status: number): string {
  let line = statusLines[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
    if (status >= 100 && status <= 999) statusLines[status] = line;
  }
  return line;
}

let dateValue = "";
let dateLine = "";

/** `Date: …\r\n` for the current second (RFC 9110 §6.6.1), built once a second. */
export function dateHeader(now: number): string {
  const value = httpDate(now);
  if (value !== dateValue) {
    dateValue = value;
    dateLine = `Date: ${value}\r\n`;
  }
  return dateLine;
}

/** How the body of a reply is delimited. */
export const FRAMING_NONE = 0;
export const FRAMING_LENGTH = 1;
export const FRAMING_CHUNKED = 2;
/** HTTP/1.0 without a length: the body runs to the close. */
export const FRAMING_CLOSE = 3;

/** What `encodeHead` decided besides the text (module state: one head is built at a time). */
export const decided = { framing: FRAMING_NONE, keepAlive: true };

/**
 * The head for a reply. `bodyLength` is the length of a body in hand, -1
 * for a stream (its length is the handler's Content-Length, if any), -2 for
 * none. Sets `decided.framing` and `decided.keepAlive`.
 */
export function encodeHead(
  status: number,
  headers: readonly string[],
  bodyLength: number,
  keepAlive: boolean,
  versionMinor: number,
  head: boolean,
  now: number,
): string {
  let text = statusLine(status);
  let hasLength = false;
  let hasChunked = false;
  let hasDate = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    // A value or name that would end the line early never reaches the wire (response splitting).
    if (value.includes("\n") || value.includes("\r") || name.includes("\n") || name.includes("\r")) continue;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "date") hasDate = true;
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          if (value.toLowerCase() === "close") keepAlive = false;
          continue;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") hasLength = true;
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") {
          // The engine frames bodies; a handler's own Transfer-Encoding would double it.
          continue;
        }
        break;
    }
    text += `${name}: ${value}\r\n`;
  }
  if (!hasDate) text += dateHeader(now);
  const bodyless = head || status === 204 || status === 304 || status < 200;
  let framing = FRAMING_NONE;
  if (bodyLength >= 0) {
    if (!hasLength && status !== 204 && status !== 304 && status >= 200)
      text += `Content-Length: ${bodyLength}\r\n`;
    framing = bodyless ? FRAMING_NONE : FRAMING_LENGTH;
  } else if (bodyLength === -1) {
    if (bodyless) framing = FRAMING_NONE;
    else if (hasLength) framing = FRAMING_LENGTH;
    else if (versionMinor === 1) {
      hasChunked = true;
      framing = FRAMING_CHUNKED;
    } else {
      framing = FRAMING_CLOSE;
      keepAlive = false;
    }
  } else if (!hasLength && !bodyless) text += "Content-Length: 0\r\n";
  if (hasChunked) text += "Transfer-Encoding: chunked\r\n";
  text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  decided.framing = framing;
  decided.keepAlive = keepAlive;
  return text;
}

/** Replies up to this size are kept as one buffer, head and body (written with one `write`). */
const JOINED_MAX = 16 * 1024;

/** The wire form of a reply whose headers are frozen (shared by every reply of a cached file), per second. */
interface Prepared {
  second: number;
  status: number;
  body: Buffer;
  /** [HTTP/1.1 keep-alive, close]: head alone, or head and body joined when small. */
  wire: [Buffer | null, Buffer | null];
}

const prepared = new WeakMap<readonly string[], Prepared>();

/**
 * The wire bytes of a reply with frozen headers and a body in hand (a
 * cached file): built once a second per connection fate, so a hit writes a
 * buffer that already exists. Null when the reply is not of that kind.
 * `joined` tells whether the body is in the buffer (else write it after).
 */
export function preparedWire(
  status: number,
  headers: readonly string[],
  body: Buffer,
  keepAlive: boolean,
  now: number,
): Buffer | null {
  if (!Object.isFrozen(headers)) return null;
  const second = Math.floor(now / 1000);
  let p = prepared.get(headers);
  if (p !== undefined && p.second === second && (p.status !== status || p.body !== body)) return null;
  if (p === undefined || p.second !== second) {
    p = { second, status, body, wire: [null, null] };
    prepared.set(headers, p);
  }
  const slot = keepAlive ? 0 : 1;
  let wire = p.wire[slot];
  if (wire === null) {
    const text = encodeHead(status, headers, body.length, keepAlive, 1, false, now);
    // A handler's `Connection: close` makes the two the same: keep what encodeHead decided.
    if (decided.keepAlive !== keepAlive) return null;
    const head = Buffer.from(text, "latin1");
    wire = body.length <= JOINED_MAX ? Buffer.concat([head, body]) : head;
    p.wire[slot] = wire;
  }
  return wire;
}

/** True when `preparedWire` put the body into the buffer. */
export function joined(body: Buffer): boolean {
  return body.length <= JOINED_MAX;
}
