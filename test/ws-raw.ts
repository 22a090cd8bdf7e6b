/**
 * A deliberately independent raw WebSocket peer for the RFC tests: it writes
 * any frame (bad ones included) and parses what the server sends with its
 * own small parser, so Ferry's server is not only checked with Ferry's code.
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import zlib from "node:zlib";
import { HttpApp } from "../src/app/http.js";
import type { UserRealtime } from "../src/core/config/types.js";
import { buildConfig } from "./engine-under-test.js";
import { tmpSite } from "./helpers.js";

/** A frame the server sent. */
export interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** What the peer saw when the connection ended. */
export interface Ending {
  /** Close code the server sent (0 if none). */
  code: number;
  reason: string;
  /** Frames that came before the close. */
  frames: Frame[];
}

/** A realtime server for one test. */
export interface RealtimeServer {
  port: number;
  service: HttpApp;
  url: string;
  close(): Promise<void>;
}

/** Starts Ferry with one site serving a temp folder and the given realtime endpoints. */
export async function startRealtime(
  endpoints: UserRealtime[],
  site: Record<string, unknown> = {},
): Promise<RealtimeServer> {
  const root = tmpSite({ "index.html": "<h1>hi</h1>" });
  const config = buildConfig(
    { http: { listen: ["127.0.0.1:0"], sites: [{ root, realtime: endpoints, ...site }] } },
    { baseDir: root, source: null },
  );
  const service = await HttpApp.start(config.http!);
  const port = service.addresses[0]!.port;
  return { port, service, url: `ws://127.0.0.1:${port}`, close: () => service.close(200) };
}

/** Options for one frame written by the raw peer. */
export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
}

/** Encodes a frame the way a client (or a broken client) would. */
export function rawFrame(spec: FrameSpec): Buffer {
  const payload =
    typeof spec.payload === "string" ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  const mask = spec.mask !== false;
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (spec.fin === false ? 0 : 0x80) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  head[1] = (mask ? 0x80 : 0) | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(n, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(n), 2);
  const body = Buffer.from(payload);
  if (mask) {
    const key = randomBytes(4);
    key.copy(head, 2 + ext);
    for (let i = 0; i < n; i++) body[i] = body[i]! ^ key[i & 3]!;
  }
  return Buffer.concat([head, body]);
}

/** Compresses like a permessage-deflate client with no context takeover. */
export function deflatePayload(data: Buffer | string): Buffer {
  const out = zlib.deflateRawSync(typeof data === "string" ? Buffer.from(data) : data, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  return out.subarray(0, out.length - 4);
}

export function inflatePayload(data: Buffer): Buffer {
  return zlib.inflateRawSync(Buffer.concat([data, Buffer.from([0, 0, 0xff, 0xff])]), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}

export class RawPeer {
  readonly socket: net.Socket;
  readonly response: { status: number; headers: Record<string, string>; statusLine: string };
  private buf: Buffer;
  private frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  /** True once the server closed the TCP connection. */
  ended = false;

  private constructor(socket: net.Socket, response: RawPeer["response"], rest: Buffer) {
    this.socket = socket;
    this.response = response;
    this.buf = rest;
    socket.on("data", (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.parse();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {});
    this.parse();
  }

  /** Connects and sends a handshake (headers may be overridden or removed with null). */
  static async connect(
    port: number,
    path = "/ws",
    headers: Record<string, string | null> = {},
    method = "GET",
  ): Promise<RawPeer> {
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const all: Record<string, string | null> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
      "Sec-WebSocket-Version": "13",
      ...headers,
    };
    let req = `${method} ${path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(all)) if (v !== null) req += `${k}: ${v}\r\n`;
    socket.write(`${req}\r\n`);
    let buf = Buffer.alloc(0);
    const head = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no handshake response")), 5000);
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        const end = buf.indexOf("\r\n\r\n");
        if (end >= 0) {
          clearTimeout(timer);
          socket.removeListener("data", onData);
          const text = buf.subarray(0, end).toString("latin1");
          buf = buf.subarray(end + 4);
          resolve(text);
        }
      };
      socket.on("data", onData);
    });
    const lines = head.split("\r\n");
    const hdrs: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number(lines[0]!.split(" ")[1]);
    const peer = new RawPeer(socket, { status, headers: hdrs, statusLine: lines[0]! }, buf);
    const key = all["Sec-WebSocket-Key"];
    if (status === 101 && key) {
      const want = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      if (hdrs["sec-websocket-accept"] !== want) throw new Error("bad accept value");
    }
    return peer;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private parse(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let n = b[1]! & 0x7f;
      let o = 2;
      if (b[1]! & 0x80) throw new Error("server frame was masked");
      if (n === 126) {
        if (b.length < 4) break;
        n = b.readUInt16BE(2);
        o = 4;
      } else if (n === 127) {
        if (b.length < 10) break;
        n = Number(b.readBigUInt64BE(2));
        o = 10;
      }
      if (b.length < o + n) break;
      this.frames.push({
        fin: (b[0]! & 0x80) !== 0,
        rsv1: (b[0]! & 0x40) !== 0,
        opcode: b[0]! & 0x0f,
        payload: Buffer.from(b.subarray(o, o + n)),
      });
      this.buf = b.subarray(o + n);
    }
    this.wake();
  }

  send(spec: FrameSpec): void {
    this.socket.write(rawFrame(spec));
  }

  text(text: string): void {
    this.send({ opcode: 1, payload: text });
  }

  json(value: unknown): void {
    this.text(JSON.stringify(value));
  }

  /** The next frame from the server (fails after `ms`). */
  async frame(ms = 3000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ended) throw new Error("connection closed while waiting for a frame");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a frame");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next data message as parsed JSON (control frames are skipped). */
  async message(ms = 3000): Promise<Record<string, unknown>> {
    for (;;) {
      const f = await this.frame(ms);
      if (f.opcode === 1)
        return JSON.parse((f.rsv1 ? inflatePayload(f.payload) : f.payload).toString()) as Record<
          string,
          unknown
        >;
      if (f.opcode === 8)
        throw new Error(`closed: ${f.payload.length >= 2 ? f.payload.readUInt16BE(0) : "no code"}`);
    }
  }

  /** Waits for the server's close frame and the end of TCP; returns the code and what came before. */
  async closing(ms = 3000): Promise<Ending> {
    const before: Frame[] = [];
    const deadline = Date.now() + ms;
    let code = 0;
    let reason = "";
    for (;;) {
      let f: Frame;
      try {
        f = await this.frame(Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (this.ended) break;
        throw err;
      }
      if (f.opcode === 8) {
        code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        reason = f.payload.subarray(2).toString();
        break;
      }
      before.push(f);
    }
    // The server closes TCP after the close frame.
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.ended) throw new Error("server did not close the TCP connection");
    return { code, reason, frames: before };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
