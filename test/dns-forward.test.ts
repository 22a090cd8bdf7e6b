/**
 * The caching forwarder against a real upstream (Knot on loopback). A small
 * UDP relay in front of Knot counts the queries that reach the upstream.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DnsService } from "../src/dns/service.js";
import { RRType } from "../src/dns/wire/constants.js";
import { Collector } from "../src/inspect/collector.js";
import { presentRow } from "../src/inspect/presenter.js";
import type { Row } from "../src/inspect/rows.js";
import { needTool } from "./helpers.js";
import { hasKnot, must, query, startKnot, summary } from "./knot.js";
import { parseExposition } from "./prometheus.js";

const zoneFile = fileURLToPath(new URL("../../test/fixtures/dns/example.test.zone", import.meta.url));
let knot: ChildProcess | null = null;
let knotPort = 0;
let relay: dgram.Socket;
let relayPort = 0;
let relayed = 0;
const services: DnsService[] = [];

/** Relays UDP queries to Knot and back, counting them. */
async function startRelay(): Promise<void> {
  relay = dgram.createSocket("udp4");
  relay.on("message", (msg, client) => {
    relayed++;
    const up = dgram.createSocket("udp4");
    up.on("message", (answer) => {
      relay.send(answer, client.port, client.address);
      up.close();
    });
    up.send(msg, knotPort, "127.0.0.1");
  });
  await new Promise<void>((r) => relay.bind(0, "127.0.0.1", () => r()));
  relayPort = relay.address().port;
}

async function ferry(forward: { host: string; port: number }[], forwardTimeout = 300): Promise<number> {
  const svc = await DnsService.start({
    listen: [{ host: "127.0.0.1", port: 0 }],
    zones: [],
    tsig: [],
    forward,
    forwardTimeout,
    cacheSize: 1000,
    tcpIdleTimeout: 2000,
    tcpMessageTimeout: 2000,
    tcpMaxConnections: 100,
    transfersOut: 10,
    tls: null,
  });
  services.push(svc);
  return svc.addresses[0]!.port;
}

let port = 0;

before(async () => {
  if (process.env.CI !== "true" && !hasKnot()) return;
  const k = await startKnot(zoneFile, "example.test");
  knot = k.child;
  knotPort = k.port;
  await startRelay();
  port = await ferry([{ host: "127.0.0.1", port: relayPort }]);
});

after(async () => {
  knot?.kill("SIGTERM");
  relay?.close();
  for (const s of services) await s.close();
});

test("a forwarded answer is the upstream's, with RA set and AA clear", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const direct = summary(await must(knotPort, query("example.test", RRType.MX, { edns: true }), false));
  const via = summary(await must(port, query("example.test", RRType.MX, { edns: true }), false));
  assert.equal(via.flags, "QR RD RA");
  assert.equal(direct.flags, "QR AA RD");
  assert.deepEqual(via.answer, direct.answer);
  assert.deepEqual(via.additional, direct.additional);
});

test("a forward timeout beyond node's timer limit (30 days) waits, it does not fail every query at once", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  // node fires a timer longer than 2^31 - 1 ms after 1 ms: every forwarded query then failed, unless the
  // upstream answered within that millisecond. This upstream (Knot behind a relay) takes 100 ms.
  const slow = dgram.createSocket("udp4");
  slow.on("message", (msg, client) => {
    const up = dgram.createSocket("udp4");
    up.on("message", (answer) => {
      setTimeout(() => slow.send(answer, client.port, client.address), 100);
      up.close();
    });
    up.send(msg, knotPort, "127.0.0.1");
  });
  await new Promise<void>((r) => slow.bind(0, "127.0.0.1", () => r()));
  t.after(() => slow.close());
  const slowPort = await ferry([{ host: "127.0.0.1", port: slow.address().port }], 30 * 86_400_000);
  const via = summary(await must(slowPort, query("example.test", RRType.MX, { edns: true }), false));
  assert.equal(via.rcode, 0);
  assert.ok(via.answer.length > 0, "the upstream's answer came through");
});

test("answers are cached and their TTLs age", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const before = relayed;
  const first = summary(await must(port, query("www.example.test", RRType.A), false));
  assert.equal(relayed, before + 1);
  await new Promise((r) => setTimeout(r, 1100));
  const second = summary(await must(port, query("www.example.test", RRType.A), false));
  assert.equal(relayed, before + 1, "the second answer came from the cache");
  const ttl = (s: typeof first) => Number(s.answer[0]!.split(" ")[1]);
  assert.equal(ttl(first), 300);
  assert.ok(ttl(second) <= 299 && ttl(second) >= 297, String(ttl(second)));
});

test("negative answers are cached for min(SOA TTL, MINIMUM)", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const before = relayed;
  const a = summary(await must(port, query("nope.example.test", RRType.A), false));
  const b = summary(await must(port, query("nope.example.test", RRType.A), true));
  assert.equal(a.rcode, 3);
  assert.equal(b.rcode, 3);
  assert.match(b.authority[0]!, / SOA /);
  assert.equal(relayed, before + 1);
});

test("identical questions in flight are sent upstream once", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const before = relayed;
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => must(port, query("mail.example.test", RRType.A), false)),
  );
  assert.equal(relayed, before + 1);
  for (const a of answers) assert.equal(summary(a).answer.length, 1);
});

test("failover: a silent upstream is skipped after its timeout", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
  try {
    const p = await ferry([
      { host: "127.0.0.1", port: silent.address().port },
      { host: "127.0.0.1", port: knotPort },
    ]);
    const t0 = Date.now();
    const a = summary(await must(p, query("ns1.example.test", RRType.A), false));
    assert.equal(a.rcode, 0);
    assert.equal(a.answer.length, 1);
    assert.ok(Date.now() - t0 < 1400, `took ${Date.now() - t0} ms`);
  } finally {
    silent.close();
  }
});

test("SERVFAIL when no upstream answers", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
  try {
    const p = await ferry([{ host: "127.0.0.1", port: silent.address().port }]);
    const a = summary(await must(p, query("www.example.test", RRType.A), false));
    assert.equal(a.rcode, 2);
    assert.equal(a.flags, "QR RD RA");
  } finally {
    silent.close();
  }
});

test("a truncated upstream answer is fetched again over TCP", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const p = await ferry([{ host: "127.0.0.1", port: knotPort }]);
  const a = summary(await must(p, query("big.example.test", RRType.AAAA), true));
  assert.equal(a.answer.length, 60);
  assert.doesNotMatch(a.flags, /TC/);
});

test("the inspector sees forwarded names as cache misses, then hits, and /metrics has the ratio", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const collector = new Collector({ events: 50, sessions: 1, frames: 10, channels: 10 }, () => []);
  try {
    await must(port, query("example.test", RRType.NS), false);
    await must(port, query("example.test", RRType.NS), false);
    const rows = collector.dns.newest().map((r) => presentRow(r as Row));
    assert.deepEqual(
      rows.map((r) => [r.name, r.type, r.rcode, r.cache]),
      [
        ["example.test", "NS", "NOERROR", "hit"],
        ["example.test", "NS", "NOERROR", "miss"],
      ],
    );
    assert.ok((rows[0]!.flags as string[]).includes("ra"));
    assert.ok((rows[0]!.answers as string[]).every((a) => a.startsWith("NS ")));
    const ratio = parseExposition(collector.metrics.render()).get("ferry_dns_forward_cache_hit_ratio")!;
    assert.equal(ratio.samples[0]!.value, 0.5);
  } finally {
    collector.close();
  }
});
