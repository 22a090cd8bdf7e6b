/**
 * The HTTP/2 sessions of one server: which are open, how many streams each
 * has, since when it has had none (idle), and how many streams its client
 * cancelled this second (rapid reset, CVE-2023-44487).
 *
 * Idle sessions are found by one sweep a few times per `idleTimeout`, as the
 * HTTP/1.1 engine finds its expired connections, not by node's session
 * timer: that timer is refreshed on every frame written or read, a clock
 * read and a timer-list move per write (about 0.3 µs of CPU a response).
 * A session is idle when no stream is open on it, WebSockets (RFC 8441)
 * included, so a quiet WebSocket keeps its connection and a slow response
 * is never cut by the idle timeout. With `idleTimeout: 0` a session is
 * closed as soon as it has no stream open, as an HTTP/1.1 connection is.
 *
 * The same sweep holds HTTP/2 to `requestTimeout`, as HTTP/1.1 is: a
 * stream whose client has not finished sending its request (its body) in
 * that time is answered 408 and reset (or only reset, when its answer has
 * begun), so a client cannot hold a stream, and with it the connection and
 * whatever upstream request waits on the body, by never ending it.
 */
import type http2 from "node:http2";
import type { ServerHttp2Session, ServerHttp2Stream } from "node:http2";
import { constants } from "node:http2";
import { performance } from "node:perf_hooks";
import { timerMs, turnWallNow } from "../../core/clock.js";

/** Most streams a client may have open at once on one connection (advertised in SETTINGS). */
export const MAX_CONCURRENT_STREAMS = 100;

/**
 * Streams a client may cancel before their reply is done, per session and
 * second. nghttp2 sends GOAWAY past its own budget but node keeps the
 * session (and its streams) alive; past this one the session is destroyed at once.
 */
export const MAX_RESETS_PER_SECOND = 2 * MAX_CONCURRENT_STREAMS;

interface SessionState {
  /** Streams open now. */
  streams: number;
  /** Epoch ms when the last stream closed (or the session began). */
  idleSince: number;
  /** The second (of `performance.now()`) the resets below were counted in. */
  resetWindow: number;
  resets: number;
  /** Streams whose client is still sending its request, with their deadline (epoch ms); made at the first. */
  sending: Map<ServerHttp2Stream, number> | null;
}

const kState = Symbol("ferry.h2state");
type Tracked = ServerHttp2Session & { [kState]?: SessionState };

/** The limits the sweep holds sessions to, as they are now (they change on reload). */
export interface SweepLimits {
  readonly idleTimeout: number;
  readonly requestTimeout: number;
}

/** A stream that ran out of `requestTimeout`, for the caller to report; `answered`: its answer had begun (no 408). */
export type OnRequestTimeout = (stream: ServerHttp2Stream, answered: boolean) => void;

