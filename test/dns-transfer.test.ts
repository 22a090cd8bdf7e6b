/**
 * Ferry as a DNS primary with real peers: kdig asks for AXFR and IXFR (and
 * checks every TSIG signature), Knot and BIND run as secondaries fed by
 * NOTIFY, AXFR and then IXFR, with and without a TSIG key; a wrong key is
 * refused and logged. Ferry runs as `ferry serve --config` with YAML.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { DnsService } from "../src/dns/service.js";
import { RRType } from "../src/dns/wire/constants.js";
import { type FerryProcess, needTool, spawnFerry, waitFor } from "./helpers.js";
import { ask, freePort, query, summary } from "./knot.js";
import { type Secondary, startBindSecondary, startKnotPrimary, startKnotSecondary } from "./secondaries.js";

const KEY = { name: "xfr-key", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
const WRONG = { ...KEY, secret: randomBytes(32).toString("base64") };

const running: { stop: () => void }[] = [];
after(() => {
  for (const r of running) r.stop();
});

function zoneText(origin: string, serial: number, www: string, extra = 0): string {
  const lines = [
    `$ORIGIN ${origin}.`,
    "$TTL 300",
    `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 60`,
    "@ IN NS ns1",
    "ns1 IN A 192.0.2.1",
    `www IN A ${www}`,
    'txt IN TXT "hello"',
  ];
  for (let i = 0; i < extra; i++) lines.push(`h${i} IN TXT "${"x".repeat(40)} ${i}"`);
  return `${lines.join("\n")}\n`;
}

interface Primary {
  ferry: FerryProcess;
  port: number;
  /** The admin listener's port (inspector and /metrics). */
  admin: number;
  dir: string;
  /** Rewrites a zone file (serial and www's address) and waits until Ferry reloaded it. */
  edit: (origin: string, serial: number, www: string) => Promise<void>;
  logs: () => string;
}

async function primary(
  zones: { origin: string; allow?: string[]; tsig?: boolean; notify?: number[]; extra?: number }[],
  dnsKeys: string[] = [],
  topKeys: string[] = [],
): Promise<Primary> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-xfr-"));
  const [port, admin] = [await freePort(), await freePort()];
  const yaml = [
    ...topKeys,
    `admin: { listen: "127.0.0.1:${admin}" }`,
    "dns:",
    `  listen: ["127.0.0.1:${port}"]`,
    ...dnsKeys.map((k) => `  ${k}`),
    "  tsig:",
    `    - { name: ${KEY.name}, algorithm: ${KEY.algorithm}, secret: "${KEY.secret}" }`,
    "  zones:",
  ];
  for (const z of zones) {
    writeFileSync(path.join(dir, `${z.origin}.zone`), zoneText(z.origin, 1, "192.0.2.10", z.extra));
    yaml.push(`    - file: ${z.origin}.zone`);
    if (z.allow)
      yaml.push(
        `      transfer: { allow: ${JSON.stringify(z.allow)}${z.tsig ? `, tsig: ${KEY.name}` : ""} }`,
      );
    if (z.notify) yaml.push(`      notify: ${JSON.stringify(z.notify.map((p) => `127.0.0.1:${p}`))}`);
  }
  writeFileSync(path.join(dir, "ferry.yaml"), `${yaml.join("\n")}\n`);
  const ferry = await spawnFerry(
    ["serve", "--config", path.join(dir, "ferry.yaml")],
    [/answering DNS on 127\.0\.0\.1:(\d+)/],
  );
  running.push({ stop: () => ferry.child.kill("SIGKILL") });
  const logs = () => ferry.stdout() + ferry.stderr();
  return {
    ferry,
    port,
    admin,
    dir,
    logs,
    edit: async (origin, serial, www) => {
      writeFileSync(
        path.join(dir, `${origin}.zone`),
        zoneText(origin, serial, www, zones.find((z) => z.origin === origin)?.extra),
      );
      await waitFor(
        () => logs().includes(`zone ${origin} loaded: serial ${serial}`),
        `Ferry reloading ${origin} at serial ${serial}; it logged: ${logs()}`,
        5000,
      );
    },
  };
}

