import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket from "dns-packet";
import fc from "fast-check";
import { Flag, RRType, typeName, typeNumber } from "./constants.js";
import { DnsFormatError } from "./errors.js";
import type { Message, Record } from "./message.js";
import { nameToLabels, readName } from "./names.js";
import { decodeMessage } from "./reader.js";
import { encodeMessage } from "./writer.js";

const rr = (name: string, type: number, data: Record["data"], ttl = 300): Record => ({
  name,
  type,
  klass: 1,
  ttl,
  data,
});

function response(answers: Record[], extra: Partial<Message> = {}): Message {
  return {
    id: 0x1234,
    flags: Flag.QR | Flag.AA | Flag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name: "www.Example.test", type: RRType.A, klass: 1 }],
    answers,
    authority: [],
    additional: [],
    ...extra,
  };
}

const every: Record[] = [
  rr("www.example.test", RRType.A, { type: "a", address: "192.0.2.1" }),
  rr("www.example.test", RRType.AAAA, { type: "aaaa", address: "2001:db8::1" }),
  rr("alias.example.test", RRType.CNAME, { type: "name", name: "www.example.test" }),
  rr("example.test", RRType.NS, { type: "name", name: "ns1.example.test" }),
  rr("example.test", RRType.SOA, {
    type: "soa",
    mname: "ns1.example.test",
    rname: "hostmaster.example.test",
    serial: 2026112801,
    refresh: 7200,
    retry: 3600,
    expire: 1209600,
    minimum: 300,
  }),
  rr("example.test", RRType.MX, { type: "mx", preference: 10, exchange: "mail.example.test" }),
  rr("example.test", RRType.TXT, {
    type: "txt",
    strings: [Buffer.from("v=spf1 -all"), Buffer.from("second")],
  }),
  rr("_sip._tcp.example.test", RRType.SRV, {
    type: "srv",
    priority: 1,
    weight: 2,
    port: 5060,
    target: "sip.example.test",
  }),
  rr("old.example.test", RRType.DNAME, { type: "name", name: "new.example.test" }),
  rr("example.test", RRType.CAA, { type: "caa", flags: 0, tag: "issue", value: Buffer.from("ca.test") }),
  rr("child.example.test", RRType.DS, {
    type: "ds",
    keyTag: 12345,
    algorithm: 13,
    digestType: 2,
    digest: Buffer.alloc(32, 0xab),
  }),
  rr("example.test", 65280, { type: "raw", data: Buffer.from([1, 2, 3]) }),
];

test("every type round-trips through Ferry's codec", () => {
  const msg = response(every, { questions: [{ name: "www.example.test", type: RRType.A, klass: 1 }] });
  const back = decodeMessage(encodeMessage(msg));
  assert.equal(back.id, 0x1234);
  assert.equal(back.flags, msg.flags);
  assert.deepEqual(back.questions, msg.questions);
  assert.deepEqual(back.answers, msg.answers);
});

test("an independent decoder (dns-packet) reads what Ferry writes", () => {
  const wire = encodeMessage(
    response(every.slice(0, 8), { questions: [{ name: "www.example.test", type: RRType.A, klass: 1 }] }),
  );
  const p = dnsPacket.decode(wire);
  assert.equal(p.id, 0x1234);
  assert.equal(p.flag_aa, true);
  assert.equal(p.questions![0]!.name, "www.example.test");
  const data = p.answers!.map((a) => [a.type, (a as { data: unknown }).data]);
  assert.deepEqual(data[0], ["A", "192.0.2.1"]);
  assert.deepEqual(data[1], ["AAAA", "2001:db8::1"]);
  assert.deepEqual(data[2], ["CNAME", "www.example.test"]);
  assert.equal((data[4]![1] as { serial: number }).serial, 2026112801);
  assert.deepEqual(data[5]![1], { preference: 10, exchange: "mail.example.test" });
  assert.deepEqual(data[7]![1], { priority: 1, weight: 2, port: 5060, target: "sip.example.test" });
});

