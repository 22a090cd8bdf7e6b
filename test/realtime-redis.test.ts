/**
 * Realtime across Ferry nodes on a real Redis (Debian redis-server): two and
 * three `ferry serve` processes share channels through `--broker`. Publish on
 * any node, receive on all, exactly once and in order; reconnect to another
 * node with `since`/`epoch`; presence across nodes; Redis stopped and started
 * again (its data gone: a new epoch, announced before the first message); a
 * node cut off from Redis while others publish (what it missed comes from
 * the history); a node killed and started again.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { Redis } from "ioredis";
import WebSocket from "ws";
import type { ChannelRule } from "../src/core/config/types.js";
import { RedisBroker } from "../src/realtime/broker/redis.js";
import type { Message } from "../src/realtime/channel.js";
import { needTool, waitFor } from "./helpers.js";
import { freePort } from "./knot.js";
import {
  type Client,
  client,
  KEY,
  node,
  publish,
  range,
  startRedis,
  stops,
  subscribed,
} from "./redis-nodes.js";

/** A TCP relay between a node and Redis that the test can cut and restore. */
async function relay(target: number): Promise<{ port: number; cut: () => void; restore: () => void }> {
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const upstream = net.connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  stops.push(() => server.close());
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      open = true;
    },
  };
}

