/**
 * DNS over TCP under attack (issue 9): tiny and zero lengths, a query dripped
 * a byte at a time, more connections than the cap. The server must keep
 * answering every other client over UDP and TCP.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { logDnsTcp } from "../src/core/log.js";
import { DnsService } from "../src/dns/service.js";
import { RRType } from "../src/dns/wire/constants.js";
import { decodeMessage } from "../src/dns/wire/reader.js";
import { Collector } from "../src/inspect/collector.js";
import { ask, query } from "./knot.js";

const ZONE = `$TTL 300
@   SOA ns1 hostmaster 1 2h 1h 2w 5m
    NS  ns1
ns1 A 127.0.0.1
www A 127.0.0.1
`;

let svc: DnsService;
let port = 0;

before(async () => {
  svc = await DnsService.start({
    listen: [{ host: "127.0.0.1", port: 0 }],
    zones: [{ file: "inline", origin: "tcp.test", records: ZONE, transfer: null, notify: [] }],
    tsig: [],
    forward: [],
    forwardTimeout: 1000,
    cacheSize: 100,
    tcpIdleTimeout: 3000,
    tcpMessageTimeout: 400,
    tcpMaxConnections: 8,
    transfersOut: 10,
    tls: null,
  });
  port = svc.addresses[0]!.port;
});
after(() => {
  stopLog();
  collector.close();
  return svc.close();
});

// What an operator sees of the drops: /metrics counters and log lines with their stable codes.
const collector = new Collector({ events: 10, sessions: 1, frames: 10, channels: 10 }, () => []);
let logged = "";
const stopLog = logDnsTcp(
  pino(
    { level: "debug" },
    new Writable({
      write(c, _e, done) {
        logged += c;
        done();
      },
    }),
  ),
);
const dropped = (reason: string) => collector.metrics.dnsTcpDropped.get({ reason });

/** Asserts the server answers www.tcp.test over UDP and over TCP. */
async function stillServing(): Promise<void> {
  for (const tcp of [false, true]) {
    const wire = await ask(port, query("www.tcp.test", RRType.A), tcp, 2000);
    assert.ok(wire, `no answer over ${tcp ? "TCP" : "UDP"}`);
    assert.equal(decodeMessage(wire).answers.length, 1);
  }
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

/** Resolves with the milliseconds until the server closes `s` (or `limit` when it does not). */
function closedWithin(s: net.Socket, limit: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(limit), limit);
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - t0);
    });
    s.resume();
  });
}

function framed(wire: Buffer): Buffer {
  const b = Buffer.alloc(2 + wire.length);
  b.writeUInt16BE(wire.length, 0);
  wire.copy(b, 2);
  return b;
}

describe("DNS over TCP: malformed lengths", () => {
  // What each input gets: the connection closed (no ID to answer), or a FORMERR answer on an open connection.
  const cases: [string, Buffer, "close" | "formerr"][] = [
    ["a zero-length message", Buffer.from([0, 0]), "close"],
    [
      "a zero-length message then a query",
      Buffer.concat([Buffer.from([0, 0]), framed(query("www.tcp.test", 1))]),
      "close",
    ],
    ["a one-byte message", Buffer.from([0, 1, 0x12]), "close"],
    ["an eleven-byte message (short of a header)", Buffer.from([0, 11, ...Buffer.alloc(11)]), "close"],
    ["one length byte, then nothing", Buffer.from([0]), "close"],
    ["a header with no question", Buffer.from([0, 12, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "formerr"],
  ];
  for (const [name, bytes, expect] of cases) {
    test(`${name}: ${expect === "close" ? "that connection closes" : "FORMERR"}, the server keeps serving`, async () => {
      const s = await connect();
      if (expect === "formerr") {
        const answer = new Promise<Buffer>((resolve) => s.once("data", resolve));
        s.write(bytes);
        const got = await answer;
        assert.equal(got.readUInt16BE(0), got.length - 2);
        assert.equal(got.readUInt16BE(2), 0x1234, "the answer carries the query's ID");
        assert.equal(got[5]! & 0x0f, 1, "RCODE FORMERR");
        s.destroy();
      } else {
        s.write(bytes);
        const ms = await closedWithin(s, 3000);
        assert.ok(ms < 3000, "the connection was left open");
      }
      await stillServing();
    });
  }

  test("random length-prefixed messages split at random places never stop the server", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        async (messages, cuts) => {
          const stream = Buffer.concat(messages.map((m) => framed(Buffer.from(m))));
          const s = await connect();
          s.on("error", () => {});
          let at = 0;
          for (const cut of cuts) {
            if (at >= stream.length) break;
            s.write(stream.subarray(at, at + cut));
            at += cut;
          }
          s.write(stream.subarray(at));
          await new Promise((r) => setTimeout(r, 5));
          s.destroy();
          const wire = await ask(port, query("www.tcp.test", RRType.A), true, 2000);
          assert.ok(wire, "the server stopped answering over TCP");
        },
      ),
      { numRuns: 60 },
    );
    await stillServing();
  });
});