test("the question's letter case is echoed; names compressed onto it take that case (as BIND and Knot do)", () => {
  const p = dnsPacket.decode(encodeMessage(response(every.slice(0, 1))));
  assert.equal(p.questions![0]!.name, "www.Example.test");
  assert.equal(p.answers![0]!.name, "www.Example.test");
});

test("Ferry reads what dns-packet writes, EDNS included", () => {
  const wire = dnsPacket.encode({
    type: "query",
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "MX", name: "example.test" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, options: [] } as never],
  });
  const m = decodeMessage(wire);
  assert.equal(m.id, 7);
  assert.equal(m.flags & Flag.RD, Flag.RD);
  assert.deepEqual(m.questions, [{ name: "example.test", type: RRType.MX, klass: 1 }]);
  assert.equal(m.additional[0]!.type, RRType.OPT);
  assert.equal(m.additional[0]!.klass, 4096);
});

test("names are compressed: smaller than dns-packet's output, pointers only backwards", () => {
  const many = Array.from({ length: 20 }, (_, i) =>
    rr("www.example.test", RRType.A, { type: "a", address: `192.0.2.${i}` }),
  );
  const ours = encodeMessage(response(many));
  const theirs = dnsPacket.encode({
    type: "response",
    id: 1,
    questions: [{ type: "A", name: "www.Example.test" }],
    answers: many.map((r) => ({
      type: "A",
      name: r.name,
      ttl: 300,
      data: (r.data as { address: string }).address,
    })),
  });
  assert.ok(ours.length < theirs.length, `${ours.length} vs ${theirs.length}`);
  // 12 header + 22 question + 20 × (2 pointer + 10 + 4).
  assert.equal(ours.length, 12 + 22 + 20 * 16);
});

test("SRV and DNAME targets are never compressed; MX is", () => {
  const wire = encodeMessage(
    response([
      rr("example.test", RRType.MX, { type: "mx", preference: 1, exchange: "www.example.test" }),
      rr("_s._tcp.example.test", RRType.SRV, {
        type: "srv",
        priority: 0,
        weight: 0,
        port: 1,
        target: "www.example.test",
      }),
      rr("d.example.test", RRType.DNAME, { type: "name", name: "www.example.test" }),
    ]),
  );
  const m = decodeMessage(wire);
  assert.equal((m.answers[1]!.data as { target: string }).target, "www.example.test");
  // The uncompressed target appears literally twice (SRV and DNAME), after the question's copy.
  const literal = Buffer.from("\x03www\x07example\x04test\x00", "latin1");
  let count = 0;
  for (let i = wire.indexOf(literal); i >= 0; i = wire.indexOf(literal, i + 1)) count++;
  assert.equal(count, 2);
});

test("truncation keeps RRsets whole, sets TC, keeps OPT", () => {
  const big = Array.from({ length: 40 }, (_, i) =>
    rr("www.example.test", RRType.AAAA, { type: "aaaa", address: `2001:db8::${i + 1}` }),
  );
  const other = [rr("ftp.example.test", RRType.A, { type: "a", address: "192.0.2.9" })];
  const opt = rr("", RRType.OPT, { type: "opt", options: [] }, 0);
  opt.klass = 1232;
  const wire = encodeMessage(response([...other, ...big], { additional: [opt] }), 512);
  assert.ok(wire.length <= 512);
  const m = decodeMessage(wire);
  assert.equal(m.flags & Flag.TC, Flag.TC);
  assert.equal(m.answers.length, 1, "the 40-record RRset must be left out whole");
  assert.equal(m.additional.length, 1);
  assert.equal(m.additional[0]!.type, RRType.OPT);
});

function header(qd: number, an = 0): number[] {
  return [0, 1, 0, 0, 0, qd, 0, an, 0, 0, 0, 0];
}

