/**
 * The realtime contract of docs/protocol.md, with the npm `ws` client as
 * the browser-like peer: subscribe/unsubscribe, the HTTP publish API and its
 * errors, recovery with `since`, client publishing rules, slow consumers,
 * heartbeats, reload and shutdown.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import type { WsDropEvent } from "../src/core/diagnostics.js";
import { buildConfig } from "./engine-under-test.js";
import { RawPeer, type RealtimeServer, startRealtime } from "./ws-raw.js";

const KEY = "contract-key-1";

/** A `ws` client that queues parsed messages. */
class Client {
  readonly ws: WebSocket;
  private queue: Record<string, unknown>[] = [];
  private waiting: (() => void) | null = null;
  closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on("message", (d) => {
      this.queue.push(JSON.parse(d.toString()) as Record<string, unknown>);
      this.waiting?.();
    });
    this.ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on("close", (code, reason) => {
        this.waiting?.();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  send(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  async next(ms = 3000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a message");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(t);
          this.waiting = null;
          resolve();
        };
      });
    }
    return this.queue.shift()!;
  }

  /** Messages that arrive within `ms`. */
  async drain(ms: number): Promise<Record<string, unknown>[]> {
    await new Promise((r) => setTimeout(r, ms));
    const out = this.queue;
    this.queue = [];
    return out;
  }

  close(): void {
    this.ws.close();
  }
}

let server: RealtimeServer;
const endpoint = {
  path: "/ws",
  publishKey: KEY,
  maxMessageSize: "16KiB",
  maxBackpressure: "256KiB",
  channels: [
    { match: "chat:*", publish: true, history: { size: 50 } },
    { match: "short:*", history: { size: 3 } },
    { match: "brief:*", history: { size: 100, age: "200ms" } },
    { match: "vip:*", maxSubscribers: 1 },
    { match: "news" },
    { match: "ticker:*" },
    { match: "big:*", history: { size: 0 } },
  ],
};

before(async () => {
  server = await startRealtime([endpoint]);
});
after(() => server.close());

