/**
 * WebSockets over HTTP/2 (RFC 8441): an extended CONNECT with
 * `:protocol: websocket` on one stream of a TLS connection, to a realtime
 * endpoint and through a proxy location to a `ws` echo server. Node's
 * http2 client speaks the extended CONNECT; the WebSocket frames in the
 * stream's DATA are written and read here byte by byte.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { spawnFerry, tmpSite, waitFor } from "./helpers.js";
import { rawFrame } from "./ws-raw.js";

/** Reads unmasked server frames (payloads under 64 KiB) from a stream's bytes. */
function frameReader(stream: http2.ClientHttp2Stream) {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let buf = Buffer.alloc(0);
  stream.on("data", (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      }
      if (buf.length < off + len) return;
      frames.push({ opcode: buf[0]! & 0x0f, payload: buf.subarray(off, off + len) });
      buf = buf.subarray(off + len);
    }
  });
  return frames;
}

test("RFC 8441: WebSockets over HTTP/2 to a realtime endpoint and through a proxy location", {
  timeout: 20_000,
}, async () => {
  const echo = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(echo, "listening");
  echo.on("connection", (ws, req) => ws.on("message", (m) => ws.send(`echo ${m} via ${req.httpVersion}`)));
  const echoPort = (echo.address() as AddressInfo).port;
  const dir = tmpSite({ "index.html": "x" });
  const state = path.join(dir, "state");
  const f = await spawnFerry(
    [
      "serve",
      dir,
      "--http",
      "127.0.0.1:0",
      "--https",
      "127.0.0.1:0",
      "--state",
      state,
      "--realtime",
      "/ws",
      "--publish-key",
      "h2-test-key-1234",
      "--proxy",
      `/echo=127.0.0.1:${echoPort}`,
      "--access-log",
      "combined",
    ],
    [/serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  const session = http2.connect(`https://localhost:${f.found[0]}`, {
    ca: readFileSync(path.join(state, "ca", "root.crt")),
  });
  try {
    await once(session, "remoteSettings");
    assert.equal(session.remoteSettings.enableConnectProtocol, true, "SETTINGS_ENABLE_CONNECT_PROTOCOL = 1");
    const open = async (p: string, extra: http2.OutgoingHttpHeaders = {}) => {
      const stream = session.request({
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":scheme": "https",
        ":path": p,
        ":authority": "localhost",
        "sec-websocket-version": "13",
        ...extra,
      });
      const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
      return { stream, headers, frames: frameReader(stream) };
    };

    // Ferry's own realtime endpoint: 200 (not 101), no Sec-WebSocket-Accept, then the protocol as usual.
    const rt = await open("/ws", { "sec-websocket-protocol": "nope" });
    assert.equal(rt.headers[":status"], 200);
    assert.equal(rt.headers["sec-websocket-accept"], undefined);
    assert.equal(rt.headers.upgrade, undefined);
    rt.stream.write(rawFrame({ opcode: 1, payload: JSON.stringify({ type: "subscribe", channel: "t" }) }));
    await waitFor(() => rt.frames.some((x) => String(x.payload).includes('"subscribed"')), "subscribed");
    // A second WebSocket on the same connection, and a publish on a third stream of it.
    const other = await open("/ws");
    other.stream.write(rawFrame({ opcode: 1, payload: JSON.stringify({ type: "subscribe", channel: "t" }) }));
    await waitFor(() => other.frames.some((x) => String(x.payload).includes('"subscribed"')), "subscribed");
    const post = session.request({
      ":method": "POST",
      ":path": "/ws",
      ":authority": "localhost",
      authorization: "Bearer h2-test-key-1234",
      "content-type": "application/json",
    });
    post.end(JSON.stringify({ channel: "t", data: "over h2" }));
    const [postHeaders] = (await once(post, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(postHeaders[":status"], 200);
    for (const ws of [rt, other])
      await waitFor(
        () => ws.frames.some((x) => String(x.payload).includes("over h2")),
        "the published message",
      );
    // Ping and the closing handshake work inside the stream.
    rt.stream.write(rawFrame({ opcode: 9, payload: "p" }));
    await waitFor(() => rt.frames.some((x) => x.opcode === 10), "pong");
    const close = Buffer.alloc(2);
    close.writeUInt16BE(1000);
    rt.stream.write(rawFrame({ opcode: 8, payload: close }));
    await waitFor(() => rt.frames.some((x) => x.opcode === 8), "the close frame back");
    // END_STREAM plays TCP's FIN (RFC 8441 §6): the server ended its side; the client ends its own.
    await waitFor(() => rt.stream.readableEnded || rt.stream.destroyed, "the server's END_STREAM");
    rt.stream.end();
    await waitFor(() => rt.stream.closed, "the stream closed");
    other.stream.close();

    // A proxy location: the upstream sees an HTTP/1.1 upgrade; the client a WebSocket on its stream.
    const px = await open("/echo");
    assert.equal(px.headers[":status"], 200);
    px.stream.write(rawFrame({ opcode: 1, payload: "hi" }));
    await waitFor(() => px.frames.some((x) => String(x.payload) === "echo hi via 1.1"), "the echo");
    px.stream.close();

    // Not a WebSocket: a plain CONNECT is 405, another :protocol 501; nothing is tunnelled.
    const plain = session.request({ ":method": "CONNECT", ":authority": "localhost:22" });
    const [ph] = (await once(plain, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(ph[":status"], 405);
    plain.close();
    // A realtime path refuses a bad version as it does over HTTP/1.1.
    const bad = await open("/ws", { "sec-websocket-version": "8" });
    assert.equal(bad.headers[":status"], 400);

    // The access log shows the WebSocket exchanges as CONNECT over HTTP/2.
    await waitFor(() => /"CONNECT \/ws HTTP\/2\.0" 200/.test(f.stdout()), "the access log line");
  } finally {
    session.destroy();
    f.child.kill("SIGKILL");
    echo.close();
  }
});

test("RFC 8441: a quiet WebSocket keeps its HTTP/2 stream and connection past requestTimeout and idleTimeout; once it ends, the idle connection is closed", async () => {
  const dir = tmpSite({ "index.html": "x" });
  writeFileSync(
    path.join(dir, "ferry.yaml"),
    [
      "state: state",
      "log: { access: false }",
      "http:",
      '  listen: ["127.0.0.1:0"]',
      '  tls: { listen: ["127.0.0.1:0"] }',
      // requestTimeout too: an extended CONNECT never ends its request, and must not be reset for it.
      "  limits: { idleTimeout: 600ms, requestTimeout: 500ms }",
      "  sites:",
      "    - root: .",
      "      tls: internal",
      "      realtime: [{ path: /ws, publishKey: idle-test-key-1 }]",
      "",
    ].join("\n"),
  );
  const f = await spawnFerry(
    ["serve", "--config", path.join(dir, "ferry.yaml")],
    [/serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  const session = http2.connect(`https://localhost:${f.found[0]}`, {
    ca: readFileSync(path.join(dir, "state", "ca", "root.crt")),
  });
  let goaway = false;
  session.on("goaway", () => {
    goaway = true;
  });
  session.on("error", () => {});
  try {
    const ws = session.request({
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":scheme": "https",
      ":path": "/ws",
      ":authority": "localhost",
      "sec-websocket-version": "13",
    });
    const [headers] = (await once(ws, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers[":status"], 200);
    const frames = frameReader(ws);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(goaway, false, "the connection of an open WebSocket is not closed as idle");
    ws.write(rawFrame({ opcode: 1, payload: JSON.stringify({ type: "subscribe", channel: "t" }) }));
    await waitFor(() => frames.some((x) => String(x.payload).includes('"subscribed"')), "subscribed");
    ws.close();
    await waitFor(() => goaway, "GOAWAY once the connection is idle without its WebSocket", 3000);
  } finally {
    session.destroy();
    f.child.kill("SIGKILL");
  }
});
