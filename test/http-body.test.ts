/**
 * Request bodies through the engine boundary (issue 10): `req.body(limit)`
 * and `req.stream(limit)` never pass the listener's `maxBodySize` nor the
 * handler's limit, for Content-Length and chunked bodies alike, and fail
 * with a typed HttpBodyTooLargeError that handlers answer with 413.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { NodeRequest } from "../src/http/engine/node-request.js";
import { HttpBodyTooLargeError } from "../src/http/errors.js";
import { HttpService } from "../src/http/server.js";
import type { Reply } from "../src/http/types.js";
import { buildConfig } from "./engine-under-test.js";
import { rawExchange, startHttp, type TestServer, tmpSite, waitFor } from "./helpers.js";

describe("req.body through handlers", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startHttp({
      limits: { maxBodySize: "1KiB" },
      sites: [
        {
          root: tmpSite({ "index.html": "x" }),
          realtime: [{ path: "/ws", publishKey: "body-key-123", maxMessageSize: "64KiB" }],
        },
      ],
    });
  });
  after(() => srv.close());

  const publish = (body: string, chunked: boolean) =>
    rawExchange(
      srv.port,
      `POST /ws HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer body-key-123\r\nConnection: close\r\n` +
        (chunked
          ? `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
          : `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
      { waitClose: true, timeout: 3000 },
    );

  test("a chunked publish over the listener's maxBodySize gets 413, though under maxMessageSize", async () => {
    const body = JSON.stringify({ channel: "c", data: "x".repeat(2000) });
    const r = await publish(body, true);
    assert.equal(r.responses[0]?.status, 413);
    assert.match(r.responses[0]!.body.toString(), /limited to 1024 bytes/);
  });

  test("under both limits, chunked or not, the publish goes through", async () => {
    const body = JSON.stringify({ channel: "c", data: "small" });
    for (const chunked of [true, false])
      assert.equal((await publish(body, chunked)).responses[0]?.status, 200);
  });
});

describe("req.stream", () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((req, res) => {
      const r = new NodeRequest("POST", "/", "", "x", req.headers, req.httpVersion, "", false, req, 100);
      let size = 0;
      const s = r.stream(Number(req.headers["x-limit"] ?? 1000));
      s.on("data", (c: Buffer) => (size += c.length));
      s.on("end", () => res.end(`ok ${size}`));
      s.on("error", (err) =>
        res.end(err instanceof HttpBodyTooLargeError ? `too large ${err.limit}` : "error"),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const post = async (bytes: number, limit?: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: limit ? { "x-limit": String(limit) } : {},
      body: new Uint8Array(bytes),
    });
    return res.text();
  };

  test("passes a body under the limits through whole", async () => {
    assert.equal(await post(80), "ok 80");
  });
  test("fails past the listener's maxBodySize (100 here), whatever the handler asks", async () => {
    assert.equal(await post(150), "too large 100");
  });
  test("fails past the handler's own, smaller limit", async () => {
    assert.equal(await post(60, 50), "too large 50");
  });
});

describe("stream replies", () => {
  let svc: HttpService;
  let port = 0;
  const sources: Readable[] = [];

  /** A source of `chunks` × 64 KiB, each after `gapMs`, honouring backpressure. */
  function source(chunks: number, gapMs: number): Readable {
    let sent = 0;
    const r = new Readable({
      read() {
        if (sent >= chunks) return void this.push(null);
        sent++;
        setTimeout(() => this.push(Buffer.alloc(64 * 1024, 97)), gapMs);
      },
    });
    sources.push(r);
    return r;
  }

  before(async () => {
    const config = buildConfig(
      {
        http: {
          listen: ["127.0.0.1:0"],
          limits: { sendTimeout: "300ms" },
          sites: [{ root: tmpSite({ "index.html": "x" }) }],
        },
      },
      { baseDir: process.cwd(), source: null },
    );
    const reply = (stream: Readable): Reply => ({
      status: 200,
      headers: ["Content-Type", "application/octet-stream"],
      body: { kind: "stream", stream },
      site: "default",
      location: "/",
    });
    svc = await HttpService.start(
      config.http!,
      () =>
        new Map([
          ["/slow", { kind: "test", handle: () => reply(source(3, 400)) }],
          ["/big", { kind: "test", handle: () => reply(source(2000, 0)) }],
        ]),
    );
    port = svc.addresses[0]!.port;
  });
  after(() => svc.close(100));

  test("a slow source is not cut by sendTimeout: every byte arrives, chunked", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/slow`);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.equal((await res.arrayBuffer()).byteLength, 3 * 64 * 1024);
  });

  test("a client that stops reading is cut at sendTimeout, and the source is destroyed", async () => {
    const s = net.connect(port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.on("error", () => {});
    s.pause();
    const n = sources.length;
    s.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => sources.length > n, "the request to reach the handler", 3000);
    const t0 = Date.now();
    await waitFor(() => sources[n]!.destroyed, "the source to be destroyed", 5000);
    // Buffers fill at once; the cut comes sendTimeout (300 ms) after the client stopped taking bytes.
    assert.ok(Date.now() - t0 >= 200, `destroyed after ${Date.now() - t0} ms`);
    s.destroy();
  });

  test("a client that goes away mid-stream destroys the source", async () => {
    const s = net.connect(port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.on("error", () => {});
    s.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => s.once("data", r));
    const src = sources[sources.length - 1]!;
    s.destroy();
    await waitFor(() => src.destroyed, "the source to be destroyed", 3000);
  });
});
