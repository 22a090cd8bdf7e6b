import type net from "node:net";
import { Writable } from "node:stream";

/**
 * A streamed body on the socket: chunked (RFC 9112 §7.1) or as it is
 * (a known length, or HTTP/1.0 to the close). Each write completes when
 * the socket took it, so the source is paused while the client is behind.
 */
export class H1Out extends Writable {
  constructor(
    private readonly socket: net.Socket,
    private readonly chunked: boolean,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const s = this.socket;
    if (s.destroyed) {
      done(new Error("the client went away"));
      return;
    }
    if (!this.chunked) {
      s.write(chunk, done);
      return;
    }
    if (chunk.length === 0) {
      done();
      return;
    }
    s.cork();
    s.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    s.write(chunk);
    s.write("\r\n", "latin1", done);
    s.uncork();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.chunked && !this.socket.destroyed) this.socket.write("0\r\n\r\n", "latin1", done);
    else done();
  }
}
