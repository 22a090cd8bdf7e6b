/**
 * Ferry's WebSocket client (for `ferry ws` and the tests): the handshake
 * over `net`/`tls`, masked frames out, the same receiver as the server in
 * client mode, and permessage-deflate for what the server sends.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import net from "node:net";
import tls from "node:tls";
import { CloseCode, Opcode } from "./constants.js";
import { Inflater } from "./deflate.js";
import { closePayload, encodeFrame } from "./frame.js";
import { acceptValue } from "./handshake.js";
import { type FrameSink, Receiver } from "./receiver.js";

/** Options of `connectWebSocket`. */
export interface ClientOptions {
  /** Extra request headers (e.g. Origin). */
  headers?: Record<string, string>;
  protocols?: string[];
  /** Offer permessage-deflate. Default true. */
  deflate?: boolean;
  /** Largest message accepted. Default 64 MiB. */
  maxPayload?: number;
  /** Handshake timeout in ms. Default 10 s. */
  timeout?: number;
  /** Connect to this address instead of the URL's host (the Host header keeps the URL's). */
  connectHost?: string;
  /** Extra roots to trust for wss:// (PEM), e.g. Ferry's local CA. */
  ca?: string;
}

/** Why the handshake failed (with the HTTP status when there was one). */
export class HandshakeError extends Error {
  readonly status: number;
  constructor(message: string, status = 0) {
    super(message);
    this.status = status;
  }
}

/** An open client connection. */
export class WebSocketClient extends EventEmitter implements FrameSink {
  readonly socket: net.Socket;
  readonly protocol: string | null;
  readonly extensions: string;
  private readonly receiver: Receiver;
  private closed = false;
  private closeSent = false;

  /** @internal use `connectWebSocket`. */
  constructor(
    socket: net.Socket,
    protocol: string | null,
    extensions: string,
    maxPayload: number,
    rest: Buffer,
  ) {
    super();
    this.socket = socket;
    this.protocol = protocol;
    this.extensions = extensions;
    this.receiver = new Receiver(this, false, maxPayload);
    if (/permessage-deflate/i.test(extensions))
      this.receiver.inflater = new Inflater(/server_no_context_takeover/i.test(extensions));
    socket.on("data", (chunk: Buffer) => this.receiver.push(chunk));
    socket.on("error", (err) => this.emit("error", err));
    socket.on("close", () => this.finish(CloseCode.Abnormal, ""));
    if (rest.length > 0) queueMicrotask(() => this.receiver.push(rest));
  }

  /** Sends a text (string) or binary (Buffer) message. */
  send(data: string | Buffer): void {
    if (this.closeSent) return;
    const binary = Buffer.isBuffer(data);
    this.socket.write(
      encodeFrame(binary ? Opcode.Binary : Opcode.Text, binary ? data : Buffer.from(data), { mask: true }),
    );
  }

  /** Writes raw bytes (tests use it to send what a client must not). */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  ping(data: Buffer = Buffer.alloc(0)): void {
    this.socket.write(encodeFrame(Opcode.Ping, data, { mask: true }));
  }

  /** Starts the closing handshake. */
  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.closeSent || this.socket.destroyed) return;
    this.closeSent = true;
    this.socket.write(encodeFrame(Opcode.Close, closePayload(code, reason), { mask: true }));
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  onMessage(data: Buffer, binary: boolean): void {
    this.emit("message", data, binary);
  }

  onPing(data: Buffer): void {
    this.socket.write(encodeFrame(Opcode.Pong, data, { mask: true }));
    this.emit("ping", data);
  }

  onPong(data: Buffer): void {
    this.emit("pong", data);
  }

  onCloseFrame(code: number, reason: string): void {
    if (!this.closeSent) {
      this.closeSent = true;
      this.socket.write(
        encodeFrame(Opcode.Close, closePayload(code === CloseCode.NoStatus ? 1005 : code, ""), {
          mask: true,
        }),
      );
    }
    this.socket.end();
    this.finish(code, reason);
  }

  onProtocolError(code: number, reason: string): void {
    if (!this.closeSent) {
      this.closeSent = true;
      this.socket.write(encodeFrame(Opcode.Close, closePayload(code, reason), { mask: true }));
    }
    this.socket.end();
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    (this.receiver.inflater as Inflater | null)?.close();
    this.emit("close", code, reason);
  }
}

/** Opens a WebSocket to a `ws://` or `wss://` URL. */
export function connectWebSocket(url: string, options: ClientOptions = {}): Promise<WebSocketClient> {
  const u = new URL(url);
  const secure = u.protocol === "wss:" || u.protocol === "https:";
  if (!secure && u.protocol !== "ws:" && u.protocol !== "http:")
    return Promise.reject(new HandshakeError(`${url}: not a ws:// or wss:// URL`));
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || (secure ? 443 : 80));
  const key = randomBytes(16).toString("base64");
  const lines = [
    `GET ${u.pathname}${u.search} HTTP/1.1`,
    `Host: ${u.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  if (options.protocols?.length) lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(", ")}`);
  if (options.deflate !== false)
    lines.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
  for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
  const request = `${lines.join("\r\n")}\r\n\r\n`;
  const target = options.connectHost ?? host;
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({
          host: target,
          port,
          servername: net.isIP(host) ? undefined : host,
          ALPNProtocols: ["http/1.1"],
          ...(options.ca === undefined ? {} : { ca: [...tls.rootCertificates, options.ca] }),
        })
      : net.connect({ host: target, port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(
      () => fail(new HandshakeError("handshake timed out")),
      options.timeout ?? 10_000,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once(secure ? "secureConnect" : "connect", () => socket.write(request));
    socket.on("error", fail);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buffered.length > 16384) fail(new HandshakeError("handshake response too large"));
        return;
      }
      socket.removeListener("data", onData);
      socket.removeListener("error", fail);
      clearTimeout(timer);
      const head = buffered.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? "")?.[1] ?? 0);
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      if (status !== 101) return fail(new HandshakeError(`server answered ${head[0]}`, status));
      if (headers.get("sec-websocket-accept") !== acceptValue(key))
        return fail(new HandshakeError("wrong Sec-WebSocket-Accept"));
      const extensions = headers.get("sec-websocket-extensions") ?? "";
      if (extensions !== "" && (options.deflate === false || !/^permessage-deflate\b/i.test(extensions)))
        return fail(new HandshakeError(`server chose an extension not offered: ${extensions}`));
      resolve(
        new WebSocketClient(
          socket,
          headers.get("sec-websocket-protocol") ?? null,
          extensions,
          options.maxPayload ?? 64 * 1024 * 1024,
          buffered.subarray(end + 4),
        ),
      );
    };
    socket.on("data", onData);
  });
}
