import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { needTool, waitFor } from "./helpers.js";

const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));
const fixture = fileURLToPath(new URL("../../test/fixtures/dns/example.test.zone", import.meta.url));
let child: ChildProcess;
let port = 0;
let stderr = "";
let zone: string;

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-dns-"));
  zone = path.join(dir, "example.test.zone");
  copyFileSync(fixture, zone);
  child = spawn(process.execPath, [bin, "serve", "--dns", "127.0.0.1:0", "--zone", zone], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c;
      const m = /answering DNS on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m && !port) {
        port = Number(m[1]);
        resolve();
      }
    });
    child.on("exit", (code) => reject(new Error(`ferry exited ${code}: ${stderr}`)));
  });
});
after(() => child.kill("SIGKILL"));

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(cmd, args, { encoding: "utf8" }, (_e, out) => resolve(out)));
}

const dig = (...args: string[]) =>
  run("dig", [`@127.0.0.1`, "-p", String(port), "+time=2", "+tries=1", ...args]);

test("serve --dns alone starts DNS only, and logs the zone serial", () => {
  assert.match(stderr, /zone example\.test loaded: serial 2026112801/);
  assert.doesNotMatch(stderr, /Ferry serving http/);
});

test("dig: an authoritative answer over UDP and TCP", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  for (const transport of ["+notcp", "+tcp"]) {
    const out = await dig("www.example.test", "A", "+norec", transport);
    assert.match(out, /status: NOERROR/);
    assert.match(out, /flags: qr aa;/);
    assert.match(out, /www\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10/);
  }
});

test("dig: NXDOMAIN with the SOA and a negative TTL of min(TTL, MINIMUM)", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  const out = await dig("nope.example.test", "A");
  assert.match(out, /status: NXDOMAIN/);
  assert.match(out, /example\.test\.\s+60\s+IN\s+SOA/);
});

test("dig: a big answer is truncated over UDP without EDNS, and dig retries over TCP", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  const out = await dig("big.example.test", "AAAA", "+noedns");
  assert.match(out, /Truncated, retrying in TCP mode/);
  assert.match(out, /ANSWER: 60,/);
});

test("dig echoes the question's letter case (0x20)", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  const out = await dig("WwW.eXaMpLe.TeSt", "A");
  assert.match(out, /;WwW\.eXaMpLe\.TeSt\.\s+IN\s+A/);
  assert.match(out, /WwW\.eXaMpLe\.TeSt\.\s+300\s+IN\s+A\s+192\.0\.2\.1\d/);
});

test("kdig: EDNS payload 1232, REFUSED outside the zone", async (t) => {
  if (!needTool(t, "kdig", "knot-dnsutils")) return;
  const out = await run("kdig", [`@127.0.0.1`, "-p", String(port), "www.example.test", "A", "+edns"]);
  assert.match(out, /Version: 0; flags: ; UDP size: 1232 B/);
  const refused = await run("kdig", [`@127.0.0.1`, "-p", String(port), "example.org", "A"]);
  assert.match(refused, /status: REFUSED/);
});

test("SIGHUP reloads the zone; a broken zone keeps its last good copy", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  const text = readFileSync(zone, "utf8");
  writeFileSync(zone, text.replace("2026112801", "2026112802").replace("192.0.2.10", "192.0.2.11"));
  child.kill("SIGHUP");
  await waitFor(() => /serial 2026112802/.test(stderr), "the reloaded zone");
  assert.match(await dig("www.example.test", "+short"), /^192\.0\.2\.11$/m);
  writeFileSync(zone, `${text}\nbroken IN A not-an-address\n`);
  child.kill("SIGHUP");
  await waitFor(() => /ERR_DNS_ZONE_SYNTAX/.test(stderr), "the refused zone");
  assert.match(await dig("www.example.test", "+short"), /^192\.0\.2\.11$/m);
  assert.match(stderr, /"code":"ERR_DNS_ZONE_SYNTAX"[^\n]*example\.test\.zone:\d+: not an IPv4 address/);
  assert.match(stderr, /still serving the last good copy/);
});

