/**
 * Ferry's own request and reply types. Only `engine/node-http.ts` sees
 * node's IncomingMessage/ServerResponse; site logic sees these.
 */

/** A request as the site logic sees it. */
export interface FerryRequest {
  /** Upper-case method, e.g. `GET`. */
  method: string;
  /** The path part of the request target, still percent-encoded. */
  rawPath: string;
  /** The query string without `?`, or "". */
  query: string;
  /** Lower-case host name without port, or "" when the request named none. */
  host: string;
  /** Lower-case header names (as node parsed them). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Headers as received, flat `[name, value, …]`, case and repeats kept (what a proxy forwards). */
  readonly rawHeaders: readonly string[];
  /** `1.0` or `1.1`. */
  httpVersion: string;
  remoteAddress: string;
  /** True when the request came over TLS. */
  readonly secure: boolean;
  /**
   * True when a body follows the head: HTTP/1.1 framing (Content-Length
   * above 0, or chunked), or an HTTP/2 HEADERS frame without END_STREAM
   * (whose body needs no Content-Length).
   */
  readonly hasBody: boolean;
  /**
   * The whole body, up to `limit` bytes (never more than the listener's
   * `maxBodySize`, the default). Rejects with `HttpBodyTooLargeError` past it.
   */
  body(limit?: number): Promise<Buffer>;
  /** The body as a stream with the same limit (the stream fails with `HttpBodyTooLargeError`). */
  stream(limit?: number): import("node:stream").Readable;
}

/**
 * Bytes that come as they come (a proxied response, a generated stream):
 * the engine writes them with backpressure (the source is paused while the
 * client is not reading) and destroys the source if the client goes away.
 */
export interface StreamBody {
  kind: "stream";
  stream: import("node:stream").Readable;
}

/** A byte range of a file to stream, optionally compressed on the way. */
export interface FileBody {
  kind: "file";
  path: string;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
  /** Compress the stream on the fly with this coding. */
  encode: {
    coding: "gzip" | "br";
    /** Makes the compressor: the handler's policy (settings); the engine only pipes through it. */
    stream: () => import("node:stream").Transform;
  } | null;
}

/** What a handler answers: status, headers as a flat `[name, value, …]` list, and a body. */
export interface Reply {
  status: number;
  headers: string[];
  /** Bytes, a file range to stream, or nothing (HEAD, 304, 204). */
  body: Buffer | FileBody | StreamBody | null;
  /** Which site and location answered (for logs and the inspector). */
  site: string;
  location: string;
  /** What kind of handler answered, when it is not a file (e.g. `publish`); shown by the inspector. */
  handler?: string;
  /** For a proxied request: the upstream side, for the access log and the inspector. */
  upstream?: import("../core/diagnostics.js").UpstreamExchange;
  /**
   * With status 101: takes the connection over once the engine has written
   * the 101 and its headers (`head` holds bytes the client sent after its request).
   */
  upgrade?: (socket: import("node:net").Socket, head: Buffer) => void;
}

/** Turns a request into a reply; synchronous when it can be (cache hits). */
export type Handler = (req: FerryRequest) => Reply | Promise<Reply>;

/**
 * Answers a request that asks to upgrade its connection. A 101 reply carries
 * `upgrade`, which takes the connection over after the engine wrote the 101;
 * any other reply is written and the connection closes.
 */
export type UpgradeHandler = (req: FerryRequest) => Reply | Promise<Reply>;