describe("DNS over TCP: deadlines and the connection cap", () => {
  test("a query dripped a byte at a time is cut at tcpMessageTimeout, whatever the drip", async () => {
    const s = await connect();
    const wire = framed(query("www.tcp.test", RRType.A));
    let i = 0;
    const drip = setInterval(() => {
      if (i < wire.length - 1 && !s.destroyed) s.write(wire.subarray(i, ++i));
    }, 100);
    const ms = await closedWithin(s, 5000);
    clearInterval(drip);
    // 400 ms deadline; every byte 100 ms apart would keep a per-byte idle timer alive forever.
    assert.ok(ms >= 300 && ms < 1500, `closed after ${Math.round(ms)} ms`);
    assert.ok(dropped("message-timeout") >= 1, "no ferry_dns_tcp_dropped_total{reason=message-timeout}");
    assert.match(logged, /"code":"ERR_DNS_TCP_MESSAGE_TIMEOUT"/);
    await stillServing();
  });

  test("pipelined whole queries each get their own deadline, and all are answered", async () => {
    const s = await connect();
    const answers: Buffer[] = [];
    let buf = Buffer.alloc(0);
    s.on("data", (c) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    for (let i = 0; i < 4; i++) {
      s.write(framed(query("www.tcp.test", RRType.A)));
      await new Promise((r) => setTimeout(r, 250)); // 4 × 250 ms > the 400 ms deadline in total
    }
    assert.equal(answers.length, 4);
    assert.ok(!s.destroyed);
    s.destroy();
  });

  test("at tcpMaxConnections a new client is served and the oldest idle connection is closed", async () => {
    const idle: net.Socket[] = [];
    const closed: number[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await connect();
      s.on("close", () => closed.push(i));
      s.on("error", () => {});
      idle.push(s);
      await new Promise((r) => setTimeout(r, 10));
    }
    const wire = await ask(port, query("www.tcp.test", RRType.A), true, 2000);
    assert.ok(wire, "a new client was refused at the cap");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(closed.slice(0, 1), [0], "the oldest idle connection is the one closed");
    assert.ok(dropped("evicted") >= 1, "no ferry_dns_tcp_dropped_total{reason=evicted}");
    assert.match(logged, /"code":"ERR_DNS_TCP_EVICTED"/);
    for (const s of idle) s.destroy();
  });

  test("connections stuck mid-query at the cap do not lock out new clients", async () => {
    const stuck: net.Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await connect();
      s.on("error", () => {});
      s.write(Buffer.from([0, 40, 1])); // a query that never finishes
      stuck.push(s);
    }
    await new Promise((r) => setTimeout(r, 20));
    const wire = await ask(port, query("www.tcp.test", RRType.A), true, 2000);
    assert.ok(wire, "a new client was refused while every slot dripped");
    for (const s of stuck) s.destroy();
    await stillServing();
  });

  test("an idle connection closes after tcpIdleTimeout, not before", async () => {
    const s = await connect();
    s.write(framed(query("www.tcp.test", RRType.A)));
    const ms = await closedWithin(s, 6000);
    assert.ok(ms >= 2500 && ms < 4500, `closed after ${Math.round(ms)} ms`);
  });

  test("one connection keeps at most 64 forwarded questions open; the rest wait unread", async () => {
    const silent = dgram.createSocket("udp4");
    let asked = 0;
    silent.on("message", () => asked++);
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", () => r()));
    const fwd = await DnsService.start({
      listen: [{ host: "127.0.0.1", port: 0 }],
      zones: [],
      tsig: [],
      forward: [{ host: "127.0.0.1", port: silent.address().port }],
      forwardTimeout: 2000,
      cacheSize: 100,
      tcpIdleTimeout: 5000,
      tcpMessageTimeout: 400,
      tcpMaxConnections: 8,
      transfersOut: 10,
      tls: null,
    });
    try {
      const s = net.connect(fwd.addresses[0]!.port, "127.0.0.1");
      await new Promise((r) => s.once("connect", r));
      s.on("error", () => {});
      s.write(
        Buffer.concat(Array.from({ length: 300 }, (_, i) => framed(query(`n${i}.elsewhere.test`, RRType.A)))),
      );
      await new Promise((r) => setTimeout(r, 700));
      assert.ok(asked <= 64, `${asked} questions sent upstream at once`);
      assert.ok(asked >= 32, `only ${asked} questions sent upstream`);
      // Held queries are not the client's delay: the 400 ms message deadline did not cut it.
      assert.ok(
        !s.destroyed && s.readyState === "open",
        "the connection was closed while Ferry held its queries",
      );
      s.destroy();
    } finally {
      silent.close();
      await fwd.close();
    }
  });
});