test("ferry check parses zone files and names the bad line (exit 2)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-check-"));
  copyFileSync(fixture, path.join(dir, "example.test.zone"));
  writeFileSync(path.join(dir, "ferry.yaml"), "dns:\n  zones:\n    - file: example.test.zone\n");
  const ok = spawnSync(process.execPath, [bin, "check", "--config", "ferry.yaml"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /zone example\.test: serial 2026112801/);
  writeFileSync(path.join(dir, "example.test.zone"), `${readFileSync(fixture, "utf8")}oops IN MX ten mail\n`);
  const bad = spawnSync(process.execPath, [bin, "check", "--config", "ferry.yaml"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /example\.test\.zone:\d+: MX preference must be 0-65535, got ten \(ERR_DNS_ZONE_SYNTAX\)/,
  );
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

function lookup(...args: string[]) {
  return spawnSync(process.execPath, [bin, "lookup", ...args], { encoding: "utf8" });
}

test("ferry lookup answers like dig: flags, sections, TTLs, server, time", () => {
  const r = lookup("www.example.test", "--server", `127.0.0.1:${port}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /status: NOERROR/);
  assert.match(r.stdout, /flags: qr aa rd; QUERY: 1, ANSWER: 1/);
  assert.match(r.stdout, /;; ANSWER SECTION:\nwww\.example\.test\.\t300\tIN\tA\t192\.0\.2\.1\d/);
  assert.match(r.stdout, new RegExp(`;; SERVER: 127\\.0\\.0\\.1:${port} \\(UDP\\)`));
  assert.match(r.stdout, /;; Query time: [\d.]+ ms/);
  const mx = lookup("example.test", "MX", "--server", `127.0.0.1:${port}`, "--tcp");
  assert.match(mx.stdout, /example\.test\.\t300\tIN\tMX\t10 mail\.example\.test\./);
  assert.match(mx.stdout, /ADDITIONAL SECTION:\nmail\.example\.test\.\t300\tIN\tA\t192\.0\.2\.25/);
  assert.match(mx.stdout, /\(TCP\)/);
});

test("ferry lookup --server with a host name (regression: answers were matched against the name, not its address)", () => {
  const r = lookup("www.example.test", "--server", `localhost:${port}`, "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).rcode, "NOERROR");
});

test("ferry lookup --json; a truncated answer is asked again over TCP", () => {
  const r = lookup("nope.example.test", "AAAA", "--server", `127.0.0.1:${port}`, "--json");
  const j = JSON.parse(r.stdout);
  assert.equal(j.rcode, "NXDOMAIN");
  assert.deepEqual(j.flags, ["qr", "aa", "rd"]);
  assert.equal(j.authority[0].type, "SOA");
  assert.equal(j.authority[0].ttl, 60);
  assert.equal(j.edns.udpPayload, 1232);
  const big = JSON.parse(
    lookup("big.example.test", "AAAA", "--server", `127.0.0.1:${port}`, "--json").stdout,
  );
  assert.equal(big.retriedOverTcp, true);
  assert.equal(big.transport, "tcp");
  assert.equal(big.answer.length, 60);
});

test("ferry lookup: usage errors exit 2, no answer exits 1 (ERR_DNS_LOOKUP)", async () => {
  assert.equal(lookup().status, 2);
  assert.equal(lookup("x.test", "BOGUS", "--server", "127.0.0.1:53").status, 2);
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
  const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const c = spawn(
      process.execPath,
      [bin, "lookup", "x.test", "--server", `127.0.0.1:${silent.address().port}`],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    c.stderr!.on("data", (d: Buffer) => (err += d));
    c.on("exit", (code) => resolve({ code, err }));
  });
  silent.close();
  assert.equal(r.code, 1);
  assert.match(r.err, /no answer from 127\.0\.0\.1:\d+ within 3000 ms \(ERR_DNS_LOOKUP\)/);
});

test("a zone file change is picked up without a signal, and the serial is logged", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  const text = readFileSync(zone, "utf8").replace(/\nbroken IN A not-an-address\n/, "\n");
  // The file holds the fixture as the SIGHUP test left it: serial 2026112801, www at 192.0.2.10.
  writeFileSync(zone, text.replace("2026112801", "2026112803").replace("192.0.2.10", "192.0.2.12"));
  let answer = "";
  for (let i = 0; i < 40 && !/192\.0\.2\.12/.test(answer); i++) {
    await new Promise((r) => setTimeout(r, 100));
    answer = await dig("www.example.test", "+short");
  }
  assert.match(answer, /^192\.0\.2\.12$/m);
  assert.match(stderr, /serial 2026112803/);
});

test("zones written inline in ferry.yaml; their mistakes name the zone and the line", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-inline-"));
  const yaml = (records: string) =>
    `dns:\n  zones:\n    - origin: inline.test\n      records: |\n${records
      .split("\n")
      .map((l) => `        ${l}`)
      .join("\n")}\n`;
  writeFileSync(path.join(dir, "ok.yaml"), yaml("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1"));
  const ok = spawnSync(process.execPath, [bin, "check", "--config", "ok.yaml"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /zone inline\.test: serial 1, 3 records/);
  writeFileSync(path.join(dir, "bad.yaml"), yaml("$TTL 60\n@ SOA ns hm 1 2 3 4 5\nns A 999.0.0.1"));
  const bad = spawnSync(process.execPath, [bin, "check", "--config", "bad.yaml"], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad\.yaml \(dns\.zones\[0\], inline\.test\):3: not an IPv4 address/);
});