async function publish(channel: unknown, data: unknown, key = KEY, raw?: string) {
  const res = await fetch(`http://127.0.0.1:${server.port}/ws`, {
    method: "POST",
    headers: key ? { authorization: `Bearer ${key}`, "content-type": "application/json" } : {},
    body: raw ?? JSON.stringify({ channel, data }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function client(path = "/ws", options: WebSocket.ClientOptions = {}): Promise<Client> {
  const c = new Client(`${server.url}${path}`, options);
  await c.open();
  return c;
}

describe("HTTP publish API", () => {
  test("a good publish answers 200 with offsets growing by one", async () => {
    const a = await publish("news", { headline: "one" });
    const b = await publish("news", { headline: "two" });
    assert.equal(a.status, 200);
    assert.equal((b.body.offset as number) - (a.body.offset as number), 1);
  });
  test("no key or a wrong key gets 401 with WWW-Authenticate", async () => {
    const none = await publish("news", 1, "");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal((await publish("news", 1, "contract-key-2")).status, 401);
    assert.equal((await publish("news", 1, "short")).status, 401);
  });
  test("bad JSON, no channel, a bad channel name or no data get 400", async () => {
    assert.equal((await publish("", 1, KEY, "{nope")).body.error, "bad_json");
    assert.equal((await publish("", 1, KEY, JSON.stringify({ data: 1 }))).body.error, "bad_channel");
    assert.equal((await publish("has space", 1)).status, 400);
    assert.equal((await publish("", 1, KEY, JSON.stringify({ channel: "news" }))).status, 400);
    assert.equal((await publish("", 1, KEY, "[1,2]")).status, 400);
  });
  test("a body over maxMessageSize gets 413", async () => {
    const r = await publish("news", "x".repeat(17 * 1024));
    assert.equal(r.status, 413);
  });
  test("a channel no rule allows gets 403", async () => {
    assert.equal((await publish("nobody:here", 1)).status, 403);
  });
  test("other methods get 405 with Allow", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/ws`, { method: "PUT", body: "{}" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, POST, OPTIONS");
  });
});

describe("subscriptions", () => {
  test("subscribe by message, receive, unsubscribe, receive no more", async () => {
    const c = await client();
    c.send({ type: "subscribe", channel: "ticker:A", id: "s1" });
    const sub = await c.next();
    assert.deepEqual([sub.type, sub.channel, sub.id], ["subscribed", "ticker:A", "s1"]);
    const { body } = await publish("ticker:A", { price: 101.5 });
    const m = await c.next();
    assert.deepEqual(m, {
      type: "message",
      channel: "ticker:A",
      offset: body.offset,
      data: { price: 101.5 },
    });
    c.send({ type: "unsubscribe", channel: "ticker:A" });
    assert.equal((await c.next()).type, "unsubscribed");
    await publish("ticker:A", { price: 99 });
    assert.deepEqual(await c.drain(150), []);
    c.close();
  });
  test("?subscribe=a,b subscribes at connect time", async () => {
    const c = await client("/ws?subscribe=ticker:X,ticker:Y");
    const subs = [await c.next(), await c.next()];
    assert.deepEqual(subs.map((s) => s.channel).sort(), ["ticker:X", "ticker:Y"]);
    await publish("ticker:Y", "y");
    assert.equal((await c.next()).data, "y");
    c.close();
  });
  test("every one of 50 subscribers gets each message once, in order", async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => client("/ws?subscribe=ticker:FAN")));
    for (const c of clients) await c.next();
    for (let i = 0; i < 5; i++) await publish("ticker:FAN", i);
    for (const c of clients) {
      const got = [];
      for (let i = 0; i < 5; i++) got.push((await c.next()).data);
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
    }
    // Once: no client got a copy more.
    const extra = await Promise.all(clients.map((c) => c.drain(50)));
    assert.deepEqual(
      extra.map((e) => e.length),
      clients.map(() => 0),
    );
    for (const c of clients) c.close();
  });
  test("maxSubscribers is enforced per channel", async () => {
    const a = await client("/ws?subscribe=vip:room");
    assert.equal((await a.next()).type, "subscribed");
    const b = await client();
    b.send({ type: "subscribe", channel: "vip:room" });
    const e = await b.next();
    assert.deepEqual([e.type, e.code], ["error", "too_many_subscribers"]);
    a.close();
    b.close();
  });
});

describe("presence (one process, no broker)", () => {
  const presence = async (channel: string | null, key = KEY, method = "GET") => {
    const q = channel === null ? "" : `?channel=${encodeURIComponent(channel)}`;
    const res = await fetch(`http://127.0.0.1:${server.port}/ws/presence${q}`, {
      method,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  test("counts the subscribers of a channel as they come and go; 0 for an empty one; the publish key is required", async () => {
    const a = await client();
    const b = await client("/ws?subscribe=ticker:P");
    await b.next();
    a.send({ type: "subscribe", channel: "ticker:P" });
    await a.next();
    assert.deepEqual(await presence("ticker:P"), {
      status: 200,
      body: { channel: "ticker:P", subscribers: 2 },
    });
    a.send({ type: "unsubscribe", channel: "ticker:P" });
    await a.next();
    assert.deepEqual((await presence("ticker:P")).body, { channel: "ticker:P", subscribers: 1 });
    b.ws.close();
    await b.closed;
    for (let i = 0; i < 20 && (await presence("ticker:P")).body.subscribers !== 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual((await presence("ticker:P")).body, { channel: "ticker:P", subscribers: 0 });
    assert.deepEqual((await presence("news")).body, { channel: "news", subscribers: 0 });
    assert.equal((await presence("ticker:P", "")).status, 401);
    assert.equal((await presence("ticker:P", "contract-key-2")).status, 401);
    assert.equal((await presence(null)).status, 400);
    assert.equal((await presence("ticker:P", KEY, "POST")).status, 405);
    a.ws.close();
  });
});

describe("client messages", () => {
  test("bad JSON, unknown types, bad channels and forbidden publishes get errors; the connection stays", async () => {
    const c = await client();
    c.ws.send("{not json");
    assert.equal((await c.next()).code, "bad_json");
    c.send({ type: "dance" });
    assert.equal((await c.next()).code, "unknown_type");
    c.send([1, 2]);
    assert.equal((await c.next()).code, "bad_request");
    c.send({ type: "subscribe", channel: "" });
    assert.equal((await c.next()).code, "bad_channel");
    c.send({ type: "subscribe", channel: "nobody:here" });
    assert.equal((await c.next()).code, "forbidden");
    c.send({ type: "publish", channel: "news", data: 1, id: 9 });
    const f = await c.next();
    assert.deepEqual([f.code, f.id], ["forbidden", 9]);
    c.send({ type: "subscribe", channel: "news", since: -1 });
    assert.equal((await c.next()).code, "bad_request");
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    c.close();
  });
  test("clients publish where the rule allows, and every subscriber (the sender too) gets it", async () => {
    const a = await client("/ws?subscribe=chat:lobby");
    const b = await client("/ws?subscribe=chat:lobby");
    await a.next();
    await b.next();
    a.send({ type: "publish", channel: "chat:lobby", data: { text: "hi" }, id: 1 });
    const seenByA = [await a.next(), await a.next()];
    assert.ok(seenByA.some((m) => m.type === "published" && m.id === 1));
    assert.ok(seenByA.some((m) => m.type === "message" && (m.data as { text: string }).text === "hi"));
    assert.deepEqual((await b.next()).data, { text: "hi" });
    a.close();
    b.close();
  });
});

describe("recovery with since", () => {
  test("resubscribing with since replays what was missed, in order, with no duplicates", async () => {
    const c = await client("/ws?subscribe=chat:rec");
    const sub = await c.next();
    await publish("chat:rec", "m1");
    const m1 = await c.next();
    c.close();
    await c.closed;
    for (const m of ["m2", "m3", "m4"]) await publish("chat:rec", m);
    const d = await client();
    d.send({ type: "subscribe", channel: "chat:rec", since: m1.offset, epoch: sub.epoch });
    const again = await d.next();
    assert.equal(again.type, "subscribed");
    assert.equal(again.recovered, true);
    const replay = [await d.next(), await d.next(), await d.next()];
    assert.deepEqual(
      replay.map((m) => m.data),
      ["m2", "m3", "m4"],
    );
    assert.deepEqual(
      replay.map((m) => m.offset),
      [(m1.offset as number) + 1, (m1.offset as number) + 2, (m1.offset as number) + 3],
    );
    await publish("chat:rec", "m5");
    const live = await d.next();
    assert.equal(live.data, "m5");
    assert.deepEqual(await d.drain(100), []);
    d.close();
  });
  test("when history no longer reaches back, recovered is false and what is kept is replayed", async () => {
    for (let i = 1; i <= 6; i++) await publish("short:h", i);
    const c = await client();
    c.send({ type: "subscribe", channel: "short:h", since: 1 });
    const s = await c.next();
    assert.equal(s.recovered, false);
    const got = [await c.next(), await c.next(), await c.next()];
    assert.deepEqual(
      got.map((m) => m.data),
      [4, 5, 6],
    );
    c.close();
  });
  test("a different epoch (the channel was created anew) replays everything with recovered false", async () => {
    await publish("chat:epoch", "a");
    await publish("chat:epoch", "b");
    const c = await client();
    c.send({ type: "subscribe", channel: "chat:epoch", since: 1, epoch: "old-epoch" });
    const s = await c.next();
    assert.equal(s.recovered, false);
    assert.deepEqual([(await c.next()).data, (await c.next()).data], ["a", "b"]);
    c.close();
  });
  test("messages older than the history age are not replayed", async () => {
    await publish("brief:x", "old");
    await new Promise((r) => setTimeout(r, 300));
    await publish("brief:x", "new");
    const c = await client();
    c.send({ type: "subscribe", channel: "brief:x", since: 0 });
    assert.equal((await c.next()).recovered, false);
    assert.equal((await c.next()).data, "new");
    assert.deepEqual(await c.drain(100), []);
    c.close();
  });
});

describe("slow consumers", () => {
  test("a client that stops reading is closed, and the others get every message", async () => {
    const slow = await RawPeer.connect(server.port, "/ws?subscribe=big:feed");
    assert.equal((await slow.message()).type, "subscribed");
    slow.socket.pause();
    const fast = await client("/ws?subscribe=big:feed");
    await fast.next();
    const hub = server.service.realtime.all()[0]!;
    const dropped = hub.stats.slowConsumers;
    const drops: WsDropEvent[] = [];
    const onDrop = (m: unknown) => drops.push(m as WsDropEvent);
    diagnostics.subscribe("ferry:ws:drop", onDrop);
    const data = "p".repeat(15_000);
    for (let i = 0; i < 400; i++) assert.equal((await publish("big:feed", { i, data })).status, 200);
    for (let i = 0; i < 400; i++) assert.equal(((await fast.next()).data as { i: number }).i, i);
    assert.equal(hub.stats.slowConsumers, dropped + 1);
    diagnostics.unsubscribe("ferry:ws:drop", onDrop);
    assert.deepEqual(
      drops.map((d) => d.reason),
      ["slow-consumer"],
    );
    for (const conn of hub.connections) assert.ok(conn.socket.writableLength <= 256 * 1024 + 16 * 1024);
    slow.destroy();
    fast.close();
  });
});

describe("heartbeats", () => {
  test("a silent client is pinged, and closed with 4000 when it never answers", async () => {
    const hb = await startRealtime([{ path: "/ws", pingInterval: 100, idleTimeout: 500 }]);
    const drops: WsDropEvent[] = [];
    const onDrop = (m: unknown) => drops.push(m as WsDropEvent);
    diagnostics.subscribe("ferry:ws:drop", onDrop);
    try {
      const p = await RawPeer.connect(hb.port, "/ws");
      const ping = await p.frame(2000);
      assert.equal(ping.opcode, 9);
      const started = Date.now();
      const end = await p.closing(3000);
      assert.equal(end.code, 4000);
      assert.deepEqual(
        drops.map((d) => d.reason),
        ["idle"],
      );
      assert.ok(Date.now() - started < 2000);
      // A client that answers pings (ws does) stays.
      const live = new Client(`${hb.url}/ws`);
      await live.open();
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(live.ws.readyState, WebSocket.OPEN);
      live.close();
    } finally {
      diagnostics.unsubscribe("ferry:ws:drop", onDrop);
      await hb.close();
    }
  });
});

describe("lifecycle", () => {
  test("a reload keeps connections, channels and offsets; a removed endpoint closes with 1001", async () => {
    const s = await startRealtime([
      { path: "/ws", publishKey: KEY },
      { path: "/old", publishKey: KEY },
    ]);
    try {
      const c = new Client(`${s.url}/ws?subscribe=news`);
      await c.open();
      await c.next();
      const old = new Client(`${s.url}/old`);
      await old.open();
      const before = await fetch(`http://127.0.0.1:${s.port}/ws`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ channel: "news", data: 1 }),
      }).then((r) => r.json() as Promise<{ offset: number }>);
      await c.next();
      const cfg = buildConfig(
        {
          http: {
            listen: [`127.0.0.1:${s.port}`],
            sites: [{ root: ".", realtime: [{ path: "/ws", publishKey: "new-key-123" }] }],
          },
        },
        { baseDir: process.cwd(), source: null },
      );
      s.service.reload(cfg.http!);
      assert.equal((await old.closed).code, 1001);
      const after = await fetch(`http://127.0.0.1:${s.port}/ws`, {
        method: "POST",
        headers: { authorization: "Bearer new-key-123" },
        body: JSON.stringify({ channel: "news", data: 2 }),
      }).then((r) => r.json() as Promise<{ offset: number }>);
      assert.equal(after.offset, before.offset + 1);
      assert.equal((await c.next()).data, 2);
      c.close();
    } finally {
      await s.close();
    }
  });
  test("stopping the server closes sessions with 1001", async () => {
    const s = await startRealtime([{ path: "/ws" }]);
    const c = new Client(`${s.url}/ws`);
    await c.open();
    const closing = s.close();
    assert.equal((await c.closed).code, 1001);
    await closing;
  });
});
