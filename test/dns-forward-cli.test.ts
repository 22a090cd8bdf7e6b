/**
 * The forwarder as a user turns it on (issue 9): the `ferry` binary with
 * `--forward`, and with `dns.forward`, `dns.forwardTimeout` and
 * `dns.cacheSize` in YAML, against Knot as upstream; and forwarded answers
 * scrubbed to the question's bailiwick, against an upstream that tries to
 * slip unrelated records in.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import dnsPacket from "dns-packet";
import { RRType } from "../src/dns/wire/constants.js";
import { needTool } from "./helpers.js";
import { hasKnot, must, query, startKnot, summary } from "./knot.js";

const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));
const zoneFile = fileURLToPath(new URL("../../test/fixtures/dns/example.test.zone", import.meta.url));
const children: ChildProcess[] = [];
let knot: ChildProcess | undefined;
let knotPort = 0;

/** Starts `ferry serve ARGS`; resolves to its DNS port once it says it answers. */
function ferry(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [bin, "serve", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c;
      const m = /answering DNS on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`ferry exited ${code}: ${stderr}`)));
  });
}

function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-fwd-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(file, text);
  return file;
}

before(async () => {
  if (process.env.CI !== "true" && !hasKnot()) return;
  const k = await startKnot(zoneFile, "example.test");
  knot = k.child;
  knotPort = k.port;
});

after(() => {
  for (const c of children) c.kill("SIGKILL");
  knot?.kill("SIGTERM");
});

describe("turning the forwarder on", () => {
  test("--forward IP:PORT: names outside the zones are answered by the upstream", async (t) => {
    if (!needTool(t, "knotd", "knot")) return;
    const port = await ferry(["--dns", "127.0.0.1:0", "--forward", `127.0.0.1:${knotPort}`]);
    const a = summary(await must(port, query("www.example.test", RRType.A), false));
    assert.equal(a.rcode, 0);
    assert.equal(a.flags, "QR RD RA");
    assert.deepEqual(a.answer, ['www.example.test 300 A {"type":"a","address":"192.0.2.10"}']);
  });

  test("without --forward the same name is REFUSED (the flag is what turned it on)", async () => {
    const port = await ferry(["--dns", "127.0.0.1:0"]);
    assert.equal(summary(await must(port, query("www.example.test", RRType.A), false)).rcode, 5);
  });

  test("dns.forward, dns.forwardTimeout and dns.cacheSize from YAML", async (t) => {
    if (!needTool(t, "knotd", "knot")) return;
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
    try {
      const file = yamlFile(`dns:
  listen: ["127.0.0.1:0"]
  forward: ["127.0.0.1:${silent.address().port}", "127.0.0.1:${knotPort}"]
  forwardTimeout: 150ms
  cacheSize: 0
`);
      const port = await ferry(["--config", file]);
      // forwardTimeout: the silent first upstream costs 2 × 150 ms, not 2 × the default 2 s.
      const t0 = performance.now();
      const first = summary(await must(port, query("www.example.test", RRType.A), false));
      const took = performance.now() - t0;
      assert.equal(first.answer.length, 1);
      assert.ok(took < 1200, `took ${Math.round(took)} ms`);
      // cacheSize 0: nothing is kept, so a second answer a second later has the full TTL again.
      await new Promise((r) => setTimeout(r, 1100));
      const second = summary(await must(port, query("www.example.test", RRType.A), false));
      assert.deepEqual(second.answer, first.answer);
      assert.match(second.answer[0]!, / 300 A /);
    } finally {
      silent.close();
    }
  });
});

describe("forwarded answers keep to the question's bailiwick", () => {
  let upstream: dgram.Socket;
  let asked: string[] = [];
  let port = 0;
  const A = (name: string, data: string) => ({ type: "A" as const, name, ttl: 86400, data });

  before(async () => {
    upstream = dgram.createSocket("udp4");
    // An upstream that answers every question with records about other names too.
    upstream.on("message", (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const name = q.questions![0]!.name;
      asked.push(name);
      const answers: dnsPacket.Answer[] = [A(name, "192.0.2.1")];
      if (name !== "victim.test") answers.push(A("victim.test", "203.0.113.66"));
      if (name === "cn.evil.test")
        answers.splice(
          0,
          1,
          { type: "CNAME", name, ttl: 60, data: "www.own.test" },
          A("www.own.test", "203.0.113.66"),
        );
      if (name === "chain.evil.test")
        answers.splice(0, 1, A("end.evil.test", "192.0.2.2"), {
          type: "CNAME",
          name,
          ttl: 60,
          data: "end.evil.test",
        });
      const out = dnsPacket.encode({
        id: q.id,
        type: "response",
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: q.questions,
        answers,
        authorities: [
          { type: "NS", name: "evil.test", ttl: 86400, data: "ns.evil.test" },
          { type: "NS", name: "example.invalid", ttl: 999999, data: "ns.example.invalid" },
          { type: "NS", name: "own.test", ttl: 999999, data: "ns.evil.test" },
        ],
        additionals: [
          A("ns.evil.test", "192.0.2.53"),
          A("ns.example.invalid", "203.0.113.53"),
          A("www.own.test", "203.0.113.66"),
        ],
      });
      upstream.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => upstream.bind(0, "127.0.0.1", () => r()));
    const file = yamlFile(`dns:
  listen: ["127.0.0.1:0"]
  forward: ["127.0.0.1:${upstream.address().port}"]
  zones:
    - origin: own.test
      records: |
        $TTL 300
        @   SOA ns hostmaster 1 2h 1h 2w 5m
            NS  ns
        ns  A 127.0.0.1
        www A 127.0.0.1
`);
    port = await ferry(["--config", file]);
  });
  after(() => upstream.close());

  test("unrelated names are dropped from every section; the question's chain and its servers stay", async () => {
    asked = [];
    const a = summary(await must(port, query("www.evil.test", RRType.A), false));
    assert.deepEqual(a.answer, ['www.evil.test 86400 A {"type":"a","address":"192.0.2.1"}']);
    assert.deepEqual(a.authority, ['evil.test 86400 NS {"type":"name","name":"ns.evil.test"}']);
    assert.deepEqual(a.additional, ['ns.evil.test 86400 A {"type":"a","address":"192.0.2.53"}']);
  });

  test("a CNAME into Ferry's own zone is kept, the upstream's data for that zone is not", async () => {
    const a = summary(await must(port, query("cn.evil.test", RRType.A), false));
    assert.deepEqual(a.answer, ['cn.evil.test 60 CNAME {"type":"name","name":"www.own.test"}']);
    // Ferry's own zone still answers from itself.
    const own = summary(await must(port, query("www.own.test", RRType.A), false));
    assert.deepEqual(own.answer, ['www.own.test 300 A {"type":"a","address":"127.0.0.1"}']);
  });

  test("a chain in any order is followed", async () => {
    const a = summary(await must(port, query("chain.evil.test", RRType.A), false));
    assert.deepEqual(a.answer, [
      'chain.evil.test 60 CNAME {"type":"name","name":"end.evil.test"}',
      'end.evil.test 86400 A {"type":"a","address":"192.0.2.2"}',
    ]);
  });

  test("dropped records are never cached: asking for them goes upstream", async () => {
    asked = [];
    const a = summary(await must(port, query("victim.test", RRType.A), false));
    assert.deepEqual(asked, ["victim.test"], "victim.test was answered from a cache it should not be in");
    assert.deepEqual(a.answer, ['victim.test 86400 A {"type":"a","address":"192.0.2.1"}']);
  });
});