function kdig(port: number, args: string[]): string {
  const r = spawnSync("kdig", [`@127.0.0.1`, "-p", String(port), "+time=2", "+retry=0", ...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.stdout + r.stderr;
}

/**
 * kdig's signed AXFR of `origin`, through a relay that keeps what kdig sent
 * (what someone on the path could record): kdig's output and the request's bytes.
 */
async function recordAxfr(port: number, origin: string): Promise<{ first: string; request: Buffer }> {
  const recorded: Buffer[] = [];
  const relay = net.createServer((c) => {
    const up = net.connect(port, "127.0.0.1");
    c.on("data", (d: Buffer) => recorded.push(d));
    c.pipe(up).pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
  running.push({ stop: () => relay.close() });
  const y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
  // kdig runs while this process relays (spawnSync would stop the relay).
  const relayPort = (relay.address() as net.AddressInfo).port;
  const first = await new Promise<string>((resolve) =>
    execFile(
      "kdig",
      ["@127.0.0.1", "-p", String(relayPort), "+time=2", "+retry=0", "+tcp", "-y", y, origin, "AXFR"],
      (_err, stdout, stderr) => resolve(stdout + stderr),
    ),
  );
  relay.close();
  return { first, request: Buffer.concat(recorded) };
}

/** An AXFR of `origin` asked over a connection that then reads nothing (its transfer waits, holding a slot). */
async function stalledAxfr(port: number, origin: string): Promise<net.Socket> {
  const stalled = net.connect({ host: "127.0.0.1", port });
  await new Promise((r) => stalled.once("connect", r));
  stalled.pause();
  const q = query(origin, RRType.AXFR);
  const framed = Buffer.alloc(2 + q.length);
  framed.writeUInt16BE(q.length, 0);
  q.copy(framed, 2);
  stalled.write(framed);
  return stalled;
}

/** Sends framed DNS bytes over a new TCP connection: the first message that comes back. */
function sendRaw(port: number, request: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(request));
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        s.destroy();
        resolve(all.subarray(2, 2 + all.readUInt16BE(0)));
      }
    });
    s.on("error", reject);
  });
}

/** The address `name` has on the server at `port`, or null (no answer, or not the zone yet). */
async function addressOn(port: number, name: string): Promise<string | null> {
  const a = await ask(port, query(name, RRType.A), false, 500);
  if (a === null) return null;
  const s = summary(a);
  return s.answer.length === 1 ? JSON.parse(s.answer[0]!.split(" ").slice(3).join(" ")).address : null;
}

