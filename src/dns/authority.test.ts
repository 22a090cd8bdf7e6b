/**
 * Authoritative answers as a table (CoreDNS's habit): question → rcode, AA,
 * and each section, for the zone of test/fixtures/dns/example.test.zone.
 * The expected sections were taken from Knot DNS serving the same zone
 * (test/dns-knot.test.ts keeps comparing the two over the wire); this table
 * tests the answering logic without sockets or knotd.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { answerFromZone } from "./authority.js";
import { Rcode, typeNumber } from "./wire/constants.js";
import type { Record } from "./wire/message.js";
import { recordText } from "./wire/present.js";
import { loadZoneFile } from "./zone/load.js";

interface Case {
  q: string;
  type: string;
  rcode: keyof typeof Rcode;
  aa: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
}

const cases: Case[] = [
  {
    q: "example.test",
    type: "SOA",
    rcode: "NOERROR",
    aa: true,
    answer: [
      "example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    authority: [],
    additional: [],
  },
  {
    q: "example.test",
    type: "NS",
    rcode: "NOERROR",
    aa: true,
    answer: ["example.test. 300 IN NS ns1.example.test.", "example.test. 300 IN NS ns2.example.test."],
    authority: [],
    additional: [
      "ns1.example.test. 300 IN A 192.0.2.1",
      "ns2.example.test. 300 IN A 192.0.2.2",
      "ns2.example.test. 300 IN AAAA 2001:db8::2",
    ],
  },
  {
    q: "example.test",
    type: "MX",
    rcode: "NOERROR",
    aa: true,
    answer: ["example.test. 300 IN MX 10 mail.example.test."],
    authority: [],
    additional: ["mail.example.test. 300 IN A 192.0.2.25"],
  },
  {
    q: "example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "example.test",
    type: "ANY",
    rcode: "NOERROR",
    aa: true,
    answer: ["example.test. 300 IN NS ns1.example.test.", "example.test. 300 IN NS ns2.example.test."],
    authority: [],
    additional: [
      "ns1.example.test. 300 IN A 192.0.2.1",
      "ns2.example.test. 300 IN A 192.0.2.2",
      "ns2.example.test. 300 IN AAAA 2001:db8::2",
    ],
  },
  {
    q: "www.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["www.example.test. 300 IN A 192.0.2.10"],
    authority: [],
    additional: [],
  },
  {
    q: "www.example.test",
    type: "AAAA",
    rcode: "NOERROR",
    aa: true,
    answer: ["www.example.test. 300 IN AAAA 2001:db8::10"],
    authority: [],
    additional: [],
  },
  {
    q: "www.example.test",
    type: "MX",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "nope.example.test",
    type: "A",
    rcode: "NXDOMAIN",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "deep.nope.example.test",
    type: "TXT",
    rcode: "NXDOMAIN",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "alias.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["alias.example.test. 300 IN CNAME www.example.test.", "www.example.test. 300 IN A 192.0.2.10"],
    authority: [],
    additional: [],
  },
  {
    q: "alias.example.test",
    type: "CNAME",
    rcode: "NOERROR",
    aa: true,
    answer: ["alias.example.test. 300 IN CNAME www.example.test."],
    authority: [],
    additional: [],
  },
  {
    q: "c1.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: [
      "c1.example.test. 300 IN CNAME c2.example.test.",
      "c2.example.test. 300 IN CNAME www.example.test.",
      "www.example.test. 300 IN A 192.0.2.10",
    ],
    authority: [],
    additional: [],
  },
  {
    q: "l1.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: [
      "l1.example.test. 300 IN CNAME l2.example.test.",
      "l2.example.test. 300 IN CNAME l1.example.test.",
    ],
    authority: [],
    additional: [],
  },
  {
    q: "ext.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["ext.example.test. 300 IN CNAME target.example.org."],
    authority: [],
    additional: [],
  },
  {
    q: "dangling.example.test",
    type: "A",
    rcode: "NXDOMAIN",
    aa: true,
    answer: ["dangling.example.test. 300 IN CNAME missing.example.test."],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "x.wild.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["x.wild.example.test. 300 IN A 192.0.2.99"],
    authority: [],
    additional: [],
  },
  {
    q: "x.wild.example.test",
    type: "TXT",
    rcode: "NOERROR",
    aa: true,
    answer: ['x.wild.example.test. 300 IN TXT "wildcard"'],
    authority: [],
    additional: [],
  },
  {
    q: "x.wild.example.test",
    type: "MX",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "a.b.wild.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["a.b.wild.example.test. 300 IN A 192.0.2.99"],
    authority: [],
    additional: [],
  },
  {
    q: "wild.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "exists.wild.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "exists.wild.example.test",
    type: "TXT",
    rcode: "NOERROR",
    aa: true,
    answer: ['exists.wild.example.test. 300 IN TXT "not the wildcard"'],
    authority: [],
    additional: [],
  },
  {
    q: "sub.exists.wild.example.test",
    type: "A",
    rcode: "NXDOMAIN",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "y.cw.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["www.example.test. 300 IN A 192.0.2.10", "y.cw.example.test. 300 IN CNAME www.example.test."],
    authority: [],
    additional: [],
  },
  {
    q: "c.example.test",
    type: "TXT",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "b.c.example.test",
    type: "TXT",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "a.b.c.example.test",
    type: "TXT",
    rcode: "NOERROR",
    aa: true,
    answer: ['a.b.c.example.test. 300 IN TXT "deep"'],
    authority: [],
    additional: [],
  },
  {
    q: "_sip._tcp.example.test",
    type: "SRV",
    rcode: "NOERROR",
    aa: true,
    answer: ["_sip._tcp.example.test. 300 IN SRV 10 5 5060 www.example.test."],
    authority: [],
    additional: ["www.example.test. 300 IN A 192.0.2.10", "www.example.test. 300 IN AAAA 2001:db8::10"],
  },
  {
    q: "_tcp.example.test",
    type: "SRV",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "sub.example.test",
    type: "NS",
    rcode: "NOERROR",
    aa: false,
    answer: [],
    authority: ["sub.example.test. 300 IN NS ns.sub.example.test."],
    additional: ["ns.sub.example.test. 300 IN A 192.0.2.53"],
  },
  {
    q: "sub.example.test",
    type: "DS",
    rcode: "NOERROR",
    aa: true,
    answer: [
      "sub.example.test. 300 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
    ],
    authority: [],
    additional: [],
  },
  {
    q: "sub.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: false,
    answer: [],
    authority: ["sub.example.test. 300 IN NS ns.sub.example.test."],
    additional: ["ns.sub.example.test. 300 IN A 192.0.2.53"],
  },
  {
    q: "x.sub.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: false,
    answer: [],
    authority: ["sub.example.test. 300 IN NS ns.sub.example.test."],
    additional: ["ns.sub.example.test. 300 IN A 192.0.2.53"],
  },
  {
    q: "ns.sub.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: false,
    answer: [],
    authority: ["sub.example.test. 300 IN NS ns.sub.example.test."],
    additional: ["ns.sub.example.test. 300 IN A 192.0.2.53"],
  },
  {
    q: "dn.example.test",
    type: "DNAME",
    rcode: "NOERROR",
    aa: true,
    answer: ["dn.example.test. 300 IN DNAME target.example.test."],
    authority: [],
    additional: [],
  },
  {
    q: "host.dn.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: [
      "dn.example.test. 300 IN DNAME target.example.test.",
      "host.dn.example.test. 300 IN CNAME host.target.example.test.",
      "host.target.example.test. 300 IN A 192.0.2.77",
    ],
    authority: [],
    additional: [],
  },
  {
    q: "nothing.dn.example.test",
    type: "A",
    rcode: "NXDOMAIN",
    aa: true,
    answer: [
      "dn.example.test. 300 IN DNAME target.example.test.",
      "nothing.dn.example.test. 300 IN CNAME nothing.target.example.test.",
    ],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
  {
    q: "mail.example.test",
    type: "A",
    rcode: "NOERROR",
    aa: true,
    answer: ["mail.example.test. 300 IN A 192.0.2.25"],
    authority: [],
    additional: [],
  },
  {
    q: "ns2.example.test",
    type: "AAAA",
    rcode: "NOERROR",
    aa: true,
    answer: ["ns2.example.test. 300 IN AAAA 2001:db8::2"],
    authority: [],
    additional: [],
  },
  {
    q: "example.test",
    type: "CAA",
    rcode: "NOERROR",
    aa: true,
    answer: ['example.test. 300 IN CAA 0 issue "ca.test"'],
    authority: [],
    additional: [],
  },
  {
    q: "example.test",
    type: "TXT",
    rcode: "NOERROR",
    aa: true,
    answer: ['example.test. 300 IN TXT "v=spf1 -all"'],
    authority: [],
    additional: [],
  },
  {
    q: "example.test",
    type: "TYPE65280",
    rcode: "NOERROR",
    aa: true,
    answer: [],
    authority: [
      "example.test. 60 IN SOA ns1.example.test. hostmaster.example.test. 2026112801 7200 3600 1209600 60",
    ],
    additional: [],
  },
];

const zone = loadZoneFile(
  fileURLToPath(new URL("../../../test/fixtures/dns/example.test.zone", import.meta.url)),
  "example.test",
);
const text = (list: Record[]) => list.map((r) => recordText(r).replace(/\t/g, " ")).sort();

for (const c of cases) {
  test(`${c.q} ${c.type} → ${c.rcode}`, () => {
    const a = answerFromZone(zone, c.q, typeNumber(c.type)!);
    assert.deepEqual(
      {
        rcode: a.rcode,
        aa: a.aa,
        answer: text(a.answer),
        authority: text(a.authority),
        additional: text(a.additional),
      },
      { rcode: Rcode[c.rcode], aa: c.aa, answer: c.answer, authority: c.authority, additional: c.additional },
    );
  });
}
