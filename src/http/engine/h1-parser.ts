/**
 * Ferry's HTTP/1.1 request parser (RFC 9112), as strict as llhttp or
 * stricter: an explicit state machine over the connection's bytes. The head
 * is scanned line by line with native `indexOf` for the line ends and a
 * byte table for every character; bodies (Content-Length or chunked) are
 * cut out of the buffers they arrive in, never copied.
 *
 * The parser owns no buffer. `execute(buf, start, end)` consumes what it
 * can and returns the offset it stopped at; a head that is not complete yet
 * is left in place (the connection keeps those bytes and calls again with
 * more appended; lines already checked are not checked twice). It stops
 * after each complete message and after an upgrade's head, so the
 * connection decides when the next one is parsed (pipelining).
 */

import { latin1 } from "../../core/latin1.js";

/** Why a request was refused; `h1-errors.ts` maps each to its status and stable code. */
export type H1Failure =
  | "request-line" // malformed request line
  | "method" // not a token
  | "target" // control characters or spaces in the request target
  | "version" // not HTTP/DIGIT.DIGIT
  | "unsupported-version" // HTTP/2.0, HTTP/0.9 … (505)
  | "line-ending" // a bare CR or a bare LF
  | "header-name" // not a token, or whitespace before the colon
  | "header-value" // control characters in a value
  | "obs-fold" // a line starting with whitespace (RFC 9112 §5.2)
  | "long-request-line" // request line past maxRequestLine (414)
  | "head-too-large" // head past maxRequestLine + maxHeaderSize (431)
  | "too-many-headers" // past maxHeaderCount (431)
  | "content-length" // not digits, or too large to be real
  | "duplicate-content-length"
  | "content-length-with-transfer-encoding"
  | "transfer-encoding" // chunked not last, twice, or on HTTP/1.0
  | "transfer-coding" // a transfer coding Ferry does not implement (501)
  | "chunk-size"
  | "chunk-extension"
  | "chunk-end" // chunk data not followed by CRLF
  | "trailers-too-large"
  | "trailer-framing"; // a trailer field named Content-Length or Transfer-Encoding

/** A request head. Strings are latin1, as sent. */
export interface H1Head {
  method: string;
  target: string;
  /** 0 or 1 (HTTP/1.0 or HTTP/1.1). */
  versionMinor: number;
  /** Names and values as sent, flat `[name, value, …]`. */
  rawHeaders: string[];
  /** -1 when the request has none. */
  contentLength: number;
  chunked: boolean;
  /** The Host header's value ("" when absent), and how many there were. */
  host: string;
  hostCount: number;
  /** Bytes of the header lines (names, values and 4 per line, as the limits count them). */
  headerBytes: number;
  /** After this request the connection stays open (HTTP/1.1 without `close`, HTTP/1.0 with `keep-alive`). */
  keepAlive: boolean;
  /** `Connection: upgrade` with an `Upgrade` header, or CONNECT: the connection is handed over after the head. */
  upgrade: boolean;
  /** `Expect: 100-continue`. */
  expectContinue: boolean;
}

export interface H1Limits {
  maxRequestLine: number;
  maxHeaderSize: number;
  maxHeaderCount: number;
}

/** Who receives what the parser finds: the connection (methods, no closures per request). */
export interface H1Sink {
  onHead(head: H1Head): void;
  /** A slice of the buffer given to `execute`: valid as long as that buffer is. */
  onBody(chunk: Buffer): void;
  onComplete(): void;
}

// Character classes (RFC 9110 §5.6.2 tchar; §5.5 field-vchar and obs-text; RFC 3986's visible ASCII for the target).
const TOKEN = new Uint8Array(256);
const VALUE = new Uint8Array(256);
const TARGET = new Uint8Array(256);
const HEX = new Int8Array(256).fill(-1);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x21; c <= 0xff; c++) {
  if (c === 0x7f) continue;
  VALUE[c] = 1;
  // A request target is ASCII (RFC 3986): bytes past 0x7e are refused, as llhttp does.
  if (c < 0x7f) TARGET[c] = 1;
}
VALUE[0x20] = 1;
VALUE[0x09] = 1;
for (let i = 0; i < 16; i++) HEX["0123456789abcdef".charCodeAt(i)] = i;
for (let i = 10; i < 16; i++) HEX["ABCDEF".charCodeAt(i - 10)] = i;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;

