/**
 * Differential test: Ferry and Knot (Debian knot, one worker, on loopback)
 * serve the same zone and must give the same rcode, flags and sections for
 * a broad set of names and types, with and without EDNS, over UDP and TCP.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DnsService } from "../src/dns/service.js";
import { RRType, typeNumber } from "../src/dns/wire/constants.js";
import type { Message } from "../src/dns/wire/message.js";
import { decodeMessage } from "../src/dns/wire/reader.js";
import { encodeMessage } from "../src/dns/wire/writer.js";
import { needTool } from "./helpers.js";
import { ask, hasKnot, must, query, startKnot, summary } from "./knot.js";

const zoneFile = fileURLToPath(new URL("../../test/fixtures/dns/example.test.zone", import.meta.url));
let knot: ChildProcess | null = null;
let knotPort = 0;
let ferry: DnsService | null = null;
let ferryPort = 0;

before(async () => {
  if (process.env.CI !== "true" && !hasKnot()) return;
  const k = await startKnot(zoneFile, "example.test");
  knot = k.child;
  knotPort = k.port;
  ferry = await DnsService.start({
    listen: [{ host: "127.0.0.1", port: 0 }],
    zones: [{ file: zoneFile, origin: "example.test", transfer: null, notify: [] }],
    tsig: [],
    forward: [],
    forwardTimeout: 1000,
    cacheSize: 100,
    tcpIdleTimeout: 2000,
    tcpMessageTimeout: 2000,
    tcpMaxConnections: 100,
    transfersOut: 10,
    tls: null,
  });
  ferryPort = ferry.addresses[0]!.port;
});

after(async () => {
  knot?.kill("SIGTERM");
  await ferry?.close();
});

const names = [
  "example.test",
  "EXAMPLE.test",
  "www.example.test",
  "WwW.ExAmPlE.TeSt",
  "nope.example.test",
  "deep.nope.example.test",
  "alias.example.test",
  "c1.example.test",
  "l1.example.test",
  "ext.example.test",
  "dangling.example.test",
  "x.wild.example.test",
  "a.b.wild.example.test",
  "*.wild.example.test",
  "wild.example.test",
  "exists.wild.example.test",
  "sub.exists.wild.example.test",
  "y.cw.example.test",
  "c.example.test",
  "b.c.example.test",
  "a.b.c.example.test",
  "_sip._tcp.example.test",
  "_tcp.example.test",
  "sub.example.test",
  "x.sub.example.test",
  "ns.sub.example.test",
  "dn.example.test",
  "host.dn.example.test",
  "nothing.dn.example.test",
  "unknown.example.test",
  "mail.example.test",
  "ns2.example.test",
  "ttl60.example.test",
  "example.org",
  "test",
  "big.example.test",
];
const types = [
  "A",
  "AAAA",
  "MX",
  "NS",
  "SOA",
  "TXT",
  "CNAME",
  "DS",
  "SRV",
  "CAA",
  "DNAME",
  "TYPE65280",
  "ANY",
];

for (const transport of ["udp", "tcp"] as const) {
  for (const edns of [false, true]) {
    test(`Ferry answers like Knot: ${transport}, ${edns ? "EDNS" : "no EDNS"}`, async (t) => {
      if (!needTool(t, "knotd", "knot")) return;
      const diffs: string[] = [];
      for (const name of names) {
        for (const type of types) {
          const q = query(name, typeNumber(type)!, { edns });
          const [k, f] = await Promise.all([
            must(knotPort, q, transport === "tcp"),
            must(ferryPort, q, transport === "tcp"),
          ]);
          const ks = summary(k);
          const fs = summary(f);
          try {
            assert.deepEqual(fs, ks);
          } catch {
            diffs.push(`${name} ${type}\n  knot:  ${JSON.stringify(ks)}\n  ferry: ${JSON.stringify(fs)}`);
          }
        }
      }
      assert.equal(diffs.length, 0, `${diffs.length} differences:\n${diffs.slice(0, 12).join("\n")}`);
    });
  }
}

/** Raw messages that are not plain queries: both servers must answer the same way. */
function raw(mutate: (m: Message) => void): Buffer {
  const m = decodeMessage(query("www.example.test", RRType.A, { edns: true }));
  mutate(m);
  return encodeMessage(m);
}

