/**
 * Interop with the npm `ws` package both ways: its client against Ferry's
 * server, and Ferry's client against a `ws` server; plus the `ferry ws`
 * command and a generated publish key used with curl.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import WebSocket, { WebSocketServer } from "ws";
import { connectWebSocket, HandshakeError } from "../src/realtime/client.js";
import { needTool, waitFor } from "./helpers.js";
import { RawPeer, startRealtime } from "./ws-raw.js";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));

test("the ws client talks to Ferry: deflate negotiated, large messages compressed, pings answered", async () => {
  const s = await startRealtime([{ path: "/ws", publishKey: "interop-key", deflate: { threshold: 64 } }]);
  try {
    const ws = new WebSocket(`${s.url}/ws?subscribe=ticker:KRW-BTC`, { perMessageDeflate: true });
    const messages: Record<string, unknown>[] = [];
    ws.on("message", (d) => messages.push(JSON.parse(d.toString())));
    await once(ws, "open");
    assert.match(ws.extensions, /permessage-deflate/);
    const pong = once(ws, "pong");
    ws.ping("are you there");
    assert.equal(((await pong)[0] as Buffer).toString(), "are you there");
    const big = { price: 1, history: Array.from({ length: 200 }, (_, i) => i) };
    await fetch(`http://127.0.0.1:${s.port}/ws`, {
      method: "POST",
      headers: { authorization: "Bearer interop-key" },
      body: JSON.stringify({ channel: "ticker:KRW-BTC", data: big }),
    });
    await waitFor(() => messages.length >= 2, "the subscribed reply and the message");
    assert.equal(messages[0]!.type, "subscribed");
    assert.deepEqual(messages[1]!.data, big);
    ws.close(1000, "done");
    const [code] = (await once(ws, "close")) as [number];
    assert.equal(code, 1000);
  } finally {
    await s.close();
  }
});

test("Ferry's client talks to a ws server: text, binary, 300 KB compressed, ping, close codes", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { threshold: 0 } });
  await once(wss, "listening");
  wss.on("connection", (sock) => {
    sock.on("message", (data, binary) => {
      if (!binary && data.toString() === "close please") sock.close(4321, "as asked");
      else sock.send(data, { binary });
    });
  });
  const port = (wss.address() as { port: number }).port;
  try {
    const c = await connectWebSocket(`ws://127.0.0.1:${port}/`);
    assert.match(c.extensions, /permessage-deflate/);
    const got: [Buffer, boolean][] = [];
    c.on("message", (d: Buffer, b: boolean) => got.push([d, b]));
    const big = "ferry ".repeat(50_000);
    c.send("héllo ✓");
    c.send(Buffer.from([0, 1, 2, 255]));
    c.send(big);
    const pong = once(c, "pong");
    c.ping(Buffer.from("p"));
    await pong;
    await waitFor(() => got.length >= 3, "three echoes");
    assert.equal(got[0]![0].toString(), "héllo ✓");
    assert.deepEqual([...got[1]![0]], [0, 1, 2, 255]);
    assert.equal(got[1]![1], true);
    assert.equal(got[2]![0].toString(), big);
    const closed = once(c, "close");
    c.send("close please");
    const [code, reason] = (await closed) as [number, string];
    assert.equal(code, 4321);
    assert.equal(reason, "as asked");
  } finally {
    wss.close();
  }
});

test("Ferry's client reports a refused handshake with its status", async () => {
  const s = await startRealtime([{ path: "/ws", origins: ["http://ok.test"] }]);
  try {
    await assert.rejects(
      connectWebSocket(`${s.url}/ws`, { headers: { Origin: "http://bad.test" } }),
      (err: unknown) => err instanceof HandshakeError && err.status === 403,
    );
  } finally {
    await s.close();
  }
});

test("ferry ws subscribes, prints what arrives and exits after --count messages (replies not counted)", async () => {
  const s = await startRealtime([{ path: "/ws", publishKey: "cli-key-123" }]);
  try {
    const child = spawn(process.execPath, [bin, "ws", `${s.url}/ws`, "--subscribe", "news", "--count", "1"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await waitFor(() => out.includes("subscribed"), "the subscribed reply");
    await fetch(`http://127.0.0.1:${s.port}/ws`, {
      method: "POST",
      headers: { authorization: "Bearer cli-key-123" },
      body: JSON.stringify({ channel: "news", data: "hello from curl" }),
    });
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 0);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0]!.type, "subscribed");
    assert.deepEqual([lines[1]!.type, lines[1]!.data], ["message", "hello from curl"]);
  } finally {
    await s.close();
  }
});

test("ferry ws sends typed lines and expands /pub", async () => {
  const s = await startRealtime([{ path: "/ws", channels: [{ match: "room", publish: true }] }]);
  try {
    const child = spawn(process.execPath, [bin, "ws", `${s.url}/ws`, "--subscribe", "room", "--count", "1"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await waitFor(() => out.includes("subscribed"), "the subscribed reply");
    child.stdin.write('/pub room {"text":"typed"}\n');
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 0);
    assert.match(out, /"published"/);
    assert.match(out, /"data":\{"text":"typed"\}/);
  } finally {
    await s.close();
  }
});

test("ferry serve --realtime prints a generated key that curl can publish with; sessions and protocol errors are logged", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const child = spawn(
    process.execPath,
    [
      bin,
      "serve",
      "--http",
      "127.0.0.1:0",
      "--realtime",
      "/live",
      "--access-log",
      "off",
      "--log-level",
      "debug",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  try {
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    await waitFor(
      () => /publish key \(generated\): (\S+)/.test(err) && /serving http:\/\/127\.0\.0\.1:(\d+)/.test(err),
      "the generated key and the serving line",
    );
    const key = /publish key \(generated\): (\S+)/.exec(err)![1]!;
    const port = /serving http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]!;
    const url = `http://127.0.0.1:${port}/live`;
    const ok = await run("curl", [
      "-s",
      "-H",
      `Authorization: Bearer ${key}`,
      "-d",
      '{"channel":"c","data":1}',
      url,
    ]);
    assert.deepEqual(JSON.parse(ok.stdout), { offset: 1 });
    const denied = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-d",
      '{"channel":"c","data":1}',
      url,
    ]);
    assert.equal(denied.stdout, "401");
    const peer = await RawPeer.connect(Number(port), "/live");
    peer.send({ opcode: 1, payload: "{}", mask: false });
    assert.equal((await peer.closing()).code, 1002);
    await waitFor(() => err.includes('"msg":"websocket closed"'), "the websocket closed log line");
    const closed = JSON.parse(err.split("\n").find((l) => l.includes('"msg":"websocket closed"'))!) as Record<
      string,
      unknown
    >;
    assert.deepEqual(
      [closed.code, closed.close, closed.reason],
      ["ERR_WS_PROTOCOL", 1002, "client frames must be masked"],
    );
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
});
