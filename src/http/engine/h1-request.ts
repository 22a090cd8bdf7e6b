/**
 * A request as Ferry's HTTP/1.1 engine hands it to site logic: fields from
 * the parsed head (the headers object is built only when asked for), and a
 * body that waits in the connection until the handler takes it, whole
 * (`body`) or as a stream (`stream`), with backpressure on the socket.
 */
import { Readable } from "node:stream";
import { HttpBodyTooLargeError } from "../errors.js";
import type { FerryRequest } from "../types.js";
import type { H1Head } from "./h1-parser.js";

/** What a body needs from its connection. */
export interface BodyOwner {
  /** Stop reading the socket (the body's reader is behind). */
  pauseInput(): void;
  /** Read on. */
  resumeInput(): void;
  /** `100 Continue`, once, when the handler first asks for a body the client holds back. */
  sendContinue(): void;
}

/** Body bytes queued for a handler that has not asked yet, before the socket is paused. */
const QUEUE_LIMIT = 64 * 1024;

/** Headers node's IncomingMessage keeps only the first of (its `headers` object, which handlers were written against). */
const SINGLE = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/**
 * The headers object's constructor: objects made by it have fast properties
 * (unlike `Object.create(null)`, which starts in dictionary mode) and no
 * inherited names (its prototype has a null prototype), so a header named
 * `constructor` or `__proto__` is just a header.
 */
const HeaderBag = function HeaderBag(this: object) {} as unknown as new () => Record<
  string,
  string | string[]
>;
HeaderBag.prototype = Object.create(null);

/** Header names as sent → lower case: the same few names come with every request. */
const lowered = new Map<string, string>();

function lowerName(name: string): string {
  let lower = lowered.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowered.size < 1024) lowered.set(name, lower);
  }
  return lower;
}

/** Flat `[name, value, …]` as node's lower-case `headers` object. */
export function headersObject(raw: readonly string[]): Record<string, string | string[]> {
  const out = new HeaderBag();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = lowerName(raw[i]!);
    const value = raw[i + 1]!;
    const had = out[name];
    if (had === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (name === "set-cookie") (had as string[]).push(value);
    else if (SINGLE.has(name)) continue;
    else out[name] = `${had as string}${name === "cookie" ? "; " : ", "}${value}`;
  }
  return out;
}

/** A request's body as it arrives. */
export class H1Body {
  private queue: Buffer[] = [];
  private queued = 0;
  /** Bytes received so far. */
  received = 0;
  ended = false;
  private failure: Error | null = null;
  private reader: BodyStream | null = null;
  private collect: { resolve: (b: Buffer) => void; reject: (e: Error) => void; max: number } | null = null;
  /** The limit of the reader that took the body. */
  private max = Number.POSITIVE_INFINITY;
  private taken = false;

  constructor(
    private readonly owner: BodyOwner,
    private readonly expectContinue: boolean,
  ) {}

  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > this.max) {
      this.fail(new HttpBodyTooLargeError(this.max));
      return;
    }
    if (this.reader !== null) {
      if (!this.reader.push(chunk)) this.owner.pauseInput();
      return;
    }
    if (this.failure !== null) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.collect === null && this.queued > QUEUE_LIMIT) this.owner.pauseInput();
  }

  end(): void {
    this.ended = true;
    if (this.reader !== null) this.reader.push(null);
    else if (this.collect !== null) this.resolveCollect();
  }

  /** The client went away before the body's end. */
  abort(): void {
    if (!this.ended) this.fail(new Error("the client closed the connection before the request's body ended"));
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.queue = [];
    this.queued = 0;
    if (this.reader !== null) this.reader.destroy(err);
    else if (this.collect !== null) {
      const c = this.collect;
      this.collect = null;
      c.reject(err);
    }
  }

  private take(max: number): void {
    if (this.taken) throw new Error("the request's body was already taken");
    this.taken = true;
    this.max = max;
    if (!this.ended && this.expectContinue) this.owner.sendContinue();
    if (this.received > max) this.fail(new HttpBodyTooLargeError(max));
  }

  whole(max: number): Promise<Buffer> {
    this.take(max);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.collect = { resolve, reject, max };
      if (this.ended) this.resolveCollect();
      else this.owner.resumeInput();
    });
  }

  private resolveCollect(): void {
    const c = this.collect!;
    this.collect = null;
    const q = this.queue;
    this.queue = [];
    c.resolve(q.length === 1 ? q[0]! : Buffer.concat(q, this.queued));
  }

  stream(max: number): Readable {
    this.take(max);
    const reader = new BodyStream(this.owner);
    if (this.failure !== null) {
      reader.destroy(this.failure);
      return reader;
    }
    this.reader = reader;
    for (const c of this.queue) reader.push(c);
    this.queue = [];
    this.queued = 0;
    if (this.ended) reader.push(null);
    else this.owner.resumeInput();
    return reader;
  }
}

class BodyStream extends Readable {
  constructor(private readonly owner: BodyOwner) {
    super({ highWaterMark: QUEUE_LIMIT });
  }

  override _read(): void {
    this.owner.resumeInput();
  }
}

const EMPTY = Buffer.alloc(0);

export class H1Request implements FerryRequest {
  private headersCache: Record<string, string | string[]> | null = null;

  constructor(
    private readonly h: H1Head,
    readonly rawPath: string,
    readonly query: string,
    readonly host: string,
    readonly remoteAddress: string,
    readonly secure: boolean,
    /** null when the request has no body. */
    readonly bodyIn: H1Body | null,
    private readonly maxBodySize: number,
  ) {}

  get method(): string {
    return this.h.method;
  }

  get httpVersion(): string {
    return this.h.versionMinor === 1 ? "1.1" : "1.0";
  }

  get rawHeaders(): readonly string[] {
    return this.h.rawHeaders;
  }

  get hasBody(): boolean {
    return this.bodyIn !== null;
  }

  get headers(): Record<string, string | string[]> {
    if (this.headersCache === null) this.headersCache = headersObject(this.h.rawHeaders);
    return this.headersCache;
  }

  body(limit = this.maxBodySize): Promise<Buffer> {
    const max = Math.min(limit, this.maxBodySize);
    return this.bodyIn === null ? Promise.resolve(EMPTY) : this.bodyIn.whole(max);
  }

  stream(limit = this.maxBodySize): Readable {
    const max = Math.min(limit, this.maxBodySize);
    return this.bodyIn === null ? Readable.from([]) : this.bodyIn.stream(max);
  }
}