async function waitAddress(port: number, name: string, want: string, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await addressOn(port, name)) === want) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`${name} is not ${want} on port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("ferry check lists who may transfer each zone and whom it notifies, never the key's secret", async () => {
  const p = await primary([{ origin: "check.test", allow: ["127.0.0.1/32"], tsig: true, notify: [5399] }]);
  p.ferry.child.kill("SIGKILL");
  const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;
  for (const json of [false, true]) {
    const r = spawnSync(
      process.execPath,
      [bin, "check", "--config", path.join(p.dir, "ferry.yaml"), ...(json ? ["--json"] : [])],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(KEY.secret), "the secret in ferry check's output");
    if (!json) {
      assert.match(
        r.stdout,
        /zone check\.test: serial 1, 5 records\n {4}transfer to 127\.0\.0\.1\/32 \(signed with key xfr-key\)\n {4}notify 127\.0\.0\.1:5399/,
      );
    }
  }
});

test("a zone file edited between its load and the watcher's start is still reloaded (same size, same second)", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-watch-"));
  const file = path.join(dir, "w.test.zone");
  writeFileSync(file, zoneText("w.test", 1, "192.0.2.10"));
  const svc = await DnsService.start({
    listen: [{ host: "127.0.0.1", port: 0 }],
    zones: [{ file, origin: "w.test", transfer: null, notify: [] }],
    tsig: [],
    forward: [],
    forwardTimeout: 1000,
    cacheSize: 10,
    tcpIdleTimeout: 1000,
    tcpMessageTimeout: 1000,
    tcpMaxConnections: 10,
    transfersOut: 10,
    tls: null,
  });
  running.push({ stop: () => void svc.close() });
  writeFileSync(file, zoneText("w.test", 2, "192.0.2.20"));
  let reloaded = "";
  svc.watch((reports) => (reloaded = reports[0]!.message), 50);
  await waitFor(() => reloaded.includes("serial 2"), "the reload of the edit");
  assert.equal(await addressOn(svc.addresses[0]!.port, "www.w.test"), "192.0.2.20");
});

describe("AXFR and IXFR to kdig", () => {
  test("the whole zone to an allowed client; REFUSED to others; NOTAUTH for a zone not served", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary([
      { origin: "open.test", allow: ["127.0.0.1/32"] },
      { origin: "closed.test", allow: ["127.0.0.2/32"] },
      { origin: "none.test" },
    ]);
    const out = kdig(p.port, ["open.test", "AXFR"]);
    assert.match(out, /Received \d+ B \(1 messages, 6 records\)/, out);
    assert.match(out, /^open\.test\.\s+300\s+IN\s+SOA\s.*\s1 3600/m);
    assert.equal((out.match(/\sSOA\s/g) ?? []).length, 2, "the SOA first and last");
    assert.match(kdig(p.port, ["closed.test", "AXFR"]), /REFUSED/);
    assert.match(kdig(p.port, ["none.test", "AXFR"]), /REFUSED/);
    assert.match(kdig(p.port, ["www.open.test", "AXFR"]), /NOTAUTH/);
    await waitFor(
      () =>
        /"code":"ERR_DNS_TRANSFER_REFUSED".*closed\.test|closed\.test.*"code":"ERR_DNS_TRANSFER_REFUSED"/.test(
          p.logs(),
        ),
      "the refusal in the log",
    );
    // Queries over UDP are untouched: transfers are TCP only.
    assert.equal(await addressOn(p.port, "www.open.test"), "192.0.2.10");
  });

  test("TSIG: a big signed AXFR is signed back message by message; unsigned is refused; a wrong secret gets BADSIG", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary([{ origin: "signed.test", allow: ["127.0.0.1/32"], tsig: true, extra: 3000 }]);
    const y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
    const out = kdig(p.port, ["-y", y, "signed.test", "AXFR"]);
    const m = /Received \d+ B \((\d+) messages, (\d+) records\)/.exec(out);
    assert.ok(m, out.slice(-500));
    assert.ok(Number(m[1]) > 3, `${m[1]} messages`);
    assert.equal(Number(m[2]), 3006);
    assert.doesNotMatch(out, /WARNING|failed to verify|;; ERROR/);
    assert.match(kdig(p.port, ["signed.test", "AXFR"]), /REFUSED/);
    const bad = kdig(p.port, [
      "-y",
      `${WRONG.algorithm}:${WRONG.name}:${WRONG.secret}`,
      "signed.test",
      "AXFR",
    ]);
    assert.match(bad, /NOTAUTH|BADSIG/);
    const unknown = kdig(p.port, ["-y", `hmac-sha256:nobody:${KEY.secret}`, "signed.test", "SOA"]);
    assert.match(unknown, /BADKEY/);
    // A signed plain query is answered and signed too (what a secondary's SOA refresh sends).
    const soa = kdig(p.port, ["-y", y, "signed.test", "SOA"]);
    assert.match(soa, /status: NOERROR/);
    assert.match(soa, /TSIG\s+hmac-sha256\.\s+\d+ 300 32 \S+ \d+ NOERROR/);
    assert.doesNotMatch(soa, /WARNING/);
    await waitFor(() => p.logs().includes('"code":"ERR_DNS_TSIG"'), "the TSIG failure in the log");
    assert.ok(!p.logs().includes(KEY.secret) && !p.logs().includes(WRONG.secret), "a secret in the log");
  });

  test("TSIG: kdig's signed AXFR recorded and sent again is REFUSED (a replay) and logged; kdig's next request is answered", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary([{ origin: "replay.test", allow: ["127.0.0.1/32"], tsig: true }]);
    const y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
    const { first, request } = await recordAxfr(p.port, "replay.test");
    assert.match(first, /Received \d+ B \(1 messages, 6 records\)/, first.slice(-500));
    // The same bytes again, well within the request's time window.
    const answer = await sendRaw(p.port, request);
    assert.equal(answer.readUInt16BE(0), request.readUInt16BE(2), "the request's ID");
    assert.equal(answer.readUInt16BE(2) & 0xf, 5, "REFUSED");
    assert.equal(answer.readUInt16BE(6), 0, "no records");
    await waitFor(() => p.logs().includes("a replayed request"), "the replay in the log");
    // kdig signs each request anew: the next one is answered.
    assert.match(kdig(p.port, ["+tcp", "-y", y, "replay.test", "AXFR"]), /\(1 messages, 6 records\)/);
    assert.ok(!p.logs().includes(KEY.secret), "the secret in the log");
  });

  test("IXFR: the steps since the client's serial, the SOA alone when current, the whole zone past the journal", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary([{ origin: "inc.test", allow: ["127.0.0.1/32"] }]);
    await p.edit("inc.test", 2, "192.0.2.20");
    await p.edit("inc.test", 3, "192.0.2.30");
    const steps = kdig(p.port, ["inc.test", "IXFR=1"]);
    const serials = [...steps.matchAll(/\sSOA\s+\S+ \S+ (\d+) 3600/g)].map((x) => Number(x[1]));
    assert.deepEqual(serials, [3, 1, 2, 2, 3, 3], steps);
    assert.match(steps, /www\.inc\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10/);
    assert.match(steps, /www\.inc\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.30/);
    const current = kdig(p.port, ["inc.test", "IXFR=3"]);
    assert.match(current, /1 messages, 1 records/, current);
    const whole = kdig(p.port, ["inc.test", "IXFR=0"]);
    assert.match(whole, /1 messages, 6 records/, whole);
    await waitFor(() => /"kind":"ixfr".*"full":true/.test(p.logs()), "the whole-zone IXFR in the log");
    // An edit that keeps the serial is served, and the log warns that secondaries will not see it.
    writeFileSync(path.join(p.dir, "inc.test.zone"), zoneText("inc.test", 3, "192.0.2.99"));
    await waitFor(
      () => /"level":40.*secondaries will not pick this change up/.test(p.logs()),
      "the warning of an edit without a new serial",
    );
    assert.match(kdig(p.port, ["www.inc.test", "A"]), /192\.0\.2\.99/);
  });
});

test("dns.transfersOut: one transfer more than the cap is REFUSED while the others are still being read, then served", async (t) => {
  if (!needTool(t, "kdig", "knot-dnsutils")) return;
  // A zone of ~6 MB encoded: more than the kernel buffers a client that reads nothing lets through.
  const p = await primary(
    [{ origin: "big.test", allow: ["127.0.0.1/32"], extra: 90_000 }],
    ["transfersOut: 1"],
  );
  const stalled = await stalledAxfr(p.port, "big.test");
  await new Promise((r) => setTimeout(r, 500));
  const refused = kdig(p.port, ["big.test", "AXFR"]);
  assert.match(refused, /REFUSED/, refused.slice(0, 500));
  await waitFor(() => /too many zone transfers in progress/.test(p.logs()), "the refusal in the log");
  // The stalled client goes: its slot is free again.
  stalled.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const served = kdig(p.port, ["big.test", "AXFR"]);
  assert.doesNotMatch(served, /REFUSED/);
  assert.match(served, /^h89999\.big\.test\.\s/m);
});

describe("with workers: the primary process decides replays and dns.transfersOut for all of them", () => {
  test("a signed AXFR recorded on its way to one worker is REFUSED by every worker it is sent to again", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary(
      [{ origin: "wreplay.test", allow: ["127.0.0.1/32"], tsig: true }],
      [],
      ["workers: 2"],
    );
    const { first, request } = await recordAxfr(p.port, "wreplay.test");
    assert.match(first, /Received \d+ B \(1 messages, 6 records\)/, first.slice(-500));
    // The cluster hands connections to the workers in turn: four new connections reach both.
    for (let i = 0; i < 4; i++) {
      const answer = await sendRaw(p.port, request);
      assert.equal(answer.readUInt16BE(2) & 0xf, 5, `REFUSED on connection ${i + 1}`);
      assert.equal(answer.readUInt16BE(6), 0, "no records");
    }
    // Each worker logged a refusal (the log says a repeated warning once per while).
    for (const w of [1, 2])
      await waitFor(
        () => new RegExp(`"worker":${w},[^\n]*a replayed request`).test(p.logs()),
        `worker ${w}'s refusal in the log`,
      );
    // A new request, signed anew, is answered by whichever worker takes it.
    const y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
    for (let i = 0; i < 2; i++)
      assert.match(kdig(p.port, ["+tcp", "-y", y, "wreplay.test", "AXFR"]), /\(1 messages, 6 records\)/);
  });

  test("dns.transfersOut: 1 is one transfer across both workers; the slot comes back when its client goes", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary(
      [{ origin: "wbig.test", allow: ["127.0.0.1/32"], extra: 90_000 }],
      ["transfersOut: 1"],
      ["workers: 2"],
    );
    const stalled = await stalledAxfr(p.port, "wbig.test");
    // Its messages wait for a client that reads nothing: it holds the one slot.
    await waitFor(
      () => /"zone":"wbig\.test"[^\n]*zone transfer \(AXFR\) served/.test(p.logs()),
      "the stalled transfer",
    );
    // Connections go to the workers in turn: three reach the stalled transfer's worker and the other.
    for (let i = 0; i < 3; i++) {
      const refused = kdig(p.port, ["wbig.test", "AXFR"]);
      assert.match(refused, /REFUSED/, `transfer ${i + 1}: ${refused.slice(0, 500)}`);
    }
    for (const w of [1, 2])
      await waitFor(
        () => new RegExp(`"worker":${w},[^\n]*too many zone transfers in progress`).test(p.logs()),
        `worker ${w}'s refusal in the log`,
      );
    stalled.destroy();
    // Its slot comes back once its worker sees the connection close (a message to the primary).
    const deadline = Date.now() + 5000;
    // An IXFR from the current serial (the SOA alone, sent at once) asks for admission without holding a slot.
    while (/REFUSED/.test(kdig(p.port, ["wbig.test", "IXFR=1"]))) {
      assert.ok(Date.now() < deadline, "the slot came back within 5 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 2; i++) {
      const served = kdig(p.port, ["wbig.test", "AXFR"]);
      assert.doesNotMatch(served, /REFUSED/);
      assert.match(served, /^h89999\.wbig\.test\.\s/m);
    }
  });
});