// States.
const HEAD = 0;
const BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_EXT = 3;
const CHUNK_SIZE_LF = 4;
const CHUNK_DATA = 5;
const CHUNK_DATA_CR = 6;
const CHUNK_DATA_LF = 7;
const TRAILER = 8;
const UPGRADED = 9;
const FAILED = 10;

/** Chunk sizes up to 2^48 - 1 (12 hex digits); past that no body is real (llhttp stops at 2^64). */
const MAX_CHUNK_DIGITS = 12;
/** A chunk-size line's extensions, at most (RFC 9112 §7.1.1 sets none; llhttp none either). */
const MAX_CHUNK_EXT = 4096;

// Where a chunk extension is read (RFC 9112 §7.1.1: `;` name [`=` token / quoted-string], repeated).
// No whitespace anywhere, as llhttp: a space could otherwise hide where one parser ends a name.
const EXT_NAME_START = 0; // after `;`: a token character must follow
const EXT_NAME = 1;
const EXT_VALUE_START = 2; // after `=`: a token character or `"`
const EXT_VALUE = 3;
const EXT_QUOTED = 4;
const EXT_QUOTED_ESCAPE = 5; // after `\` in a quoted string
const EXT_QUOTED_END = 6; // after the closing `"`: `;` or CR

/** Trailer names that would reframe the message (RFC 9110 §6.5.1); `trailerName` bit 1 and bit 2. */
const CONTENT_LENGTH = "content-length";
const TRANSFER_ENCODING = "transfer-encoding";

/**
 * The method token: GET, HEAD and POST as the same constant strings each
 * time (no conversion, and their hash is known to every lookup after), any
 * other as read.
 */
function methodOf(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  const a = buf[start]!;
  if (n === 3 && a === 71 && buf[start + 1] === 69 && buf[start + 2] === 84) return "GET";
  if (n === 4 && buf[start + 3] === 68 && a === 72 && buf[start + 1] === 69 && buf[start + 2] === 65)
    return "HEAD";
  if (n === 4 && buf[start + 3] === 84 && a === 80 && buf[start + 1] === 79 && buf[start + 2] === 83)
    return "POST";
  return latin1(buf, start, end);
}