test("strict decoding refuses malformed messages with DnsFormatError", () => {
  const bad: [string, number[]][] = [
    ["short header", [0, 1, 0]],
    ["forward pointer", [...header(1), 0xc0, 14, 0, 1, 0, 1, 0]],
    ["self pointer", [...header(1), 0xc0, 12, 0, 1, 0, 1]],
    ["label type 01", [...header(1), 0x40, 0, 0, 1, 0, 1]],
    ["label past the end", [...header(1), 10, 97, 0, 1]],
    ["counts exceed size", [...header(5), 0, 0, 1, 0, 1]],
    ["trailing bytes", [...header(1), 0, 0, 1, 0, 1, 99]],
    ["A with 3 bytes", [...header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]],
    ["TXT string overruns", [...header(0, 1), 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 5, 97]],
    ["RDATA past the end", [...header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4]],
  ];
  for (const [what, bytes] of bad) {
    assert.throws(() => decodeMessage(Buffer.from(bytes)), DnsFormatError, what);
  }
  const long = [...header(1)];
  for (let i = 0; i < 5; i++) long.push(63, ...new Array(63).fill(97));
  long.push(0, 0, 1, 0, 1);
  assert.throws(() => decodeMessage(Buffer.from(long)), /255 octets/);
});

test("pointer chains that go backwards are followed; loops are impossible", () => {
  // "a" at 12, then "b" + pointer to 12 at 15: b.a
  const buf = Buffer.from([...header(0), 1, 97, 0, 1, 98, 0xc0, 12]);
  assert.equal(readName(buf, 15).name, "b.a");
  assert.equal(readName(buf, 15).next, 19);
  const loop = Buffer.from([...header(0), 0xc0, 14, 0xc0, 12]);
  assert.throws(() => readName(loop, 12), DnsFormatError);
  assert.throws(() => readName(loop, 14), DnsFormatError);
});

test("escapes in names: dots, backslashes and bytes outside printable ASCII", () => {
  const labels = nameToLabels("a\\.b.c\\\\d.\\000\\255x");
  assert.deepEqual(
    labels.map((l) => [...l]),
    [
      [97, 46, 98],
      [99, 92, 100],
      [0, 255, 120],
    ],
  );
  const wire = encodeMessage(
    response([rr("a\\.b.c\\\\d.\\000\\255x", RRType.A, { type: "a", address: "192.0.2.1" })]),
  );
  assert.equal(decodeMessage(wire).answers[0]!.name, "a\\.b.c\\\\d.\\000\\255x");
  assert.throws(() => nameToLabels(`${"a".repeat(64)}.test`), /63/);
  assert.throws(() => nameToLabels("a..b"), /empty label/);
});

test("type names follow RFC 3597 for unknown types", () => {
  assert.equal(typeName(1), "A");
  assert.equal(typeName(65280), "TYPE65280");
  assert.equal(typeNumber("aaaa"), 28);
  assert.equal(typeNumber("TYPE99"), 99);
  assert.equal(typeNumber("NOPE"), undefined);
});

test("fuzz: any bytes either decode or fail with DnsFormatError, never anything else", () => {
  const valid = encodeMessage(response(every));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc
          .tuple(fc.nat(valid.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }))
          .map(([at, patch]) => {
            const b = Buffer.from(valid);
            Buffer.from(patch).copy(b, at);
            return new Uint8Array(b);
          }),
        fc.nat(valid.length).map((n) => new Uint8Array(valid.subarray(0, n))),
      ),
      (bytes) => {
        try {
          const m = decodeMessage(Buffer.from(bytes));
          // Whatever decodes must encode again.
          encodeMessage(m);
        } catch (err) {
          if (!(err instanceof DnsFormatError) && !(err instanceof RangeError)) throw err;
        }
      },
    ),
    { numRuns: 3000 },
  );
});

test("IPv6 text round-trips for any 16 bytes, with RFC 5952 zero compression", async () => {
  const { formatIPv6, parseIPv6 } = await import("./rdata.js");
  assert.equal(formatIPv6(parseIPv6("2001:db8:0:0:1:0:0:1"), 0), "2001:db8::1:0:0:1");
  assert.equal(formatIPv6(parseIPv6("::"), 0), "::");
  assert.equal(formatIPv6(parseIPv6("::ffff:192.0.2.1"), 0), "::ffff:c000:201");
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const b = Buffer.from(bytes);
      assert.deepEqual(parseIPv6(formatIPv6(b, 0)), b);
    }),
    { numRuns: 2000 },
  );
});
