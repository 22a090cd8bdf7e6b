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
 * is never cut by the idle timeout.
 *
 * The same sweep holds HTTP/2 to `requestTimeout`, as HTTP/1.1 is: a
 * stream whose client has not finished sending its request (its body) in
 * that time is answered 408 and reset (or only reset, when its answer has
 * begun), so a client cannot hold a stream, and with it the connection and
 * whatever upstream request waits on the body, by never ending it.
 *
 * And it holds HTTP/2 to `sendTimeout`, as HTTP/1.1 is (nginx's
 * send_timeout): an answer whose unsent bytes have not moved for that long
 * is reset (CANCEL). A client that stops granting flow-control window to a
 * stream, or stops reading the connection at all, cannot hold the answer,
 * its file or its upstream response, and with them the connection.
 */
import type http2 from "node:http2";
import type { ServerHttp2Session, ServerHttp2Stream } from "node:http2";
import { constants } from "node:http2";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import { timerMs, turnWallNow } from "../../core/clock.js";
import { resetConnection } from "./node-send.js";

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
  /** Streams whose answer is being sent. */
  out: Map<ServerHttp2Stream, SendWatch> | null;
  /** The connection under the session (node's own destroy ends it gracefully, which waits on the client). */
  socket: net.Socket | null;
  /** The connection's bytes written when the sweep last looked, and when (epoch ms) that count last grew. */
  written: number;
  movedAt: number;
}

/** An answer being sent, as the sweep last saw it. */
interface SendWatch {
  /** The bytes the answer has handed to the stream (what still waits in it is taken off: the rest went out). */
  readonly progress: () => number;
  /** What had gone out when the sweep last looked. */
  seen: number;
  /** Since when (epoch ms) bytes have waited on the client without progress; 0: none waited at the last look. */
  since: number;
  /** Reset for the send timeout at `since`: if even the reset cannot go out, the whole connection is stuck. */
  reset: boolean;
}

const kState = Symbol("ferry.h2state");
type Tracked = ServerHttp2Session & { [kState]?: SessionState };

/** The limits the sweep holds sessions to, as they are now (they change on reload). */
export interface SweepLimits {
  readonly idleTimeout: number;
  readonly requestTimeout: number;
  readonly sendTimeout: number;
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
      out: null,
      socket: null,
      written: 0,
      movedAt: Date.now(),
    };
    (session as Tracked)[kState] = state;
    session.once("connect", (_session, socket) => {
      state.socket = socket;
    });
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
    const shortest = Math.min(l.idleTimeout, l.requestTimeout, l.sendTimeout);
    const every = Math.max(25, Math.min(1000, Math.floor(shortest / 8)));
    this.sweeper = setTimeout(() => {
      this.sweeper = null;
      this.sweep();
      if (this.open.size > 0) this.schedule();
    }, timerMs(every));
    this.sweeper.unref();
  }

  private sweep(): void {
    const { idleTimeout, sendTimeout } = this.limits();
    const now = Date.now();
    for (const s of this.open) {
      const st = (s as Tracked)[kState];
      if (st === undefined || s.destroyed) continue;
      if (st.sending !== null && st.sending.size > 0) this.sweepSending(st.sending, now);
      if (st.out !== null && st.out.size > 0) {
        // node writes what all streams have ready in one batch, and each stream's part counts as sent only
        // when the whole batch is: a connection whose bytes still move is a client that reads.
        const written = st.socket?.bytesWritten ?? 0;
        if (written !== st.written) {
          st.written = written;
          st.movedAt = now;
        }
        sweepOut(s, st, st.out, now, sendTimeout);
      }
      if (s.destroyed) continue;
      if (st.streams > 0) continue;
      if (!s.closed) {
        if (now - st.idleSince >= idleTimeout) s.close();
      } else if (now - st.idleSince >= idleTimeout + sendTimeout) {
        // Closed, with no stream left, and still not gone: its GOAWAY waits on a client that reads nothing.
        cut(s, st);
      }
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

/**
 * Resets the answers that have had bytes waiting on the client, with no
 * progress, on a connection that has not moved either, for `sendMs`.
 * Progress is what has gone out: what the answer handed to the stream less
 * what still waits in it (the unsent count alone does not tell: a piece
 * going out is replaced by the next of the same size). An answer with
 * nothing unsent waits on its source (a quiet event stream, a slow
 * upstream), which is not the client's fault. A stream starved of window
 * while its connection moves is left alone until the connection stops
 * (at most MAX_CONCURRENT_STREAMS of them). A stream whose reset has not
 * gone out either after another `sendMs` is on a connection the client does
 * not read at all: the session is destroyed (its RST_STREAM and GOAWAY
 * would wait forever).
 */
function sweepOut(
  session: ServerHttp2Session,
  st: SessionState,
  out: Map<ServerHttp2Stream, SendWatch>,
  now: number,
  sendMs: number,
): void {
  for (const [stream, w] of out) {
    if (stream.destroyed) {
      out.delete(stream);
      continue;
    }
    const still = now - st.movedAt >= sendMs;
    if (w.reset) {
      if (now - w.since >= sendMs && still) {
        cut(session, st);
        return;
      }
      continue;
    }
    const pending = stream.writableLength;
    const sent = w.progress() - pending;
    if (pending === 0 || sent !== w.seen) {
      w.seen = sent;
      w.since = pending === 0 ? 0 : now;
    } else if (w.since === 0) w.since = now;
    else if (now - w.since >= sendMs && still) {
      if (stream.closed) {
        // Already closing (a 408 after requestTimeout, say): a CANCEL now would be a no-op.
        out.delete(stream);
        stream.destroy();
        continue;
      }
      w.reset = true;
      w.since = now;
      (stream as TrackedStream)[kTimedOut] = true;
      try {
        stream.close(constants.NGHTTP2_CANCEL);
      } catch {
        stream.destroy();
      }
    }
  }
}

/** Ends a session whose client reads nothing: at once, with its connection (a graceful end would wait on it). */
function cut(session: ServerHttp2Session, st: SessionState): void {
  session.destroy();
  if (st.socket !== null) resetConnection(st.socket);
}

/** Ends a session at once, with its connection: the end of a graceful stop's grace. */
export function cutSession(session: ServerHttp2Session): void {
  const st = (session as Tracked)[kState];
  if (st === undefined) session.destroy();
  else cut(session, st);
}

/** The session a stream was opened on (node forgets it when the stream is destroyed, before `close`). */
const kOwner = Symbol("ferry.h2owner");
/** Ferry reset the stream itself (requestTimeout, sendTimeout): not a reset of the client's. */
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
  st.out?.delete(this);
}

/**
 * The stream's answer is being sent: held to `sendTimeout` until the stream
 * closes. `progress`: the bytes handed to the stream so far; an answer
 * written in one piece, before this call, passes `noProgress` (nothing more
 * is handed: only what waits in the stream changes).
 */
export function watchSend(stream: ServerHttp2Stream, progress: () => number): void {
  const st = (stream as TrackedStream)[kOwner]?.[kState];
  if (st === undefined) return;
  st.out ??= new Map();
  st.out.set(stream, { progress, seen: progress() - stream.writableLength, since: 0, reset: false });
}

/** The `progress` of an answer already written in one piece. */
export function noProgress(): number {
  return 0;
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