/** Lower-case ASCII compare of buf[start..end) with `lower`. */
function equalsLower(buf: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[start + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** A head with its request line read and no field yet. */
export function newHead(method: string, target: string, versionMinor: number): H1Head {
  return {
    method,
    target,
    versionMinor,
    rawHeaders: [],
    contentLength: -1,
    chunked: false,
    host: "",
    hostCount: 0,
    headerBytes: 0,
    keepAlive: versionMinor === 1,
    upgrade: false,
    expectContinue: false,
  };
}

export class H1Parser {
  state = HEAD;
  /** True when the last `execute` stopped in an incomplete head: call again with its bytes and more. */
  waiting = false;
  /** Where the last head ended in the buffer given to `execute` (valid during `onHead`). */
  headEnd = 0;
  /** Why the last `execute` returned -1. */
  failure: H1Failure | null = null;
  limits: H1Limits;
  private readonly sink: H1Sink;

  // The head being read: lines already checked are kept here across calls.
  private head: H1Head | null = null;
  /** Offset, from the head's first byte, of the first line not checked yet. */
  private scanned = 0;
  private connectionTokens = 0;
  private hasUpgradeHeader = false;
  private transferEncodings = 0;
  /** The end (CR) of the header line being read. */
  private lineEnd = 0;

  // The body being read.
  private remaining = 0;
  private chunkDigits = 0;
  private extBytes = 0;
  private extState = EXT_NAME_START;
  private trailerBytes = 0;
  private trailerLine = 0;
  private trailerCr = false;
  private trailerColon = false;
  /** While a trailer's name is read: which of CONTENT_LENGTH (1) and TRANSFER_ENCODING (2) it may still be. */
  private trailerName = 0;

  constructor(limits: H1Limits, sink: H1Sink) {
    this.limits = limits;
    this.sink = sink;
  }

  /** True between messages (nothing of the next head read yet is kept by the parser). */
  get idle(): boolean {
    return this.state === HEAD && this.head === null;
  }

  /** True when reading a message's body. */
  get inBody(): boolean {
    return this.state >= BODY && this.state <= TRAILER;
  }

  /**
   * Parses buf[start..end). Returns where it stopped: at `end` when all was
   * used, earlier after a complete message or an upgrade's head (call again
   * for the next), at `start` when a head is incomplete (call again with the
   * same head bytes and more), or -1 on a refusal (`failure` says why).
   */
  execute(buf: Buffer, start: number, end: number): number {
    let at = start;
    while (at < end) {
      const state = this.state;
      if (state === HEAD) return this.readHead(buf, at, end);
      if (state === BODY) {
        const n = Math.min(this.remaining, end - at);
        this.sink.onBody(buf.subarray(at, at + n));
        at += n;
        this.remaining -= n;
        if (this.remaining === 0) return this.complete(at);
        continue;
      }
      if (state === CHUNK_DATA) {
        const n = Math.min(this.remaining, end - at);
        this.sink.onBody(buf.subarray(at, at + n));
        at += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = CHUNK_DATA_CR;
        continue;
      }
      if (state === UPGRADED || state === FAILED) return at;
      const c = buf[at++]!;
      switch (state) {
        case CHUNK_SIZE: {
          const v = HEX[c]!;
          if (v >= 0) {
            if (++this.chunkDigits > MAX_CHUNK_DIGITS) return this.fail("chunk-size");
            this.remaining = this.remaining * 16 + v;
          } else if (c === LF) return this.fail("line-ending");
          else if (this.chunkDigits === 0) return this.fail("chunk-size");
          else if (c === CR) this.state = CHUNK_SIZE_LF;
          else if (c === 59 /* ; */) {
            this.state = CHUNK_EXT;
            this.extState = EXT_NAME_START;
            this.extBytes = 0;
          } else return this.fail("chunk-size");
          break;
        }
        case CHUNK_EXT:
          if (c === LF) return this.fail("line-ending");
          if (++this.extBytes > MAX_CHUNK_EXT || !this.chunkExtension(c)) return this.fail("chunk-extension");
          break;
        case CHUNK_SIZE_LF:
          if (c !== LF) return this.fail("line-ending");
          if (this.remaining === 0) {
            this.state = TRAILER;
            this.trailerBytes = 0;
            this.trailerLine = 0;
            this.trailerCr = false;
            this.trailerColon = false;
            this.trailerName = 3;
          } else this.state = CHUNK_DATA;
          break;
        case CHUNK_DATA_CR:
          if (c !== CR) return this.fail("chunk-end");
          this.state = CHUNK_DATA_LF;
          break;
        case CHUNK_DATA_LF:
          if (c !== LF) return this.fail("chunk-end");
          this.state = CHUNK_SIZE;
          this.remaining = 0;
          this.chunkDigits = 0;
          break;
        case TRAILER: {
          // Trailer fields are read and dropped (nothing in Ferry acts on them); only their shape is checked.
          if (++this.trailerBytes > this.limits.maxHeaderSize) return this.fail("trailers-too-large");
          if (c === CR) {
            if (this.trailerCr) return this.fail("line-ending");
            this.trailerCr = true;
          } else if (c === LF) {
            if (!this.trailerCr) return this.fail("line-ending");
            if (this.trailerLine === 0) return this.complete(at);
            if (!this.trailerColon) return this.fail("header-name");
            this.trailerLine = 0;
            this.trailerCr = false;
            this.trailerColon = false;
            this.trailerName = 3;
          } else {
            if (this.trailerCr) return this.fail("line-ending");
            if (this.trailerColon) {
              if (VALUE[c] === 0) return this.fail("header-value");
            } else if (c === 58 /* : */) {
              const n = this.trailerLine;
              if (n === 0) return this.fail("header-name");
              // RFC 9110 §6.5.1: a trailer must not carry framing; llhttp refuses these too.
              if (((this.trailerName & 1) !== 0 && n === 14) || ((this.trailerName & 2) !== 0 && n === 17))
                return this.fail("trailer-framing");
              this.trailerColon = true;
            } else if (this.trailerLine === 0 && (c === SP || c === HTAB)) return this.fail("obs-fold");
            else if (TOKEN[c] === 0) return this.fail("header-name");
            else {
              const k = this.trailerLine;
              const lower = c | 0x20;
              if (k >= 14 || CONTENT_LENGTH.charCodeAt(k) !== lower) this.trailerName &= ~1;
              if (k >= 17 || TRANSFER_ENCODING.charCodeAt(k) !== lower) this.trailerName &= ~2;
            }
            this.trailerLine++;
          }
          break;
        }
      }
    }
    return at;
  }

  /** One byte of a chunk's extensions (after the first `;`); false when it breaks the grammar. */
  private chunkExtension(c: number): boolean {
    switch (this.extState) {
      case EXT_NAME_START:
        if (TOKEN[c] === 0) return false;
        this.extState = EXT_NAME;
        return true;
      case EXT_NAME:
      case EXT_VALUE:
        if (TOKEN[c] === 1) return true;
        if (c === 61 /* = */ && this.extState === EXT_NAME) this.extState = EXT_VALUE_START;
        else return this.extensionEnd(c);
        return true;
      case EXT_VALUE_START:
        if (c === 34 /* " */) this.extState = EXT_QUOTED;
        else if (TOKEN[c] === 1) this.extState = EXT_VALUE;
        else return false;
        return true;
      case EXT_QUOTED:
        // qdtext without obs-text: HTAB, SP and visible ASCII but `"` and `\`.
        if (c === 34) this.extState = EXT_QUOTED_END;
        else if (c === 92) this.extState = EXT_QUOTED_ESCAPE;
        else if (c !== HTAB && (c < 0x20 || c > 0x7e)) return false;
        return true;
      case EXT_QUOTED_ESCAPE:
        if (c !== HTAB && (c < 0x20 || c > 0x7e)) return false;
        this.extState = EXT_QUOTED;
        return true;
      default:
        return this.extensionEnd(c);
    }
  }

  /** After an extension: `;` starts another, CR ends the chunk-size line. */
  private extensionEnd(c: number): boolean {
    if (c === 59 /* ; */) this.extState = EXT_NAME_START;
    else if (c === CR) this.state = CHUNK_SIZE_LF;
    else return false;
    return true;
  }

  /** The connection took the upgraded connection over, or closes: nothing more is parsed. */
  stop(): void {
    this.state = UPGRADED;
  }

  private fail(why: H1Failure): number {
    this.state = FAILED;
    this.failure = why;
    return -1;
  }

  private complete(at: number): number {
    this.state = HEAD;
    this.head = null;
    this.scanned = 0;
    this.sink.onComplete();
    return at;
  }

  /** Reads a head from buf[start..end): see `execute`. */
  private readHead(buf: Buffer, start: number, end: number): number {
    const limits = this.limits;
    this.waiting = false;
    let line = start + this.scanned;
    if (this.head === null) {
      // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
      // Any number of them, as llhttp and nginx: each is consumed, so they cost no memory, and the
      // answer is the same however the bytes are split.
      while (this.scanned === 0 && buf[start] === CR) {
        if (end - start < 2) {
          this.waiting = true;
          return start;
        }
        if (buf[start + 1] !== LF) return this.fail("line-ending");
        start += 2;
        line = start;
        if (start === end) return start;
      }
      const lf = buf.indexOf(LF, line);
      if (lf < 0 || lf >= end) {
        if (end - start > limits.maxRequestLine + 64) return this.fail("long-request-line");
        this.waiting = true;
        return start;
      }
      // The same bound whether the line came whole or in pieces (the wait above).
      if (lf - start > limits.maxRequestLine + 64) return this.fail("long-request-line");
      if (lf === start || buf[lf - 1] !== CR) return this.fail("line-ending");
      const failed = this.requestLine(buf, start, lf - 1);
      if (failed !== null) return this.fail(failed);
      line = lf + 1;
      this.scanned = line - start;
    }
    const head = this.head!;
    const maxHead = limits.maxRequestLine + limits.maxHeaderSize + 64;
    for (;;) {
      const lf = buf.indexOf(LF, line);
      if (lf < 0 || lf >= end) {
        if (end - start > maxHead) return this.fail("head-too-large");
        this.scanned = line - start;
        this.waiting = true;
        return start;
      }
      // Checked before the end of the head too, so the bound does not depend on how the bytes arrive.
      if (lf - start > maxHead) return this.fail("head-too-large");
      if (lf === line || buf[lf - 1] !== CR) return this.fail("line-ending");
      if (lf - 1 === line) {
        // The empty line: the head is complete.
        const failed = this.endOfHead(head);
        if (failed !== null) return this.fail(failed);
        this.scanned = 0;
        this.head = null;
        const at = lf + 1;
        this.headEnd = at;
        if (head.upgrade) {
          this.state = UPGRADED;
          this.sink.onHead(head);
          return at;
        }
        if (head.chunked) {
          this.state = CHUNK_SIZE;
          this.remaining = 0;
          this.chunkDigits = 0;
          this.sink.onHead(head);
          return this.execute(buf, at, end);
        }
        if (head.contentLength > 0) {
          this.state = BODY;
          this.remaining = head.contentLength;
          this.sink.onHead(head);
          return this.execute(buf, at, end);
        }
        this.state = HEAD;
        this.sink.onHead(head);
        if (this.state === HEAD) this.sink.onComplete();
        return at;
      }
      const failed = this.headerLine(head, buf, line, lf - 1);
      if (failed !== null) return this.fail(failed);
      line = lf + 1;
      this.scanned = line - start;
    }
  }

  /** `method SP target SP HTTP/D.D` in buf[start..end) (CRLF excluded). */
  private requestLine(buf: Buffer, start: number, end: number): H1Failure | null {
    let i = start;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === start) return i === end || buf[i] === SP ? "request-line" : "method";
    if (i === end || buf[i] !== SP) return buf[i] === SP || i === end ? "request-line" : "method";
    const method = methodOf(buf, start, i);
    const t = ++i;
    while (i < end && TARGET[buf[i]!] === 1) i++;
    if (i === t) return "request-line";
    if (i === end || buf[i] !== SP) return i === end ? "request-line" : "target";
    const target = latin1(buf, t, i);
    i++;
    // HTTP/D.D
    if (
      end - i !== 8 ||
      buf[i] !== 72 ||
      buf[i + 1] !== 84 ||
      buf[i + 2] !== 84 ||
      buf[i + 3] !== 80 ||
      buf[i + 4] !== 47 ||
      buf[i + 6] !== 46
    )
      return "version";
    const major = buf[i + 5]! - 48;
    const minor = buf[i + 7]! - 48;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) return "version";
    if (major !== 1 || minor > 1) return "unsupported-version";
    this.head = newHead(method, target, minor);
    this.connectionTokens = 0;
    this.hasUpgradeHeader = false;
    this.transferEncodings = 0;
    return null;
  }

  /** `name: value` in buf[start..end) (CRLF excluded). */
  private headerLine(head: H1Head, buf: Buffer, start: number, end: number): H1Failure | null {
    const first = buf[start]!;
    if (first === SP || first === HTAB) return "obs-fold";
    let i = start;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === start || i === end || buf[i] !== 58 /* : */) return "header-name";
    const nameEnd = i;
    i++;
    while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
    const valueStart = i;
    let valueEnd = valueStart;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (VALUE[c] === 0) return "header-value";
      if (c !== SP && c !== HTAB) valueEnd = i + 1;
    }
    const raw = head.rawHeaders;
    if (raw.length >= this.limits.maxHeaderCount * 2) return "too-many-headers";
    this.lineEnd = end;
    const name = latin1(buf, start, nameEnd);
    const value = latin1(buf, valueStart, valueEnd);
    raw.push(name, value);
    head.headerBytes += nameEnd - start + valueEnd - valueStart + 4;
    return this.framingHeader(head, buf, start, nameEnd, valueStart, valueEnd, value);
  }

  /** The headers that decide framing and the connection's fate. */
  private framingHeader(
    head: H1Head,
    buf: Buffer,
    start: number,
    nameEnd: number,
    vs: number,
    ve: number,
    value: string,
  ): H1Failure | null {
    switch (nameEnd - start) {
      case 4:
        if (equalsLower(buf, start, nameEnd, "host")) {
          head.host = value;
          head.hostCount++;
        }
        break;
      case 6:
        if (equalsLower(buf, start, nameEnd, "expect") && equalsLower(buf, vs, ve, "100-continue"))
          head.expectContinue = true;
        break;
      case 7:
        if (equalsLower(buf, start, nameEnd, "upgrade")) this.hasUpgradeHeader = true;
        break;
      case 10:
        if (equalsLower(buf, start, nameEnd, "connection")) this.connection(buf, vs, ve);
        break;
      case 14:
        if (equalsLower(buf, start, nameEnd, "content-length")) {
          if (head.contentLength !== -1) return "duplicate-content-length";
          if (ve === vs || ve - vs > 15) return "content-length";
          // Trailing SP is OWS to both parsers; a trailing tab llhttp refuses, so it is refused here too.
          for (let i = ve; i < this.lineEnd; i++) if (buf[i] === HTAB) return "content-length";
          let n = 0;
          for (let i = vs; i < ve; i++) {
            const d = buf[i]! - 48;
            if (d < 0 || d > 9) return "content-length";
            n = n * 10 + d;
          }
          head.contentLength = n;
        }
        break;
      case 17:
        if (equalsLower(buf, start, nameEnd, "transfer-encoding"))
          return this.transferEncoding(head, buf, vs, ve);
        break;
    }
    return null;
  }

  /**
   * `Connection`: a comma list of tokens; `close`, `keep-alive` and `upgrade` matter. Each element is
   * compared whole (OWS trimmed), so `keep-alive x` is none of them (as llhttp reads it).
   */
  private connection(buf: Buffer, vs: number, ve: number): void {
    let i = vs;
    while (i < ve) {
      while (i < ve && (buf[i] === SP || buf[i] === HTAB || buf[i] === 44)) i++;
      const s = i;
      let e = i;
      while (i < ve && buf[i] !== 44) {
        if (buf[i] !== SP && buf[i] !== HTAB) e = i + 1;
        i++;
      }
      if (equalsLower(buf, s, e, "close")) this.connectionTokens |= 1;
      else if (equalsLower(buf, s, e, "keep-alive")) this.connectionTokens |= 2;
      else if (equalsLower(buf, s, e, "upgrade")) this.connectionTokens |= 4;
    }
  }

  /** `Transfer-Encoding`: `chunked`, once and last; any other coding is not implemented (501). */
  private transferEncoding(head: H1Head, buf: Buffer, vs: number, ve: number): H1Failure | null {
    // A tab in the list is whitespace to RFC 9110 but not to llhttp, which then takes `chunked\t` for
    // another coding: refused, so no two parsers read this body two ways.
    for (let k = vs; k < this.lineEnd; k++) if (buf[k] === HTAB) return "transfer-encoding";
    let i = vs;
    let any = false;
    while (i < ve) {
      while (i < ve && (buf[i] === SP || buf[i] === HTAB)) i++;
      const s = i;
      while (i < ve && buf[i] !== 44 && buf[i] !== SP && buf[i] !== HTAB) i++;
      const e = i;
      while (i < ve && (buf[i] === SP || buf[i] === HTAB)) i++;
      if (i < ve && buf[i] !== 44) return "transfer-encoding";
      const comma = i < ve;
      i++;
      // Something after chunked (even an empty element: llhttp refuses `chunked,`), or chunked twice.
      if (head.chunked) return "transfer-encoding";
      if (s === e) continue; // empty list elements are allowed before (RFC 9110 §5.6.1.2)
      any = true;
      for (let k = s; k < e; k++) if (TOKEN[buf[k]!] === 0) return "transfer-encoding";
      if (equalsLower(buf, s, e, "chunked")) {
        if (comma) return "transfer-encoding";
        head.chunked = true;
      } else this.transferEncodings |= 1;
    }
    if (!any) return "transfer-encoding";
    this.transferEncodings |= 2;
    return null;
  }

  /** What the whole head decides: framing (RFC 9112 §6.3), persistence (§9.3), upgrade. */
  private endOfHead(head: H1Head): H1Failure | null {
    const te = this.transferEncodings;
    if (te !== 0) {
      if (head.contentLength !== -1) return "content-length-with-transfer-encoding";
      // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
      if (head.versionMinor === 0) return "transfer-encoding";
      if (!head.chunked) return (te & 1) !== 0 ? "transfer-coding" : "transfer-encoding";
      if ((te & 1) !== 0) return "transfer-coding";
    }
    const tokens = this.connectionTokens;
    if ((tokens & 1) !== 0) head.keepAlive = false;
    else if (head.versionMinor === 0) head.keepAlive = (tokens & 2) !== 0;
    head.upgrade =
      head.method === "CONNECT" || ((tokens & 4) !== 0 && this.hasUpgradeHeader && head.versionMinor === 1);
    return null;
  }
}
