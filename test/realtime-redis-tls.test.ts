/**
 * Realtime on Redis over TLS (`rediss://` and `rediss+cluster://`), with
 * Debian's redis-server listening on TLS only: Ferry nodes that trust its
 * certificate (through NODE_EXTRA_CA_CERTS, node's own way to add a CA)
 * share channels through it; a node that does not trust it never connects,
 * says why, and answers the publish API 503.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Redis } from "ioredis";
import { needTool, selfSignedCert, waitFor } from "./helpers.js";
import { freePort } from "./knot.js";
import {
  client,
  node,
  publish,
  type RedisTls,
  range,
  startCluster,
  startRedis,
  subscribed,
  tlsArgs,
} from "./redis-nodes.js";

/** A self-signed certificate for 127.0.0.1 that is its own CA. */
function redisCert(): RedisTls {
  const { cert, key } = selfSignedCert(
    mkdtempSync(path.join(os.tmpdir(), "ferry-redis-tls-")),
    "127.0.0.1",
    "redis",
  );
  return { cert, key, ca: cert };
}

/** Publishes 1..n on `channel` through `from`; every client gets them, once and in order. */
async function deliveredEverywhere(
  from: number,
  channel: string,
  clients: Awaited<ReturnType<typeof client>>[],
  n: number,
): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const r = await publish(from, channel, { i });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  for (const c of clients) {
    const offsets = () =>
      c.got.filter((m) => m.type === "message" && m.channel === channel).map((m) => m.offset as number);
    await waitFor(() => offsets().length >= n, `${n} messages on ${channel}`);
    assert.deepEqual(offsets(), range(1, n));
  }
}

test("rediss://: two nodes share channels over TLS; a node that does not trust Redis's certificate does not connect, says why, and answers 503", async (t) => {
  if (!needTool(t, "redis-server", "redis-server")) return;
  if (!needTool(t, "openssl", "openssl")) return;
  const tls = redisCert();
  const port = await freePort();
  await startRedis(port, mkdtempSync(path.join(os.tmpdir(), "ferry-redis-")), tlsArgs(port, tls));
  const url = `rediss://127.0.0.1:${port}/0`;
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: tls.ca };
  const [a, b] = [await node(url, undefined, { env }), await node(url, undefined, { env })];
  const [ca, cb] = [await client(a.port), await client(b.port)];
  for (const c of [ca, cb]) assert.equal((await subscribed(c, "tick")).type, "subscribed");
  await deliveredEverywhere(b.port, "tick", [ca, cb], 5);
  // Recovery on the other node, from the history in Redis.
  const late = await client(a.port);
  const s = await subscribed(late, "tick", { since: 2, epoch: (await subscribed(cb, "tick")).epoch });
  assert.equal(s.recovered, true);
  await waitFor(() => late.messages().length >= 3, "the three messages after offset 2");
  assert.deepEqual(late.messages(), [3, 4, 5]);

  // Without the CA: the certificate is refused, never used.
  const { NODE_EXTRA_CA_CERTS: _, ...plain } = process.env;
  const u = await node(url, undefined, { env: plain, connected: false });
  await waitFor(
    () => /"code":"ERR_REALTIME_BROKER".*certificate/i.test(u.logs()),
    "the refused certificate in the log",
  );
  assert.doesNotMatch(u.logs(), /realtime broker connected/);
  assert.equal((await publish(u.port, "tick", { i: 6 })).status, 503);
});

test("rediss+cluster://: a Redis Cluster over TLS (client and cluster bus); two nodes, channels on three masters, every message once and in order", async (t) => {
  if (!needTool(t, "redis-server", "redis-server")) return;
  if (!needTool(t, "redis-cli", "redis-tools")) return;
  if (!needTool(t, "openssl", "openssl")) return;
  const tls = redisCert();
  const { ports } = await startCluster([], { tls });
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: tls.ca };
  const a = await node(`rediss+cluster://127.0.0.1:${ports[0]}`, undefined, { env });
  const b = await node(`rediss+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`, undefined, {
    env,
  });
  const [ca, cb] = [await client(a.port), await client(b.port)];
  // Their keys live on all three masters: alpha and gamma on the first, delta on the second, beta and epsilon on the third.
  const channels = ["alpha", "beta", "gamma", "delta", "epsilon"];
  const r = new Redis(ports[0]!, "127.0.0.1", { tls: { ca: readFileSync(tls.ca) }, lazyConnect: true });
  await r.connect();
  try {
    const slots = await r.cluster("SLOTS");
    const owners = new Set<number>();
    for (const ch of channels) {
      const slot = Number(await r.cluster("KEYSLOT", `{${ch}}`));
      owners.add(slots.find(([from, to]) => slot >= from && slot <= to)![2][1]);
    }
    assert.equal(owners.size, 3, "the channels' keys on all three masters");
  } finally {
    r.disconnect();
  }
  for (const ch of channels)
    for (const c of [ca, cb]) assert.equal((await subscribed(c, ch)).type, "subscribed");
  for (const [i, ch] of channels.entries())
    await deliveredEverywhere(i % 2 === 0 ? a.port : b.port, ch, [ca, cb], 3);
});
