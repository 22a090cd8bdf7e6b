/**
 * The access log's writer, after nginx's `access_log … buffer=64k flush=1s`:
 * lines are encoded straight into a 64 KiB buffer and written with one
 * synchronous `write(2)` when it fills and once a second, so a busy server
 * makes about a hundred write calls a second instead of one per request
 * (no thread pool, no string joins, no per-line byte counting).
 *
 * It never blocks on a slow reader and never crashes Ferry: a pipe that is
 * full (EAGAIN) keeps the bytes queued for the next flush; past `maxQueued`
 * bytes the oldest are dropped and counted. Any other write error (a full
 * disk, a closed descriptor) drops that chunk and is reported through
 * `onError` at most once a minute per code. `reopen()` opens the file again
 * (SIGUSR1, after logrotate moved it); `close()` writes everything left,
 * retrying a full pipe for up to a second.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import path from "node:path";

const CHUNK = 64 * 1024;
/** Most bytes kept waiting for a reader that does not keep up. */
const MAX_QUEUED = 16 * 1024 * 1024;

export type WriterError = (code: "ERR_ACCESS_LOG_WRITE" | "ERR_ACCESS_LOG_REOPEN", message: string) => void;

export class LineWriter {
  private fd: number;
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  /** Full chunks not yet written (a full pipe), oldest first. */
  private readonly queue: Buffer[] = [];
  private queued = 0;
  /** Bytes dropped since the last report. */
  private dropped = 0;
  private readonly reported = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  /** `dest`: 1 (stdout), 2 (stderr) or a file path (appended to; its folder is created). */
  constructor(
    private readonly dest: number | string,
    private readonly onError: WriterError,
    private readonly maxQueued = MAX_QUEUED,
  ) {
    this.fd = typeof dest === "number" ? dest : openAppend(dest);
    this.timer = setInterval(() => this.flush(), 1000);
    this.timer.unref();
  }

  /** Adds one line (with its newline). */
  write(line: string): void {
    if (this.closed) return;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.pos + line.length * 3 > CHUNK) {
      this.flush();
      if (line.length * 3 > CHUNK) {
        this.enqueue(Buffer.from(line, "utf8"));
        this.flush();
        return;
      }
    }
    this.pos += this.buf.write(line, this.pos, "utf8");
  }

  /**
   * Adds one line that `fill` encodes in place (at most `max` bytes, from the
   * position it is given; it returns the position after the line).
   */
  writeWith<T>(max: number, fill: (buf: Buffer, pos: number, arg: T) => number, arg: T): void {
    if (this.closed) return;
    if (this.pos + max > CHUNK) {
      this.flush();
      if (max > CHUNK) {
        const big = Buffer.allocUnsafe(max);
        this.enqueue(big.subarray(0, fill(big, 0, arg)));
        this.flush();
        return;
      }
    }
    this.pos = fill(this.buf, this.pos, arg);
  }

  /** Writes what is buffered now (called once a second, and when a chunk fills). */
  flush(): void {
    // Nothing queued (the usual case): the buffer goes out as it is, with no copy; what a full pipe
    // leaves of it is queued.
    if (this.queue.length === 0 && this.pos > 0) {
      const filled = this.pos;
      this.pos = 0;
      let n = 0;
      try {
        n = writeSync(this.fd, this.buf, 0, filled);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "EIO";
        if (code !== "EAGAIN") {
          this.dropped += filled;
          this.report("ERR_ACCESS_LOG_WRITE", code, `${(err as Error).message}`);
          return;
        }
      }
      if (n < filled) this.enqueue(Buffer.from(this.buf.subarray(n, filled)));
      return;
    }
    this.rotate();
    while (this.queue.length > 0) {
      const chunk = this.queue[0]!;
      let n: number;
      try {
        n = writeSync(this.fd, chunk);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "EIO";
        // A full pipe: the rest waits for the next flush.
        if (code === "EAGAIN") break;
        this.queue.shift();
        this.queued -= chunk.length;
        this.dropped += chunk.length;
        this.report("ERR_ACCESS_LOG_WRITE", code, `${(err as Error).message}`);
        continue;
      }
      if (n < chunk.length) {
        this.queue[0] = chunk.subarray(n);
        this.queued -= n;
        break;
      }
      this.queue.shift();
      this.queued -= chunk.length;
    }
  }

  /** Opens the file again (logrotate's SIGUSR1); the old one keeps being used when that fails. */
  reopen(): void {
    if (typeof this.dest === "number" || this.closed) return;
    this.flush();
    let fd: number;
    try {
      fd = openAppend(this.dest);
    } catch (err) {
      this.report("ERR_ACCESS_LOG_REOPEN", "open", `cannot reopen ${this.dest}: ${(err as Error).message}`);
      return;
    }
    const old = this.fd;
    this.fd = fd;
    try {
      closeSync(old);
    } catch {
      // Already gone.
    }
  }

  /** Writes everything left (waiting up to a second for a full pipe), then stops. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    const deadline = Date.now() + 1000;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (this.queue.length > 0 && Date.now() < deadline) {
      Atomics.wait(pause, 0, 0, 5);
      this.flush();
    }
    this.closed = true;
    if (this.queued > 0) {
      this.dropped += this.queued;
      this.report("ERR_ACCESS_LOG_WRITE", "close", "the reader did not take the last lines in time");
    }
    if (typeof this.dest !== "number")
      try {
        closeSync(this.fd);
      } catch {
        // Already gone.
      }
  }

  /** Moves the filled part of the buffer to the queue. */
  private rotate(): void {
    if (this.pos === 0) return;
    this.enqueue(Buffer.from(this.buf.subarray(0, this.pos)));
    this.pos = 0;
  }

  private enqueue(chunk: Buffer): void {
    this.queue.push(chunk);
    this.queued += chunk.length;
    while (this.queued > this.maxQueued && this.queue.length > 1) {
      const old = this.queue.shift()!;
      this.queued -= old.length;
      this.dropped += old.length;
      this.report("ERR_ACCESS_LOG_WRITE", "slow", "the access log's reader does not keep up");
    }
  }

  private report(code: "ERR_ACCESS_LOG_WRITE" | "ERR_ACCESS_LOG_REOPEN", key: string, message: string): void {
    const now = Date.now();
    const last = this.reported.get(key) ?? 0;
    if (now - last < 60_000) return;
    this.reported.set(key, now);
    const lost = this.dropped > 0 ? ` (${this.dropped} bytes of log lines lost)` : "";
    this.dropped = 0;
    this.onError(code, `${message}${lost}`);
  }
}

function openAppend(file: string): number {
  mkdirSync(path.dirname(file), { recursive: true });
  return openSync(file, "a", 0o644);
}
