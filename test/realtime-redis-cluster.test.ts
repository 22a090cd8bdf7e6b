/**
 * Realtime across Ferry nodes on a real Redis Cluster (Debian redis-server in
 * cluster mode, three masters made one cluster by `redis-cli --cluster
 * create`). Two `ferry serve` nodes reach it through `redis+cluster://` seeds
 * (one node knows a single seed: it learns the rest from the cluster).
 * Channels whose keys live on three different masters: every message reaches
 * every subscriber on both nodes once, in order; a client that moves to the
 * other node recovers with `since`/`epoch`; presence counts across nodes
 * (a presence write per channel, since one pipeline cannot span slots).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Redis } from "ioredis";
import { needTool, waitFor } from "./helpers.js";
import { type Client, client, KEY, node, publish, range, startCluster, subscribed } from "./redis-nodes.js";

const offsetsOf = (c: Client, channel: string) =>
  c.got.filter((m) => m.type === "message" && m.channel === channel).map((m) => m.offset as number);

/** The port of the master that holds `channel`'s keys (their hash tag is the channel name). */
async function ownerOf(ports: number[], channel: string): Promise<number> {
  const r = new Redis(ports[0]!, "127.0.0.1");
  try {
    const slot = Number(await r.cluster("KEYSLOT", `{${channel}}`));
    const owner = (await r.cluster("SLOTS")).find(([from, to]) => slot >= from && slot <= to);
    assert.ok(owner?.[2], `slot ${slot} is served`);
    return owner[2][1];
  } finally {
    r.disconnect();
  }
}