/** A server's open sessions and its sweep. */
export class H2Sessions {
  readonly open = new Set<ServerHttp2Session>();
  private sweeper: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly limits: () => SweepLimits,
    private readonly onRequestTimeout: OnRequestTimeout = () => {},
  ) {}

  /** A new session: tracked until it closes. */
  add(session: ServerHttp2Session): void {
    const state: SessionState = {
      streams: 0,
      idleSince: Date.now(),
      resetWindow: -1,
      resets: 0,
      sending: null,
    };
    (session as Tracked)[kState] = state;
    this.open.add(session);
    session.once("close", () => this.open.delete(session));
    this.schedule();
  }

  /** Stops sweeping (a stop or a reload closes the sessions itself). */
  stop(): void {
    this.stopped = true;
    if (this.sweeper !== null) clearTimeout(this.sweeper);
    this.sweeper = null;
  }

  /** Sweeps a few times per idle and request timeout, and only while sessions are open. */
  private schedule(): void {
    if (this.sweeper !== null || this.stopped) return;
    const l = this.limits();
    // A limit of 0 is off for the request deadline: it does not make the sweep busier.
    const shortest = Math.min(l.idleTimeout, l.requestTimeout > 0 ? l.requestTimeout : 8000);
    const every = Math.max(25, Math.min(1000, Math.floor(shortest / 8)));
    this.sweeper = setTimeout(() => {
      this.sweeper = null;
      this.sweep();
      if (this.open.size > 0) this.schedule();
    }, timerMs(every));
    this.sweeper.unref();
  }

  private sweep(): void {
    const idleMs = this.limits().idleTimeout;
    const now = Date.now();
    for (const s of this.open) {
      const st = (s as Tracked)[kState];
      if (st === undefined || s.destroyed) continue;
      if (st.sending !== null && st.sending.size > 0) this.sweepSending(st.sending, now);
      if (st.streams > 0 || s.closed) continue;
      if (now - st.idleSince >= idleMs) s.close();
    }
  }

  private sweepSending(sending: Map<ServerHttp2Stream, number>, now: number): void {
    for (const [stream, deadline] of sending) {
      if (now < deadline) continue;
      sending.delete(stream);
      if (stream.destroyed || stream.closed) continue;
      // Asked once, at the deadline: has the client ended its side (END_STREAM)?
      let done = false;
      try {
        done = stream.state.remoteClose === 1;
      } catch {
        continue;
      }
      if (done) continue;
      (stream as TrackedStream)[kTimedOut] = true;
      // The sweep runs on a timer: nothing here may throw out of it.
      try {
        this.onRequestTimeout(stream, stream.headersSent);
        if (!stream.headersSent) {
          const body = "request timeout\n";
          stream.respond({
            ":status": 408,
            "content-type": "text/plain; charset=utf-8",
            "content-length": body.length,
          });
          stream.end(body);
        }
        // NO_ERROR after a whole answer tells the client to stop sending (RFC 9113 §8.1); CANCEL cuts one under way.
        stream.close(
          stream.headersSent && stream.writableEnded ? constants.NGHTTP2_NO_ERROR : constants.NGHTTP2_CANCEL,
        );
      } catch {
        stream.destroy();
      }
    }
  }
}

/** The session a stream was opened on (node forgets it when the stream is destroyed, before `close`). */
const kOwner = Symbol("ferry.h2owner");
/** Ferry reset the stream itself (requestTimeout): not a reset of the client's. */
const kTimedOut = Symbol("ferry.h2timedout");
type TrackedStream = ServerHttp2Stream & { [kOwner]?: Tracked; [kTimedOut]?: boolean };

/**
 * Counts a new stream on its session until it closes; a stream the client
 * cancels counts toward its budget. A stream whose request goes on past its
 * headers (a body) gets `requestTimeoutMs` to end it.
 */
export function trackStream(stream: ServerHttp2Stream, requestTimeoutMs: number): void {
  const session = stream.session as Tracked | undefined;
  const st = session?.[kState];
  if (st === undefined) return;
  st.streams++;
  (stream as TrackedStream)[kOwner] = session;
  if (!stream.endAfterHeaders && requestTimeoutMs > 0) {
    st.sending ??= new Map();
    st.sending.set(stream, turnWallNow() + requestTimeoutMs);
  }
  stream.on("close", onStreamClose);
  // Counted when node reports it, in the middle of the read that carried the reset, not a tick later at `close`:
  // a flood is cut within its first read. Emitted once at most: `on` spares the wrapper `once` makes.
  stream.on("aborted", onAborted);
}

function onStreamClose(this: TrackedStream): void {
  const st = this[kOwner]?.[kState];
  if (st === undefined) return;
  if (--st.streams === 0) st.idleSince = Date.now();
  st.sending?.delete(this);
}

function onAborted(this: TrackedStream): void {
  const session = this[kOwner];
  const st = session?.[kState];
  if (session === undefined || st === undefined || session.destroyed || this[kTimedOut] === true) return;
  const second = Math.floor(performance.now() / 1000);
  if (st.resetWindow !== second) {
    st.resetWindow = second;
    st.resets = 0;
  }
  if (++st.resets > MAX_RESETS_PER_SECOND) {
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  }
}

/** The sessions of a server made by `createH2Server`. */
export type H2ServerWithSessions = http2.Http2Server & { [kSessions]?: H2Sessions };
export const kSessions = Symbol("ferry.h2sessions");
