/**
 * The request body as one attempt at an upstream sees it. It reads from the
 * client only when the upstream connection asks for bytes, and destroying it
 * (the attempt failed) leaves the client's body untouched unless some of it
 * was already sent. So a connect failure can be retried on another upstream
 * with the body intact, and a body already partly sent is never replayed.
 */
import { Readable } from "node:stream";

export class AttemptBody extends Readable {
  /** True once any byte was taken from the client's body. */
  started = false;
  private attached = false;

  constructor(private readonly source: Readable) {
    super();
    // Errors are watched from the start (a body over the limit can fail before the upstream asks for it).
    if (source.errored) queueMicrotask(() => this.destroy(source.errored as Error));
    else source.once("error", this.onError);
  }

  private readonly onData = (c: Buffer) => {
    this.started = true;
    if (!this.push(c)) this.source.pause();
  };
  private readonly onEnd = () => this.push(null);
  private readonly onError = (err: Error) => this.destroy(err);

  override _read(): void {
    if (!this.attached) {
      this.attached = true;
      this.source.on("data", this.onData);
      this.source.once("end", this.onEnd);
      if (this.source.readableEnded) this.push(null);
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.source.removeListener("data", this.onData);
    this.source.removeListener("end", this.onEnd);
    this.source.removeListener("error", this.onError);
    this.source.pause();
    // Part of the body went to a failed attempt: it cannot be sent again, so the client's body is dropped.
    if (this.started && !this.source.readableEnded) this.source.destroy();
    done(err);
  }
}