test("a Redis Cluster: channels on three masters, two nodes, every message once and in order; recovery on the other node; presence across nodes", async (t) => {
  if (!needTool(t, "redis-server", "redis-server")) return;
  if (!needTool(t, "redis-cli", "redis-tools")) return;
  const { ports } = await startCluster();
  // One channel per master, so the script, the history and the presence hash run on each of them.
  const channels: string[] = [];
  const owners = new Set<number>();
  for (let i = 0; channels.length < 3 && i < 200; i++) {
    const owner = await ownerOf(ports, `pair-${i}`);
    if (owners.has(owner)) continue;
    owners.add(owner);
    channels.push(`pair-${i}`);
  }
  assert.equal(channels.length, 3, "a channel on each master");

  const a = await node(`redis+cluster://127.0.0.1:${ports[0]}`);
  const b = await node(`redis+cluster://127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}`);
  const clients = [await client(a.port), await client(b.port), await client(b.port)];
  for (const c of clients)
    for (const channel of channels) assert.equal((await subscribed(c, channel)).offset, 0);

  for (let i = 1; i <= 10; i++)
    for (const channel of channels) {
      const r = await publish((i % 2 === 0 ? a : b).port, channel, { i });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.offset, i);
    }
  const offsets = offsetsOf;
  for (const c of clients)
    await waitFor(() => channels.every((ch) => offsets(c, ch).length >= 10), "10 messages per channel");
  await new Promise((r) => setTimeout(r, 200));
  for (const c of clients)
    for (const channel of channels) assert.deepEqual(offsets(c, channel), range(1, 10));

  // A name that starts with "}" (no hash tag of its own) still keeps its keys in one slot.
  assert.equal((await subscribed(clients[1]!, "}brace")).offset, 0);
  for (let i = 1; i <= 2; i++) {
    const r = await publish(a.port, "}brace", { i });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await waitFor(() => offsets(clients[1]!, "}brace").length === 2, "2 messages on }brace");
  assert.deepEqual(offsets(clients[1]!, "}brace"), [1, 2]);

  // Each channel's keys are on its own master: read there without the cluster client.
  for (const channel of channels) {
    const owner = new Redis(await ownerOf(ports, channel), "127.0.0.1");
    try {
      assert.equal(await owner.get(`ferry:rt:default/ws:{${channel}}:o`), "10");
      assert.equal(await owner.xlen(`ferry:rt:default/ws:{${channel}}:h`), 10);
    } finally {
      owner.disconnect();
    }
  }

  // Presence: three subscribers of each channel, on two nodes.
  const presence = async (port: number, channel: string) =>
    (
      (await (
        await fetch(`http://127.0.0.1:${port}/ws/presence?channel=${channel}`, {
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).json()) as { subscribers: number }
    ).subscribers;
  for (const channel of channels) {
    for (let i = 0; i < 50 && (await presence(a.port, channel)) !== 3; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(await presence(a.port, channel), 3, channel);
    assert.equal(await presence(b.port, channel), 3, channel);
  }

  // A client of node a moves to node b and recovers what it missed there.
  const moving = clients[0]!;
  const epoch = (await subscribed(await client(a.port), channels[0]!)).epoch;
  moving.ws.close();
  for (let i = 11; i <= 14; i++) await publish(b.port, channels[0]!, { i });
  const moved = await client(b.port);
  const again = await subscribed(moved, channels[0]!, { since: 10, epoch });
  assert.equal(again.recovered, true);
  assert.equal(again.epoch, epoch);
  await waitFor(() => offsets(moved, channels[0]!).length === 4, "the 4 missed messages");
  await publish(a.port, channels[0]!, { i: 15 });
  await waitFor(() => offsets(moved, channels[0]!).length === 5, "the live message");
  assert.deepEqual(offsets(moved, channels[0]!), range(11, 15));
  assert.ok(!a.logs().includes("ERR_REALTIME_BROKER") && !b.logs().includes("ERR_REALTIME_BROKER"));
});

test("a Redis Cluster node that carries a Ferry node's subscription dies: the subscription moves to another node, and what was published meanwhile arrives, once and in order", async (t) => {
  if (!needTool(t, "redis-server", "redis-server")) return;
  if (!needTool(t, "redis-cli", "redis-tools")) return;
  // The other masters keep serving their slots while one is down.
  const { ports, servers } = await startCluster(["--cluster-require-full-coverage", "no"]);
  // Node a knows one seed: its subscription starts on that node.
  const a = await node(`redis+cluster://127.0.0.1:${ports[0]}`);
  let channel = "";
  for (let i = 0; channel === "" && i < 200; i++)
    if ((await ownerOf(ports, `live-${i}`)) !== ports[0]) channel = `live-${i}`;
  const c = await client(a.port);
  assert.equal((await subscribed(c, channel)).offset, 0);
  const seed = new Redis(ports[0]!, "127.0.0.1");
  const numsub = (await seed.pubsub("NUMSUB", `ferry:rt:default/ws:pub:${channel}`)) as [string, number];
  seed.disconnect();
  assert.equal(numsub[1], 1, "node a subscribed on the seed");
  for (let i = 1; i <= 3; i++) assert.equal((await publish(a.port, channel, { i })).status, 200);
  await waitFor(() => offsetsOf(c, channel).length === 3, "3 messages");

  await servers[0]!.stop();
  // Published while node a's subscription has no node: delivered from the history once it has one.
  for (let i = 4; i <= 6; i++) {
    const r = await publish(a.port, channel, { i });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await waitFor(() => offsetsOf(c, channel).length >= 6, "the 3 messages published meanwhile", 10_000);
  assert.equal((await publish(a.port, channel, { i: 7 })).status, 200);
  await waitFor(() => offsetsOf(c, channel).length >= 7, "the next live message");
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(offsetsOf(c, channel), range(1, 7));
});

test("a master fails over to its replica: publishing resumes through the promoted replica, and every subscriber on both nodes gets every message once, in order", async (t) => {
  if (!needTool(t, "redis-server", "redis-server")) return;
  if (!needTool(t, "redis-cli", "redis-tools")) return;
  // Three masters, each with a replica that takes over its slots when it dies (cluster-node-timeout 2 s).
  const { ports, servers } = await startCluster([], { replicas: 1 });
  const channel = "failover";
  const master = await ownerOf(ports, channel);
  const seeds = ports.map((p) => `127.0.0.1:${p}`).join(",");
  const [a, b] = [await node(`redis+cluster://${seeds}`), await node(`redis+cluster://${seeds}`)];
  const [ca, cb] = [await client(a.port), await client(b.port)];
  for (const c of [ca, cb]) assert.equal((await subscribed(c, channel)).offset, 0);
  for (let i = 1; i <= 3; i++)
    assert.equal((await publish(i % 2 ? a.port : b.port, channel, { i })).status, 200);
  for (const c of [ca, cb]) await waitFor(() => offsetsOf(c, channel).length === 3, "3 messages");
  // Replication is asynchronous (and the replica's first sync takes a moment): the replica has the
  // channel's keys before its master goes.
  const m = new Redis(master, "127.0.0.1");
  try {
    let acked = 0;
    for (let i = 0; i < 40 && acked < 1; i++) acked = await m.wait(1, 500);
    assert.equal(acked, 1, "the replica caught up");
  } finally {
    m.disconnect();
  }

  await servers[ports.indexOf(master)]!.stop();
  // Until the replica is promoted and ioredis sees it, a publish is refused (503), never half done.
  let next = 4;
  const deadline = Date.now() + 20_000;
  while (next <= 6) {
    assert.ok(Date.now() < deadline, `publishing resumed within 20 s (at message ${next})`);
    const r = await publish(next % 2 ? a.port : b.port, channel, { i: next });
    if (r.status === 200) {
      assert.equal(r.body.offset, next, "offsets go on from the replica's copy");
      next++;
    } else {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  assert.notEqual(
    await ownerOf(
      ports.filter((p) => p !== master),
      channel,
    ),
    master,
    "a replica owns the slot",
  );
  for (const c of [ca, cb])
    await waitFor(() => offsetsOf(c, channel).length >= 6, "every message after the failover", 10_000);
  await new Promise((r) => setTimeout(r, 200));
  for (const c of [ca, cb]) assert.deepEqual(offsetsOf(c, channel), range(1, 6));
});
