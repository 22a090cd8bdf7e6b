/**
 * Ferry's request over node's IncomingMessage: the fields site logic reads,
 * and the body, whole (`body`) or as a stream (`stream`), never more than
 * the listener's `maxBodySize` nor the handler's own limit.
 */
import type { IncomingMessage } from "node:http";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { HttpBodyTooLargeError } from "../errors.js";
import type { FerryRequest } from "../types.js";

export class NodeRequest implements FerryRequest {
  constructor(
    readonly method: string,
    readonly rawPath: string,
    readonly query: string,
    readonly host: string,
    readonly headers: IncomingMessage["headers"],
    readonly httpVersion: string,
    readonly remoteAddress: string,
    readonly secure: boolean,
    /** @internal node's request, for the engine only. */
    readonly incoming: IncomingMessage,
    private readonly maxBodySize: number,
  ) {}

  get rawHeaders(): readonly string[] {
    return this.incoming.rawHeaders;
  }

  get hasBody(): boolean {
    const cl = this.headers["content-length"];
    return this.headers["transfer-encoding"] !== undefined || (cl !== undefined && cl !== "0");
  }

  body(limit = this.maxBodySize): Promise<Buffer> {
    const max = Math.min(limit, this.maxBodySize);
    const req = this.incoming;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.pause();
          req.removeListener("data", onData);
          reject(new HttpBodyTooLargeError(max));
          return;
        }
        chunks.push(c);
      };
      req.on("data", onData);
      req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      req.once("error", reject);
    });
  }

  stream(limit = this.maxBodySize): Readable {
    const counter = new BodyLimit(Math.min(limit, this.maxBodySize));
    this.incoming.once("error", (err) => counter.destroy(err));
    return this.incoming.pipe(counter);
  }
}

/** Passes body bytes through, and fails with HttpBodyTooLargeError past the limit. */
export class BodyLimit extends Transform {
  private size = 0;
  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) done(new HttpBodyTooLargeError(this.limit));
    else done(null, chunk);
  }
}
