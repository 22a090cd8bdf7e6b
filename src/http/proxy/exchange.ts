/**
 * One request to one upstream, as an undici dispatch handler (undici's
 * lowest-level API: no promise per step, no async resource, no body stream
 * of undici's own, headers as the raw pairs it read). The answer comes once
 * the upstream's head is in:
 *
 * - no body (HEAD, 204, 304): `body` is null and the rest is ignored;
 * - a small body of known length (up to `bufferMax`, not an event stream)
 *   is read whole first, as nginx's proxy buffering does for small answers:
 *   one write to the client; cut short by the upstream, it becomes a stream
 *   that gives what came and then fails, so the client's connection is cut;
 * - anything else streams: a Readable whose reads resume the upstream
 *   connection (backpressure), and whose destruction by a client that went
 *   away aborts the upstream request.
 *
 * `release` is called once, when the upstream connection is free again (the
 * response ended, or the request failed or was aborted).
 */
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { ByteStrings, lowerName } from "./byte-strings.js";

export interface UpstreamAnswer {
  status: number;
  /** `performance.now()` when the upstream's head came in (its first byte, near enough). */
  headAt: number;
  /** The upstream's response headers, flat `[name, value, …]` (bytes as latin1: they go back out unchanged). */
  headers: string[];
  body: Buffer | Readable | null;
}

/** What the exchange tells its owner. */
export interface ExchangeEvents {
  /** The head is in (or the body, for a small one). */
  answered(answer: UpstreamAnswer): void;
  /** The request failed before any answer (connect error, reset, timeout, bad response, the client's body). */
  failed(err: Error): void;
  /** The upstream cut the body short after the answer was given (never called for a client that left). */
  cut(err: Error): void;
  /** The upstream connection is free again. */
  release(): void;
}

const WAITING = 0;
const BUFFERING = 1;
const STREAMING = 2;
const IGNORING = 3;
const DONE = 4;

/** Upstream header names and values, the same strings for the same bytes (byte-strings.ts). */
const NAMES = new ByteStrings();
const VALUES = new ByteStrings();

/** Errors of a body stream are the exchange's to report (`cut`): a stream nobody reads must not throw them. */
function ignore(): void {}

/** A streamed response body: reading resumes the upstream connection; destroying it aborts the request. */
class UpstreamBody extends Readable {
  constructor(private readonly exchange: Exchange) {
    super();
    this.on("error", ignore);
  }

  override _read(): void {
    this.exchange.resumeUpstream();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.exchange.bodyDestroyed();
    done(err);
  }
}

export class Exchange implements Dispatcher.DispatchHandler {
  private state = WAITING;
  private abortUpstream: ((err: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private paused = false;
  private chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private headAt = 0;
  private headers: string[] = [];
  private stream: UpstreamBody | null = null;
  private released = false;

  constructor(
    private readonly method: string,
    private readonly bufferMax: number,
    private readonly events: ExchangeEvents,
  ) {}

  // --- undici's handler (legacy dispatch API, the one its Client calls directly) ---

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    // 1xx interim answers are not relayed (undici refuses 100 itself); the final answer follows.
    if (status < 200) return true;
    this.resume = resume;
    const headers: string[] = new Array(raw.length);
    let length = -1;
    let eventStream = false;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = NAMES.get(raw[i]!);
      const value = VALUES.get(raw[i + 1]!);
      headers[i] = name;
      headers[i + 1] = value;
      if (name.length === 14 && lowerName(name) === "content-length") length = Number(value);
      else if (name.length === 12 && lowerName(name) === "content-type")
        eventStream = value.startsWith("text/event-stream");
    }
    this.status = status;
    this.headers = headers;
    this.headAt = performance.now();
    const m = this.method;
    if (m === "HEAD" || status === 204 || status === 304) {
      this.state = IGNORING;
      this.events.answered({ status, headAt: this.headAt, headers, body: null });
      return true;
    }
    if (length >= 0 && length <= this.bufferMax && !eventStream) {
      this.state = BUFFERING;
      return true;
    }
    this.state = STREAMING;
    this.stream = new UpstreamBody(this);
    this.events.answered({ status, headAt: this.headAt, headers, body: this.stream });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.state === BUFFERING) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return true;
    }
    if (this.state === STREAMING) {
      if (this.stream!.push(chunk)) return true;
      this.paused = true;
      return false;
    }
    return true;
  }

  onComplete(): void {
    const was = this.state;
    this.state = DONE;
    if (was === BUFFERING) {
      const c = this.chunks;
      const body = c.length === 1 ? c[0]! : Buffer.concat(c, this.size);
      this.chunks = [];
      this.events.answered({ status: this.status, headAt: this.headAt, headers: this.headers, body });
    } else if (was === STREAMING) this.stream!.push(null);
    this.free();
  }

  onError(err: Error): void {
    const was = this.state;
    this.state = DONE;
    this.free();
    if (was === WAITING) this.events.failed(err);
    else if (was === BUFFERING) {
      this.events.cut(err);
      // What came, then the failure: the client's connection is cut after those bytes, never a whole-looking reply.
      const chunks = this.chunks;
      this.chunks = [];
      const cut = new Readable({
        read() {
          const c = chunks.shift();
          if (c !== undefined) this.push(c);
          else this.destroy(err);
        },
      });
      cut.on("error", ignore);
      this.events.answered({ status: this.status, headAt: this.headAt, headers: this.headers, body: cut });
    } else if (was === STREAMING && this.stream !== null && !this.stream.destroyed) {
      this.events.cut(err);
      this.stream.destroy(err);
    }
  }

  // --- the body stream's side ---

  /** The client reads again: the upstream connection may send more. */
  resumeUpstream(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resume?.();
  }

  /** The body was destroyed before the upstream finished it (the client went away): the request is aborted. */
  bodyDestroyed(): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    this.abortUpstream?.(new Error("the client went away"));
    this.free();
  }

  private free(): void {
    if (this.released) return;
    this.released = true;
    this.events.release();
  }
}
