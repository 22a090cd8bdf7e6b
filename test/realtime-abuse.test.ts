/**
 * Realtime under attack (issue 9): nesting bombs from a WebSocket client and
 * through the publish API, invalid UTF-8 publishes, and refused
 * subscriptions that must create nothing. After each, the server serves.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";
import { jsonDepthWithin } from "../src/realtime/json-depth.js";
import { RawPeer, type RealtimeServer, rawFrame, startRealtime } from "./ws-raw.js";

const KEY = "abuse-key-1";
let server: RealtimeServer;

before(async () => {
  server = await startRealtime([
    {
      path: "/ws",
      publishKey: KEY,
      maxMessageSize: "2MiB",
      maxSubscriptions: 5,
      maxChannels: 20,
      maxJsonDepth: 16,
      channels: [{ match: "*", publish: true }],
    },
  ]);
});
after(() => server.close());

function hub() {
  return server.service.realtime.all()[0]!;
}

function open(path = "/ws"): Promise<{ ws: WebSocket; next: () => Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(`${server.url}${path}`);
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  ws.on("message", (d) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  ws.on("error", () => {});
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const m = queue.shift();
      if (m) return resolve(m);
      const t = setTimeout(() => reject(new Error("no message within 3 s")), 3000);
      waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, next }));
    ws.once("error", reject);
  });
}

async function publish(body: string | Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/ws`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The server still delivers a publish to a fresh subscriber. */
async function stillServing(): Promise<void> {
  const c = await open("/ws?subscribe=alive");
  assert.equal((await c.next()).type, "subscribed");
  assert.equal((await publish(JSON.stringify({ channel: "alive", data: 1 }))).status, 200);
  assert.equal((await c.next()).data, 1);
  c.ws.close();
}

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("nesting bombs", () => {
  test("an 800 KB [[[[…]]]] publish from a client gets bad_request and the connection stays open", async () => {
    const c = await open();
    c.ws.send(`{"type":"publish","channel":"deep","data":${nested(400_000)}}`);
    const e = await c.next();
    assert.deepEqual([e.type, e.code], ["error", "bad_request"]);
    c.ws.send(JSON.stringify({ type: "subscribe", channel: "after" }));
    assert.equal((await c.next()).type, "subscribed");
    c.ws.close();
    await stillServing();
  });

  test("the same body through the HTTP publish API gets 400, not 500", async () => {
    const r = await publish(`{"channel":"deep","data":${nested(400_000)}}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "bad_request");
    await stillServing();
  });

  test("nesting at maxJsonDepth is accepted, one deeper is refused", async () => {
    // The body object is level 1, so data may nest 15 deep under maxJsonDepth 16.
    assert.equal((await publish(`{"channel":"d","data":${nested(15)}}`)).status, 200);
    assert.equal((await publish(`{"channel":"d","data":${nested(16)}}`)).status, 400);
  });

  test("brackets inside strings do not count as nesting", async () => {
    const r = await publish(JSON.stringify({ channel: "s", data: `${"[".repeat(1000)}\\"{` }));
    assert.equal(r.status, 200);
  });

  test("the depth check agrees with a parse of generated JSON", () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === "object"
        ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf))
        : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 1, max: 12 }), (v, max) => {
        const text = Buffer.from(JSON.stringify(v));
        assert.equal(jsonDepthWithin(text, max), depthOf(v) <= max);
      }),
      { numRuns: 500 },
    );
  });
});

describe("publish bodies", () => {
  test("invalid UTF-8 gets 400 and is not delivered", async () => {
    const c = await open("/ws?subscribe=utf");
    await c.next();
    const bad = Buffer.concat([
      Buffer.from('{"channel":"utf","data":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const r = await publish(bad);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "bad_json");
    assert.equal((await publish(JSON.stringify({ channel: "utf", data: "ok" }))).status, 200);
    assert.equal((await c.next()).data, "ok", "the bad body was delivered");
    c.ws.close();
  });
});

describe("refused subscriptions create nothing", () => {
  test("995 subscribes past maxSubscriptions leave the channel count where it was", async () => {
    const c = await open();
    for (let i = 0; i < 1000; i++) c.ws.send(JSON.stringify({ type: "subscribe", channel: `flood:${i}` }));
    const replies = [];
    for (let i = 0; i < 1000; i++) replies.push(await c.next());
    assert.equal(replies.filter((r) => r.type === "subscribed").length, 5);
    assert.equal(replies.filter((r) => r.code === "too_many_subscriptions").length, 995);
    const flood = [...hub().channels.keys()].filter((n) => n.startsWith("flood:"));
    assert.deepEqual(flood.sort(), ["flood:0", "flood:1", "flood:2", "flood:3", "flood:4"]);
    assert.ok(hub().broker.size < 20, `the broker keeps ${hub().broker.size} channels (maxChannels 20)`);
    // Others can still make channels and publish to new ones.
    const other = await open("/ws?subscribe=fresh:1");
    assert.equal((await other.next()).type, "subscribed");
    assert.equal((await publish(JSON.stringify({ channel: "fresh:2", data: 1 }))).status, 200);
    c.ws.close();
    other.ws.close();
  });
});

test("subscribes to one channel sent back to back: one is answered at a time, the rest get subscribe_pending, the connection stays", async () => {
  // With a broker each answer reads the channel's history (a Redis round trip and a replay): a client
  // must not have it read over and over at once.
  const peer = await RawPeer.connect(server.port, "/ws");
  try {
    const sub = (n: number) =>
      rawFrame({
        opcode: 1,
        payload: JSON.stringify({ type: "subscribe", channel: "burst", since: 0, id: n }),
      });
    peer.socket.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => sub(i))));
    const replies: Record<string, unknown>[] = [];
    for (let i = 0; i < 10; i++) replies.push(await peer.message());
    const subscribed = replies.filter((r) => r.type === "subscribed");
    const pending = replies.filter((r) => r.type === "error" && r.code === "subscribe_pending");
    assert.equal(subscribed.length, 1, JSON.stringify(replies));
    assert.equal(pending.length, 9, JSON.stringify(replies));
    // Once answered, a subscribe to it is served again, and the connection is as it was.
    peer.json({ type: "subscribe", channel: "burst", since: 0, id: 99 });
    const again = await peer.message();
    assert.equal(again.type, "subscribed");
    assert.equal(again.id, 99);
  } finally {
    peer.socket.destroy();
  }
});
