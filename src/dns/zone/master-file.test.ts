import assert from "node:assert/strict";
import { test } from "node:test";
import { RRType } from "../wire/constants.js";
import { parseMasterFile, parseTtl, ZoneSyntaxError } from "./master-file.js";

const zone = `; a test zone
$ORIGIN example.test.
$TTL 1h
@   IN  SOA ns1 hostmaster (
            2026112801 ; serial
            2h         ; refresh
            1h30m      ; retry
            2w         ; expire
            300 )      ; minimum
    IN  NS  ns1
    IN  NS  ns2.example.test.
    IN  MX  10 mail
ns1     A     192.0.2.1
ns2 300 IN A  192.0.2.2
www IN 60 AAAA 2001:DB8:0:0::1
txt     TXT   "hello world" "with \\"quotes\\" and \\059 semicolon" plain
caa     CAA   0 issue "ca.test"
_sip._tcp SRV 1 2 5060 www
alias   CNAME www
*.wild  A     192.0.2.9
sub.deleg NS  ns.sub.deleg
ns.sub.deleg A 192.0.2.53
sub.deleg DS 12345 13 2 ABCDEF0123 456789
unknown TYPE65280 \\# 3 010203
$ORIGIN other.example.test.
x       A     192.0.2.10
`;

test("parses the RFC 1035 syntax Ferry accepts", () => {
  const rrs = parseMasterFile(zone, { file: "example.zone", origin: "example.test" });
  const by = (name: string, type: number) => rrs.filter((r) => r.name === name && r.type === type);
  const soa = by("example.test", RRType.SOA)[0]!;
  assert.deepEqual(soa.data, {
    type: "soa",
    mname: "ns1.example.test",
    rname: "hostmaster.example.test",
    serial: 2026112801,
    refresh: 7200,
    retry: 5400,
    expire: 1209600,
    minimum: 300,
  });
  assert.equal(soa.ttl, 3600);
  assert.equal(by("example.test", RRType.NS).length, 2);
  assert.deepEqual(by("example.test", RRType.MX)[0]!.data, {
    type: "mx",
    preference: 10,
    exchange: "mail.example.test",
  });
  assert.equal(by("ns2.example.test", RRType.A)[0]!.ttl, 300);
  const aaaa = by("www.example.test", RRType.AAAA)[0]!;
  assert.equal(aaaa.ttl, 60);
  assert.deepEqual(aaaa.data, { type: "aaaa", address: "2001:db8::1" });
  const txt = by("txt.example.test", RRType.TXT)[0]!.data as { strings: Buffer[] };
  assert.deepEqual(
    txt.strings.map((s) => s.toString()),
    ["hello world", 'with "quotes" and ; semicolon', "plain"],
  );
  assert.equal(by("_sip._tcp.example.test", RRType.SRV).length, 1);
  assert.deepEqual(by("alias.example.test", RRType.CNAME)[0]!.data, {
    type: "name",
    name: "www.example.test",
  });
  assert.equal(by("*.wild.example.test", RRType.A).length, 1);
  assert.equal(
    (by("sub.deleg.example.test", RRType.DS)[0]!.data as { digest: Buffer }).digest.toString("hex"),
    "abcdef0123456789",
  );
  assert.deepEqual(by("unknown.example.test", 65280)[0]!.data, { type: "raw", data: Buffer.from([1, 2, 3]) });
  assert.equal(by("x.other.example.test", RRType.A).length, 1);
  assert.equal(by("ns1.example.test", RRType.A)[0]!.ttl, 3600);
});

test("$INCLUDE with its own origin", () => {
  const rrs = parseMasterFile("$TTL 60\n$INCLUDE hosts.inc sub\n@ A 192.0.2.1\n", {
    file: "/zones/main.zone",
    origin: "example.test",
    readInclude: (f) => {
      assert.equal(f, "/zones/hosts.inc");
      return "h1 A 192.0.2.11\n";
    },
  });
  assert.deepEqual(
    rrs.map((r) => r.name),
    ["h1.sub.example.test", "example.test"],
  );
});

test("TTL units", () => {
  assert.equal(parseTtl("3600"), 3600);
  assert.equal(parseTtl("1h30m"), 5400);
  assert.equal(parseTtl("1W2d"), 777600);
  assert.equal(parseTtl("soon"), null);
});

test("errors name the file and the line", () => {
  const cases: [string, number, RegExp][] = [
    ["$TTL 60\nwww A 192.0.2.300\n", 2, /IPv4/],
    ["$TTL 60\nwww BOGUS x\n", 2, /unknown type BOGUS/],
    ["www A 192.0.2.1\n", 1, /no TTL/],
    ["$TTL 60\n@ SOA ns1 host ( 1 2 3 4\n", 2, /never closed/],
    ['$TTL 60\nt TXT "open\n', 2, /unterminated/],
    ["$TTL 60\nmx MX 10\n", 2, /MX takes 2 fields/],
    [`$TTL 60\n${"a".repeat(64)} A 192.0.2.1\n`, 2, /63 octets/],
    ["$TTL 60\n\n\n  A 192.0.2.1\n", 4, /no owner/],
    ["$BOGUS\n", 1, /unknown directive/],
    ["$TTL 60\nx CH A 192.0.2.1\n", 2, /only IN/],
    ["$TTL 60\nx TYPE99 abc\n", 2, /generic RDATA/],
  ];
  for (const [text, line, msg] of cases) {
    assert.throws(
      () => parseMasterFile(text, { file: "z.zone", origin: "example.test" }),
      (err: unknown) => {
        assert.ok(err instanceof ZoneSyntaxError, String(err));
        assert.equal(err.code, "ERR_DNS_ZONE_SYNTAX");
        assert.equal(err.line, line, `${text} → ${err.message}`);
        assert.match(err.message, msg);
        assert.ok(err.message.startsWith(`z.zone:${line}: `));
        return true;
      },
    );
  }
});