describe("realtime on Redis across nodes", () => {
  test("three nodes: a message published on any node reaches every subscriber on every node once, in offset order; presence counts them all", async (t) => {
    if (!needTool(t, "redis-server", "redis-server")) return;
    const redis = await startRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")));
    const nodes = [await node(redis.port), await node(redis.port), await node(redis.port)];
    const clients = [
      await client(nodes[0]!.port),
      await client(nodes[1]!.port),
      await client(nodes[2]!.port),
      await client(nodes[2]!.port),
    ];
    for (const c of clients) assert.equal((await subscribed(c, "ticker")).offset, 0);
    for (let i = 1; i <= 60; i++) {
      const r = await publish(nodes[i % 3]!.port, "ticker", { i });
      assert.equal(r.status, 200);
      assert.equal(r.body.offset, i);
    }
    for (const c of clients) await waitFor(() => c.messages().length >= 60, "60 messages on every client");
    await new Promise((r) => setTimeout(r, 200));
    for (const c of clients) assert.deepEqual(c.messages(), range(1, 60));
    const presence = async (port: number) =>
      (await (
        await fetch(`http://127.0.0.1:${port}/ws/presence?channel=ticker`, {
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).json()) as {
        subscribers: number;
      };
    for (let i = 0; i < 50 && (await presence(nodes[0]!.port)).subscribers !== 4; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await presence(nodes[1]!.port), { channel: "ticker", subscribers: 4 });
    assert.deepEqual(await presence(nodes[2]!.port), { channel: "ticker", subscribers: 4 });
    const empty = await fetch(`http://127.0.0.1:${nodes[0]!.port}/ws/presence?channel=nobody`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.deepEqual(await empty.json(), { channel: "nobody", subscribers: 0 });
    const noKey = await fetch(`http://127.0.0.1:${nodes[0]!.port}/ws/presence?channel=ticker`);
    assert.equal(noKey.status, 401);
    clients[3]!.ws.close();
    for (let i = 0; i < 50 && (await presence(nodes[0]!.port)).subscribers !== 3; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal((await presence(nodes[0]!.port)).subscribers, 3);
  });

  test("a client that reconnects to another node recovers with since and epoch: no gap, no duplicate", async (t) => {
    if (!needTool(t, "redis-server", "redis-server")) return;
    const redis = await startRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")));
    const [a, b] = [await node(redis.port), await node(redis.port)];
    const first = await client(a.port);
    const sub = await subscribed(first, "prices");
    for (let i = 1; i <= 5; i++) await publish(a.port, "prices", { i });
    await waitFor(() => first.messages().length === 5, "5 messages");
    first.ws.close();
    for (let i = 6; i <= 9; i++) await publish(b.port, "prices", { i });
    const second = await client(b.port);
    const again = await subscribed(second, "prices", { since: 5, epoch: sub.epoch });
    assert.equal(again.recovered, true);
    assert.equal(again.epoch, sub.epoch);
    await waitFor(() => second.messages().length === 4, "the 4 missed messages");
    await publish(a.port, "prices", { i: 10 });
    await waitFor(() => second.messages().length === 5, "the live message");
    assert.deepEqual(second.messages(), range(6, 10));
  });

  test("Redis stopped: 503 and broker_unavailable, clients stay; Redis back without its data: a new epoch announced before its first message", async (t) => {
    if (!needTool(t, "redis-server", "redis-server")) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-redis-"));
    const port = await freePort();
    let redis = await startRedis(port, dir);
    const [a, b] = [await node(port), await node(port)];
    const ca = await client(a.port);
    const cb = await client(b.port);
    const first = await subscribed(ca, "news");
    await subscribed(cb, "news");
    for (let i = 1; i <= 3; i++) await publish(a.port, "news", { i });
    // Both nodes have all three before Redis goes: one still waiting for the third (a's subscriber connection
    // had not read it yet when Redis was killed) loses it with Redis's data, and its client rightly gets the
    // new epoch with recovered: false and no third message (this test's flake in CI).
    await waitFor(() => ca.messages().length === 3 && cb.messages().length === 3, "3 messages on a and b");
    await redis.stop();
    await waitFor(() => b.logs().includes('"code":"ERR_REALTIME_BROKER"'), "the broker loss in the log");
    const down = await publish(a.port, "news", { i: 4 });
    assert.equal(down.status, 503);
    assert.equal(down.body.error, "broker_unavailable");
    const late = await client(b.port);
    assert.equal((await subscribed(late, "news")).code, "broker_unavailable");
    assert.equal(ca.ws.readyState, WebSocket.OPEN);
    assert.equal(cb.ws.readyState, WebSocket.OPEN);
    redis = await startRedis(port, dir);
    await waitFor(
      () => (a.logs().match(/realtime broker connected/g) ?? []).length >= 2,
      "a reconnected",
      8000,
    );
    await waitFor(
      () => (b.logs().match(/realtime broker connected/g) ?? []).length >= 2,
      "b reconnected",
      8000,
    );
    let up = await publish(a.port, "news", { i: "new life" });
    for (let i = 0; i < 40 && up.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = await publish(a.port, "news", { i: "new life" });
    }
    assert.equal(up.status, 200);
    assert.equal(up.body.offset, 1, "offsets restart in the new epoch");
    for (const c of [ca, cb]) {
      await waitFor(
        () => c.messages().length === 4,
        "the new epoch's first message",
        5000,
        () => `${JSON.stringify(c.got)}\n--- a:\n${a.logs().slice(-3000)}\n--- b:\n${b.logs().slice(-3000)}`,
      );
      const resync = [...c.got].reverse().find((m) => m.type === "subscribed")!;
      assert.notEqual(resync.epoch, first.epoch);
      assert.equal(resync.recovered, false);
      assert.equal(resync.offset, 0);
      const at = c.got.indexOf(resync);
      assert.equal(
        c.got[at + 1]!.type,
        "message",
        "the resync comes right before the new epoch's first message",
      );
      assert.equal(c.got[at + 1]!.offset, 1);
    }
  });

  test("a node cut off from Redis while another publishes gets what it missed from the history, in order, once", async (t) => {
    if (!needTool(t, "redis-server", "redis-server")) return;
    const redis = await startRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")));
    const cut = await relay(redis.port);
    const a = await node(redis.port);
    const b = await node(cut.port);
    const cb = await client(b.port);
    await subscribed(cb, "feed");
    for (let i = 1; i <= 3; i++) await publish(a.port, "feed", { i });
    await waitFor(() => cb.messages().length === 3, "3 messages");
    cut.cut();
    await waitFor(() => b.logs().includes('"code":"ERR_REALTIME_BROKER"'), "b lost Redis");
    for (let i = 4; i <= 8; i++) assert.equal((await publish(a.port, "feed", { i })).status, 200);
    cut.restore();
    await waitFor(() => cb.messages().length === 8, "the missed messages", 8000);
    await publish(a.port, "feed", { i: 9 });
    await waitFor(() => cb.messages().length === 9, "the live one after");
    assert.deepEqual(cb.messages(), range(1, 9));
    assert.equal(
      cb.got.filter((m) => m.type === "subscribed").length,
      1,
      "no resync: the history had it all",
    );
  });

  test("subscribers joining while messages flow: the ones already there miss nothing, the new ones get nothing twice", async (t) => {
    if (!needTool(t, "redis-server", "redis-server")) return;
    const redis = await startRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")));
    const [a, b] = [await node(redis.port), await node(redis.port)];
    const first = await client(b.port);
    await subscribed(first, "flow");
    const joiners: Client[] = [];
    const publishing = (async () => {
      for (let i = 1; i <= 120; i++) await publish(a.port, "flow", { i });
    })();
    const joining = (async () => {
      for (let i = 0; i < 12; i++) {
        const c = await client(b.port);
        joiners.push(c);
        c.send({ type: "subscribe", channel: "flow" });
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await Promise.all([publishing, joining]);
    await waitFor(() => first.messages().length === 120, "all 120 on the first subscriber");
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(first.messages(), range(1, 120));
    for (const c of joiners) {
      const sub = c.got.find((m) => m.type === "subscribed")!;
      assert.ok(sub, "subscribed");
      // After `subscribed` with offset N: exactly N+1…120, in order.
      assert.deepEqual(c.messages(), range((sub.offset as number) + 1, 120));
    }
  });

  test("a node killed and started again: its clients come back to it and recover from Redis", async (t) => {
    if (!needTool(t, "redis-server", "redis-server")) return;
    const redis = await startRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")));
    const a = await node(redis.port);
    let b = await node(redis.port);
    const cb = await client(b.port);
    const sub = await subscribed(cb, "orders");
    await publish(a.port, "orders", { i: 1 });
    await waitFor(() => cb.messages().length === 1, "1 message");
    b.ferry.child.kill("SIGKILL");
    await waitFor(() => cb.ws.readyState === WebSocket.CLOSED, "the client sees b go");
    for (let i = 2; i <= 4; i++) await publish(a.port, "orders", { i });
    b = await node(redis.port, b.port);
    const back = await client(b.port);
    const again = await subscribed(back, "orders", { since: 1, epoch: sub.epoch });
    assert.equal(again.recovered, true);
    await waitFor(() => back.messages().length === 3, "the 3 missed");
    assert.deepEqual(back.messages(), [2, 3, 4]);
  });
});

test("a catch-up asked for while one runs is not dropped: a message pub/sub missed arrives once the subscriber is back (regression)", async (t) => {
  if (!needTool(t, "redis-server", "redis-server")) return;
  const redis = await startRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")));
  const url = `redis://127.0.0.1:${redis.port}`;
  const rule: ChannelRule = {
    match: "*",
    publish: false,
    historySize: 100,
    historyAge: 60_000,
    maxSubscribers: 0,
  };
  let aUp = false;
  const [a, b] = [
    new RedisBroker(url, "race", {
      state: (up) => {
        aUp = up;
      },
    }),
    new RedisBroker(url, "race", { state: () => {} }),
  ];
  stops.push(() => void a.close());
  stops.push(() => void b.close());
  for (const x of [a, b]) x.configure(() => rule, 100);
  const got: Message[] = [];
  b.deliver = (_channel, m) => got.push(m);
  const admin = new Redis(url);
  stops.push(() => admin.disconnect());
  b.watch("news");
  const subscribers = async () => Number((await admin.pubsub("NUMSUB", "ferry:rt:race:pub:news"))[1]);
  const until = async (cond: () => Promise<boolean>, what: string) => {
    for (let i = 0; i < 100; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  await until(async () => (await subscribers()) === 1, "b subscribed");
  // a publishes only once its command connection is ready (before that it answers broker_unavailable).
  await waitFor(() => aUp, "a connected");
  for (let i = 1; i <= 3; i++) assert.equal(typeof (await a.publish("news", `m${i}`, Date.now())), "object");
  await waitFor(() => got.length === 3, "3 messages on b");
  // b's position reads are held (the real reply, delayed): a catch-up starts and reads offset 3.
  type Held = { ferryPosition: (...args: string[]) => Promise<unknown> };
  const cmd = (b as unknown as { cmd: Held }).cmd;
  const real = cmd.ferryPosition.bind(cmd);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  cmd.ferryPosition = async (...args: string[]) => {
    const reply = await real(...args);
    await gate;
    return reply;
  };
  void (b as unknown as { catchUp: (c: string, w: null) => Promise<void> }).catchUp("news", null);
  // b's subscriber connection drops; m4 is published while it is away (pub/sub cannot give it to b).
  await admin.client("KILL", "TYPE", "pubsub");
  assert.equal(typeof (await a.publish("news", "m4", Date.now())), "object");
  // The subscriber comes back and asks for its own catch-up while the first one still runs.
  await until(async () => (await subscribers()) === 1, "b subscribed again");
  await new Promise((r) => setTimeout(r, 200));
  cmd.ferryPosition = real;
  release();
  await waitFor(() => got.length === 4, "m4 delivered to b after the held catch-up", 3000);
  assert.deepEqual(
    got.map((m) => m.offset),
    [1, 2, 3, 4],
  );
});
