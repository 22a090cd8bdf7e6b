/**
 * Differential test: Ferry and Knot (Debian knot, one worker, on loopback)
 * serve the same zone and must give the same rcode, flags and sections for
 * a broad set of names and types, with and without EDNS, over UDP and TCP.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DnsService } from "../src/dns/service.js";
import { Flag, RRType, typeName, typeNumber } from "../src/dns/wire/constants.js";
import type { Message, Record } from "../src/dns/wire/message.js";
import { decodeMessage } from "../src/dns/wire/reader.js";
import { encodeMessage } from "../src/dns/wire/writer.js";
import { needTool } from "./helpers.js";

const zoneFile = fileURLToPath(new URL("../../test/fixtures/dns/example.test.zone", import.meta.url));
let knot: ChildProcess | null = null;
let knotPort = 0;
let ferry: DnsService | null = null;
let ferryPort = 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Sends one query over UDP or TCP; resolves to the answer, or null when none came within `wait` ms (or TCP closed). */
export function ask(port: number, wire: Buffer, tcp: boolean, wait = 1500): Promise<Buffer | null> {
  return new Promise((resolve) => {
    if (!tcp) {
      const s = dgram.createSocket("udp4");
      const timer = setTimeout(() => {
        s.close();
        resolve(null);
      }, wait);
      s.on("message", (m) => {
        clearTimeout(timer);
        s.close();
        resolve(m);
      });
      s.send(wire, port, "127.0.0.1");
      return;
    }
    const c = net.connect(port, "127.0.0.1");
    const done = (v: Buffer | null) => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), wait);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(wire.length);
    c.write(Buffer.concat([len, wire]));
    let buf = Buffer.alloc(0);
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    c.on("close", () => done(null));
    c.on("error", () => done(null));
  });
}

/** Asks and insists on an answer. */
async function must(port: number, wire: Buffer, tcp: boolean): Promise<Buffer> {
  const a = await ask(port, wire, tcp);
  if (a === null) throw new Error(`no answer from port ${port} (${tcp ? "tcp" : "udp"})`);
  return a;
}

export function query(
  name: string,
  type: number,
  opts: { edns?: boolean; payload?: number; version?: number; id?: number } = {},
): Buffer {
  const msg: Message = {
    id: opts.id ?? 4242,
    flags: Flag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name, type, klass: 1 }],
    answers: [],
    authority: [],
    additional: opts.edns
      ? [
          {
            name: "",
            type: RRType.OPT,
            klass: opts.payload ?? 1232,
            ttl: (opts.version ?? 0) << 16,
            data: { type: "opt", options: [] },
          },
        ]
      : [],
  };
  return encodeMessage(msg);
}

function show(r: Record): string {
  const d = r.data;
  const data = JSON.stringify(d, (_k, v) =>
    v && typeof v === "object" && v.type === "Buffer"
      ? Buffer.from(v.data).toString("hex")
      : typeof v === "string"
        ? v.toLowerCase()
        : v,
  );
  return `${r.name.toLowerCase()} ${r.ttl} ${typeName(r.type)} ${data}`;
}

/** What must agree: rcode, header flags, question, and each section as a sorted list. */
export function summary(wire: Buffer) {
  const m = decodeMessage(wire);
  const opt = m.additional.find((r) => r.type === RRType.OPT);
  const ext = opt ? (opt.ttl >>> 24) << 4 : 0;
  return {
    rcode: m.rcode | ext,
    flags: ["QR", "AA", "TC", "RD", "RA"].filter((f) => m.flags & Flag[f as keyof typeof Flag]).join(" "),
    question: m.questions.map((q) => `${q.name} ${typeName(q.type)}`),
    answer: m.answers.map(show).sort(),
    authority: m.authority.map(show).sort(),
    additional: m.additional
      .filter((r) => r.type !== RRType.OPT)
      .map(show)
      .sort(),
    opt: opt ? { payload: opt.klass, version: (opt.ttl >>> 16) & 0xff } : null,
  };
}

before(async () => {
  if (
    process.env.CI !== "true" &&
    !(await import("node:child_process")).spawnSync("sh", ["-c", "command -v knotd"]).stdout.length
  )
    return;
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-knot-"));
  copyFileSync(zoneFile, path.join(dir, "example.test.zone"));
  knotPort = await freePort();
  writeFileSync(
    path.join(dir, "knot.conf"),
    `server:
    listen: 127.0.0.1@${knotPort}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: ${dir}
    user: root:root
database:
    storage: ${dir}/db
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: ${dir}
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.test
    file: ${dir}/example.test.zone
`,
  );
  knot = spawn("knotd", ["-c", path.join(dir, "knot.conf")], { stdio: ["ignore", "ignore", "inherit"] });
  ferry = await DnsService.start({
    listen: [{ host: "127.0.0.1", port: 0 }],
    zones: [{ file: zoneFile, origin: "example.test" }],
    tcpIdleTimeout: 2000,
  });
  ferryPort = ferry.addresses[0]!.port;
  // Wait until Knot has loaded the zone.
  for (let i = 0; i < 50; i++) {
    try {
      const r = await ask(knotPort, query("example.test", RRType.SOA), true, 300);
      if (r && summary(r).answer.length === 1) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
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
