/**
 * Regression tests from the review of the zone-transfer code: what a remote
 * client could do to a primary with keys and transfers configured.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import net from "node:net";
import { after, before, test } from "node:test";
import { DnsService } from "../src/dns/service.js";
import { findTsig, signMessage, TsigError, tsigKey, verifyTsig } from "../src/dns/transfer/tsig.js";
import { RRType } from "../src/dns/wire/constants.js";
import { encodeMessage } from "../src/dns/wire/writer.js";
import { ask, query, summary } from "./knot.js";

const SECRET = Buffer.alloc(32, 9).toString("base64");
const key = tsigKey("k1", "hmac-sha256", SECRET);
let svc: DnsService;
let port = 0;

const big = Array.from({ length: 3000 }, (_, i) => `h${i} TXT "${"x".repeat(60)} ${i}"`).join("\n");
const wide = Array.from({ length: 1300 }, (_, i) => `wide TXT "${"y".repeat(40)} ${i}"`).join("\n");

before(async () => {
  svc = await DnsService.start({
    listen: [{ host: "127.0.0.1", port: 0 }],
    zones: [
      {
        file: "inline",
        origin: "abuse.test",
        records: `$TTL 60\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n${big}\n${wide}\n`,
        transfer: { allow: ["127.0.0.1/32"], tsig: null },
        notify: [],
      },
    ],
    tsig: [{ name: "k1", algorithm: "hmac-sha256", secret: SECRET }],
    forward: [],
    forwardTimeout: 1000,
    cacheSize: 10,
    tcpIdleTimeout: 600,
    tcpMessageTimeout: 1000,
    tcpMaxConnections: 50,
    transfersOut: 10,
    tls: null,
  });
  port = svc.addresses[0]!.port;
});
after(() => svc.close());

test("a response (QR set) with a bad TSIG gets no answer: no NOTAUTH ping-pong between two servers", async () => {
  const stranger = tsigKey("x", "hmac-sha256", Buffer.alloc(32, 1).toString("base64"));
  const response = signMessage(
    encodeMessage({
      id: 7,
      flags: 0x8000,
      opcode: 0,
      rcode: 0,
      questions: [{ name: "abuse.test", type: RRType.SOA, klass: 1 }],
      answers: [],
      authority: [],
      additional: [],
    }),
    stranger,
    { now: Math.floor(Date.now() / 1000) },
  ).wire;
  assert.equal(await ask(port, response, false, 400), null);
  assert.equal(
    summary((await ask(port, query("ns1.abuse.test", RRType.A), false))!).rcode,
    0,
    "still serving",
  );
});

test("a signed TCP query whose answer is near 64 KiB gets a signed answer that fits, and the server keeps serving", async () => {
  const q = signMessage(query("wide.abuse.test", RRType.TXT), key, { now: Math.floor(Date.now() / 1000) });
  const answer = await ask(port, q.wire, true, 3000);
  assert.ok(answer, "no answer");
  const t = findTsig(answer);
  assert.ok(t, "the answer is not signed");
  assert.equal(
    verifyTsig(answer, t, new Map([["k1", key]]), Math.floor(Date.now() / 1000), q.mac).error,
    TsigError.NOERROR,
  );
  assert.equal(summary((await ask(port, query("ns1.abuse.test", RRType.A), true))!).rcode, 0);
});

test("BADTIME is signed with the request's time and fudge, the server's time in other data (RFC 8945 §5.2.3)", async () => {
  const then = Math.floor(Date.now() / 1000) - 10_000;
  const q = signMessage(query("abuse.test", RRType.SOA), key, { now: then, fudge: 300 });
  const answer = (await ask(port, q.wire, false, 1000))!;
  assert.ok(answer);
  const t = findTsig(answer)!;
  assert.equal(t.error, TsigError.BADTIME);
  assert.equal(t.timeSigned, then);
  assert.equal(t.fudge, 300);
  assert.equal(t.other.length, 6);
  assert.ok(Math.abs(t.other.readUInt16BE(0) * 2 ** 32 + t.other.readUInt32BE(2) - Date.now() / 1000) < 5);
  assert.equal(
    verifyTsig(answer, t, new Map([["k1", key]]), then, q.mac).error,
    TsigError.NOERROR,
    "its MAC",
  );
});

test("a client that asks for the zone 200 times and reads nothing: answered one transfer at a time, then closed", async () => {
  const axfr = encodeMessage({
    id: 1,
    flags: 0,
    opcode: 0,
    rcode: 0,
    questions: [{ name: "abuse.test", type: RRType.AXFR, klass: 1 }],
    answers: [],
    authority: [],
    additional: [],
  });
  const framed = Buffer.concat([Buffer.from([axfr.length >> 8, axfr.length & 0xff]), axfr]);
  const before = process.memoryUsage().rss;
  const s = net.connect(port, "127.0.0.1");
  s.pause(); // never reads
  await new Promise((r) => s.once("connect", r));
  s.write(Buffer.concat(Array.from({ length: 200 }, () => framed)));
  // The server's side: it closes the connection (a client that reads nothing would never see it).
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 5000);
    const on = () => {
      clearTimeout(t);
      diagnostics.unsubscribe("ferry:dns:tcp-drop", on);
      resolve(true);
    };
    diagnostics.subscribe("ferry:dns:tcp-drop", on);
  });
  s.destroy();
  assert.ok(closed, "the stalled reader was not closed");
  // 200 copies of a ~250 KB zone would be ~50 MB queued; one or two at a time stay far below.
  assert.ok(process.memoryUsage().rss - before < 30 * 1024 * 1024, "memory grew with the queued transfers");
  assert.equal(summary((await ask(port, query("ns1.abuse.test", RRType.A), false))!).rcode, 0);
});