describe("IXFR over UDP (RFC 1995 §2)", () => {
  test("an allowed client gets the current SOA alone (behind or current), signed when asked signed; others REFUSED; AXFR over UDP REFUSED", async (t) => {
    if (!needTool(t, "kdig", "knot-dnsutils")) return;
    const p = await primary([
      { origin: "u.test", allow: ["127.0.0.1/32"] },
      { origin: "us.test", allow: ["127.0.0.1/32"], tsig: true },
      { origin: "uc.test", allow: ["127.0.0.2/32"] },
    ]);
    await p.edit("u.test", 2, "192.0.2.20");
    for (const serial of [1, 2]) {
      const out = kdig(p.port, ["+notcp", "u.test", `IXFR=${serial}`]);
      assert.match(out, /\(UDP\)/, out);
      assert.match(out, /1 messages, 1 records/, out);
      const soas = [...out.matchAll(/^u\.test\.\s+300\s+IN\s+SOA\s+\S+ \S+ (\d+) 3600/gm)].map((m) => m[1]);
      assert.deepEqual(soas, ["2"], out);
      assert.doesNotMatch(out, /192\.0\.2\.20/, "no record but the SOA over UDP");
    }
    // A secondary that is behind then asks over TCP and gets the steps.
    assert.match(kdig(p.port, ["u.test", "IXFR=1"]), /192\.0\.2\.20/);
    const y = `${KEY.algorithm}:${KEY.name}:${KEY.secret}`;
    const signed = kdig(p.port, ["+notcp", "-y", y, "us.test", "IXFR=0"]);
    assert.match(signed, /1 messages, 1 records/, signed);
    assert.match(signed, /us\.test\.\s+300\s+IN\s+SOA\s/, signed);
    assert.doesNotMatch(signed, /WARNING|failed to verify|;; ERROR/, signed);
    assert.match(kdig(p.port, ["+notcp", "us.test", "IXFR=0"]), /REFUSED/, "unsigned, the zone needs a key");
    assert.match(kdig(p.port, ["+notcp", "uc.test", "IXFR=0"]), /REFUSED/, "not in transfer.allow");
    assert.match(kdig(p.port, ["+notcp", "u.test", "AXFR"]), /REFUSED/, "AXFR is TCP only");
    // A name that is not a zone's apex is not the transfer code's: the normal answer (REFUSED), no transfer logged.
    const inside = kdig(p.port, ["+notcp", "www.u.test", "IXFR=0"]);
    assert.match(inside, /REFUSED/, inside);
    assert.doesNotMatch(inside, /NOTAUTH/, inside);
    assert.doesNotMatch(p.logs(), /"zone":"www\.u\.test/);
    await waitFor(
      () => /IXFR over UDP answered with the current SOA/.test(p.logs()),
      "the UDP IXFR in the log",
    );
    // And among the queries the inspector and /metrics count, as UDP.
    const all = (
      (await (await fetch(`http://127.0.0.1:${p.admin}/api/events`)).json()) as {
        rows: { kind: string; type?: string; transport?: string; name?: string }[];
      }
    ).rows;
    const rows = all.filter((r) => r.kind === "dns" && r.type === "IXFR" && r.transport === "udp");
    assert.ok(rows.filter((r) => r.name === "u.test").length >= 2, JSON.stringify(all.slice(0, 5)));
  });
});

const SECONDARIES: [string, string, string, (o: Parameters<typeof startKnotSecondary>[0]) => Secondary][] = [
  ["Knot", "knotd", "knot", startKnotSecondary],
  ["BIND", "named", "bind9", startBindSecondary],
];

for (const [peer, tool, pkg, startSecondary] of SECONDARIES) {
  describe(`${peer} as Ferry's secondary`, () => {
    for (const signed of [true, false]) {
      test(`${signed ? "with" : "without"} TSIG: NOTIFY, AXFR, then an edit arrives by NOTIFY and IXFR within 2 s`, async (t) => {
        if (!needTool(t, tool, pkg)) return;
        const origin = `${peer.toLowerCase()}${signed ? "-signed" : ""}.test`;
        const sport = await freePort();
        const p = await primary([{ origin, allow: ["127.0.0.1/32"], tsig: signed, notify: [sport] }]);
        const s = startSecondary({
          zone: origin,
          port: sport,
          primaryPort: p.port,
          key: signed ? KEY : null,
        });
        running.push(s);
        // Ferry notified at start, perhaps before the secondary listened: the first copy comes by NOTIFY (retried) or by its own first refresh.
        await waitAddress(sport, `www.${origin}`, "192.0.2.10", 10_000).catch((err) => {
          throw new Error(`${err.message}\n${s.log().slice(-2000)}\n${p.logs().slice(-2000)}`);
        });
        await p.edit(origin, 2, "192.0.2.20");
        const ms = await waitAddress(sport, `www.${origin}`, "192.0.2.20", 2000).catch((err) => {
          throw new Error(`${err.message}\n${s.log().slice(-2000)}\n${p.logs().slice(-2000)}`);
        });
        t.diagnostic(`the edit reached ${peer} ${ms} ms after Ferry reloaded it`);
        await waitFor(() => /"kind":"ixfr"/.test(p.logs()), "an IXFR in Ferry's log");
        assert.match(p.logs(), /"kind":"ixfr","serial":2,"records":6/);
        assert.match(p.logs(), /"msg":"notify acknowledged"/);
        if (signed) assert.match(p.logs(), new RegExp(`"key":"${KEY.name}","kind":"ixfr"`));
        if (peer === "Knot") assert.doesNotMatch(s.log(), /fallback to AXFR/);
        s.stop();
      });
    }

    test("a secondary with the wrong secret gets nothing, and Ferry logs ERR_DNS_TSIG", async (t) => {
      if (!needTool(t, tool, pkg)) return;
      const origin = `${peer.toLowerCase()}-wrong.test`;
      const sport = await freePort();
      const p = await primary([{ origin, allow: ["127.0.0.1/32"], tsig: true, notify: [sport] }]);
      const s = startSecondary({ zone: origin, port: sport, primaryPort: p.port, key: WRONG });
      running.push(s);
      await waitFor(
        () => p.logs().includes('"code":"ERR_DNS_TSIG"'),
        "a TSIG failure in Ferry's log",
        10_000,
      );
      assert.equal(await addressOn(sport, `www.${origin}`), null);
      assert.doesNotMatch(p.logs(), /"kind":"(axfr|ixfr)"/);
      assert.ok(!p.logs().includes(WRONG.secret));
      s.stop();
    });
  });
}

describe("Ferry as a secondary of Knot", () => {
  for (const signed of [true, false]) {
    test(`${signed ? "with" : "without"} TSIG: AXFR first, an edit by NOTIFY and IXFR within 2 s, the copy on disk served after a restart with the primary gone`, async (t) => {
      if (!needTool(t, "knotd", "knot")) return;
      const origin = `sec${signed ? "-signed" : ""}.test`;
      const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-sec-"));
      const zoneFile = path.join(dir, `${origin}.zone`);
      writeFileSync(zoneFile, zoneText(origin, 1, "192.0.2.10"));
      const [kport, fport] = [await freePort(), await freePort()];
      const knot = startKnotPrimary({
        zone: origin,
        file: zoneFile,
        port: kport,
        notifyPort: fport,
        key: signed ? KEY : null,
      });
      running.push(knot);
      const yaml = [
        `state: ${path.join(dir, "state")}`,
        "dns:",
        `  listen: ["127.0.0.1:${fport}"]`,
        "  tsig:",
        `    - { name: ${KEY.name}, algorithm: ${KEY.algorithm}, secret: "${KEY.secret}" }`,
        "  zones:",
        `    - { origin: ${origin}, primary: "127.0.0.1:${kport}"${signed ? `, tsig: ${KEY.name}` : ""} }`,
      ];
      const conf = path.join(dir, "ferry.yaml");
      writeFileSync(conf, `${yaml.join("\n")}\n`);
      const start = async () => {
        const f = await spawnFerry(["serve", "--config", conf], [/answering DNS on 127\.0\.0\.1:(\d+)/]);
        running.push({ stop: () => f.child.kill("SIGKILL") });
        return f;
      };
      let ferry = await start();
      const logs = () => ferry.stdout() + ferry.stderr();
      const fail = (err: Error) => {
        throw new Error(`${err.message}\n${knot.log().slice(-1500)}\n${logs().slice(-1500)}`);
      };
      await waitAddress(fport, `www.${origin}`, "192.0.2.10", 10_000).catch(fail);
      await waitFor(() => logs().includes("secondary zone updated by AXFR"), "the AXFR in Ferry's log");
      writeFileSync(zoneFile, zoneText(origin, 2, "192.0.2.20"));
      knot.reload();
      const ms = await waitAddress(fport, `www.${origin}`, "192.0.2.20", 2000).catch(fail);
      t.diagnostic(`Knot's edit reached Ferry in ${ms} ms`);
      await waitFor(() => logs().includes("secondary zone updated by IXFR"), "the IXFR in Ferry's log");
      assert.match(logs(), /"kind":"ixfr","from":1/);
      // The copy on disk, then a restart with Knot gone: served at once from it.
      knot.stop();
      ferry.child.kill("SIGKILL");
      ferry = await start();
      assert.equal(await addressOn(fport, `www.${origin}`), "192.0.2.20");
      await waitFor(
        () => logs().includes("secondary zone served from its copy on disk"),
        "the load from disk",
      );
      await waitFor(
        () => logs().includes('"code":"ERR_DNS_SECONDARY"'),
        "the failed refresh with the primary gone",
      );
      assert.ok(!logs().includes(KEY.secret));
    });
  }

  test("the SOA timers as published: refresh and retry followed, and past expire the zone is no longer served", async (t) => {
    if (!needTool(t, "knotd", "knot")) return;
    const origin = "sec-expire.test";
    const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-sec-"));
    const zoneFile = path.join(dir, `${origin}.zone`);
    // refresh 1 s, retry 1 s, expire 3 s: honoured as published, not clamped.
    writeFileSync(zoneFile, zoneText(origin, 1, "192.0.2.10").replace("1 3600 600 86400 60", "1 1 1 3 60"));
    const [kport, fport] = [await freePort(), await freePort()];
    // Knot does not NOTIFY here (its notify target is a closed port): only Ferry's refresh timer finds serial 2.
    const knot = startKnotPrimary({
      zone: origin,
      file: zoneFile,
      port: kport,
      notifyPort: await freePort(),
      key: null,
    });
    running.push(knot);
    const conf = path.join(dir, "ferry.yaml");
    writeFileSync(
      conf,
      [
        `state: ${path.join(dir, "state")}`,
        "dns:",
        `  listen: ["127.0.0.1:${fport}"]`,
        `  zones: [{ origin: ${origin}, primary: "127.0.0.1:${kport}" }]`,
        "",
      ].join("\n"),
    );
    const ferry = await spawnFerry(["serve", "--config", conf], [/answering DNS on 127\.0\.0\.1:(\d+)/]);
    running.push({ stop: () => ferry.child.kill("SIGKILL") });
    await waitAddress(fport, `www.${origin}`, "192.0.2.10", 10_000);
    writeFileSync(zoneFile, zoneText(origin, 2, "192.0.2.20").replace("2 3600 600 86400 60", "2 1 1 3 60"));
    knot.reload();
    await waitAddress(fport, `www.${origin}`, "192.0.2.20", 3000);
    knot.stop();
    await waitFor(
      () => (ferry.stdout() + ferry.stderr()).includes('"code":"ERR_DNS_SECONDARY_EXPIRED"'),
      "the expiry",
      6000,
    );
    const a = await ask(fport, query(`www.${origin}`, RRType.A), false, 500);
    assert.equal(summary(a!).rcode, 5, "REFUSED once expired");
  });

  test("a wrong key: Knot refuses, Ferry logs ERR_DNS_SECONDARY and serves nothing for the zone", async (t) => {
    if (!needTool(t, "knotd", "knot")) return;
    const origin = "sec-wrong.test";
    const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-sec-"));
    const zoneFile = path.join(dir, `${origin}.zone`);
    writeFileSync(zoneFile, zoneText(origin, 1, "192.0.2.10"));
    const [kport, fport] = [await freePort(), await freePort()];
    const knot = startKnotPrimary({ zone: origin, file: zoneFile, port: kport, notifyPort: fport, key: KEY });
    running.push(knot);
    const conf = path.join(dir, "ferry.yaml");
    writeFileSync(
      conf,
      [
        `state: ${path.join(dir, "state")}`,
        "dns:",
        `  listen: ["127.0.0.1:${fport}"]`,
        `  tsig: [{ name: ${WRONG.name}, algorithm: ${WRONG.algorithm}, secret: "${WRONG.secret}" }]`,
        `  zones: [{ origin: ${origin}, primary: "127.0.0.1:${kport}", tsig: ${WRONG.name} }]`,
        "",
      ].join("\n"),
    );
    const ferry = await spawnFerry(["serve", "--config", conf], [/answering DNS on 127\.0\.0\.1:(\d+)/]);
    running.push({ stop: () => ferry.child.kill("SIGKILL") });
    await waitFor(
      () => (ferry.stdout() + ferry.stderr()).includes('"code":"ERR_DNS_SECONDARY"'),
      "the refusal in Ferry's log",
      10_000,
    );
    const a = await ask(fport, query(`www.${origin}`, RRType.A), false, 500);
    assert.ok(a);
    assert.equal(summary(a).rcode, 5, "REFUSED: the zone is not served");
    assert.ok(!(ferry.stdout() + ferry.stderr()).includes(WRONG.secret));
  });
});