const edgeCases: [string, () => Buffer][] = [
  [
    "EDNS version 1 gets BADVERS with version 0",
    () => query("www.example.test", RRType.A, { edns: true, version: 1 }),
  ],
  ["two OPT records get FORMERR", () => raw((m) => m.additional.push({ ...m.additional[0]! }))],
  ["no question gets FORMERR", () => raw((m) => (m.questions = []))],
  ["opcode STATUS gets NOTIMP", () => raw((m) => (m.opcode = 2))],
  ["class CH is refused", () => raw((m) => (m.questions[0]!.klass = 3))],
  [
    "a tiny EDNS payload is raised to 512",
    () => query("big.example.test", RRType.AAAA, { edns: true, payload: 100 }),
  ],
  ["a truncated question gets FORMERR", () => query("www.example.test", RRType.A).subarray(0, 20)],
  [
    "trailing garbage gets FORMERR",
    () => Buffer.concat([query("www.example.test", RRType.A), Buffer.from([1, 2, 3])]),
  ],
];

for (const [what, make] of edgeCases) {
  test(`like Knot: ${what}`, async (t) => {
    if (!needTool(t, "knotd", "knot")) return;
    for (const tcp of [false, true]) {
      const q = make();
      const [k, f] = await Promise.all([ask(knotPort, q, tcp), ask(ferryPort, q, tcp)]);
      const header = (b: Buffer | null) =>
        b === null
          ? "no answer"
          : {
              id: b.readUInt16BE(0),
              flags: b.readUInt16BE(2),
              counts: [4, 6, 8, 10].map((o) => b.readUInt16BE(o)),
            };
      assert.deepEqual(header(f), header(k), `${tcp ? "tcp" : "udp"} header`);
      if (f && k && f.length > 12 && k.length > 12) assert.deepEqual(summary(f), summary(k));
    }
  });
}

test("QDCOUNT 2 gets FORMERR (a deliberate difference: Knot drops it; RFC 9619 allows either)", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const q = raw((m) => m.questions.push({ name: "mail.example.test", type: 1, klass: 1 }));
  for (const tcp of [false, true]) {
    const f = summary(await must(ferryPort, q, tcp));
    assert.equal(f.rcode, 1);
    assert.deepEqual(f.question, []);
  }
});

test("TC is set on UDP when the answer does not fit, and TCP is never truncated", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const udp = summary(await must(ferryPort, query("big.example.test", RRType.AAAA), false));
  assert.match(udp.flags, /TC/);
  const tcp = summary(await must(ferryPort, query("big.example.test", RRType.AAAA), true));
  assert.doesNotMatch(tcp.flags, /TC/);
  assert.equal(tcp.answer.length, 60);
});

test("TCP: pipelined queries are answered in order on one connection", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const frames = ["www", "mail", "ns1"].map((n, i) => {
    const q = query(`${n}.example.test`, RRType.A, { id: 100 + i });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    return Buffer.concat([len, q]);
  });
  const answers = await new Promise<Buffer[]>((resolve, reject) => {
    const c = net.connect(ferryPort, "127.0.0.1");
    // Split the pipelined bytes at odd places to exercise the framing state machine.
    const all = Buffer.concat(frames);
    c.write(all.subarray(0, 1));
    setTimeout(() => c.write(all.subarray(1, 40)), 20);
    setTimeout(() => c.write(all.subarray(40)), 40);
    let buf = Buffer.alloc(0);
    const out: Buffer[] = [];
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === 3) {
        c.destroy();
        resolve(out);
      }
    });
    c.on("error", reject);
  });
  assert.deepEqual(
    answers.map((a) => a.readUInt16BE(0)),
    [100, 101, 102],
  );
  assert.deepEqual(
    answers.map((a) => summary(a).answer[0]!.split(" ")[0]),
    ["www.example.test", "mail.example.test", "ns1.example.test"],
  );
});

test("the server keeps answering after garbage", async (t) => {
  if (!needTool(t, "knotd", "knot")) return;
  const s = dgram.createSocket("udp4");
  for (const junk of [Buffer.alloc(0), Buffer.from([1]), Buffer.alloc(11), Buffer.alloc(600, 0xff)])
    s.send(junk, ferryPort, "127.0.0.1");
  await new Promise((r) => setTimeout(r, 100));
  s.close();
  assert.equal(summary(await must(ferryPort, query("www.example.test", RRType.A), false)).rcode, 0);
});
