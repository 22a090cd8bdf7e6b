import assert from "node:assert/strict";
import { test } from "node:test";
import type { Forwarder } from "../forward/forwarder.js";
import { Flag, Rcode, RRClass, RRType } from "../wire/constants.js";
import type { Message, Question } from "../wire/message.js";
import { parseMasterFile } from "../zone/master-file.js";
import { Zone } from "../zone/zone.js";
import { ZoneSet } from "../zone/zone-set.js";
import { type AnswerSource, buildChain, type QueryChain } from "./chain.js";

const zones = new ZoneSet([
  new Zone(
    "example.test",
    parseMasterFile("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n", {
      file: "t.zone",
      origin: "example.test",
    }),
    "t.zone",
  ),
]);

/** A forwarder that answers every name with NOERROR and counts what it was asked. */
function fakeUpstream(): { forwarder: Forwarder; asked: string[] } {
  const asked: string[] = [];
  const forwarder = {
    resolve(q: Question) {
      asked.push(q.name);
      return Promise.resolve({
        rcode: Rcode.NOERROR,
        answers: [],
        authority: [],
        additional: [],
        cache: "miss",
      });
    },
  } as unknown as Forwarder;
  return { forwarder, asked };
}

function response(): Message {
  return {
    id: 1,
    flags: Flag.QR,
    opcode: 0,
    rcode: 0,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
}

async function run(chain: QueryChain, q: Question): Promise<{ source: AnswerSource; res: Message }> {
  const res = response();
  for (const step of chain) {
    const s = step(q, res);
    if (s !== null) return { source: await s, res };
  }
  throw new Error("nothing answered");
}

const cases: {
  name: string;
  q: Question;
  forward: boolean;
  source: AnswerSource;
  rcode: number;
  aa: boolean;
  ra: boolean;
  upstream: boolean;
}[] = [
  {
    name: "in zone",
    q: { name: "www.example.test", type: RRType.A, klass: RRClass.IN },
    forward: true,
    source: "zone",
    rcode: Rcode.NOERROR,
    aa: true,
    ra: false,
    upstream: false,
  },
  {
    name: "in zone, class ANY",
    q: { name: "www.example.test", type: RRType.A, klass: RRClass.ANY },
    forward: false,
    source: "zone",
    rcode: Rcode.NOERROR,
    aa: true,
    ra: false,
    upstream: false,
  },
  {
    name: "in zone, missing name",
    q: { name: "nope.example.test", type: RRType.A, klass: RRClass.IN },
    forward: true,
    source: "zone",
    rcode: Rcode.NXDOMAIN,
    aa: true,
    ra: false,
    upstream: false,
  },
  {
    name: "zone transfer of a zone",
    q: { name: "example.test", type: RRType.AXFR, klass: RRClass.IN },
    forward: true,
    source: "zone",
    rcode: Rcode.REFUSED,
    aa: false,
    ra: false,
    upstream: false,
  },
  {
    name: "outside, no forwarder",
    q: { name: "other.test", type: RRType.A, klass: RRClass.IN },
    forward: false,
    source: "zone",
    rcode: Rcode.REFUSED,
    aa: false,
    ra: false,
    upstream: false,
  },
  {
    name: "outside, forwarder",
    q: { name: "other.test", type: RRType.A, klass: RRClass.IN },
    forward: true,
    source: "upstream",
    rcode: Rcode.NOERROR,
    aa: false,
    ra: true,
    upstream: true,
  },
  {
    name: "outside, class CH is never forwarded",
    q: { name: "other.test", type: RRType.A, klass: 3 },
    forward: true,
    source: "zone",
    rcode: Rcode.REFUSED,
    aa: false,
    ra: false,
    upstream: false,
  },
  {
    name: "outside, AXFR is never forwarded",
    q: { name: "other.test", type: RRType.AXFR, klass: RRClass.IN },
    forward: true,
    source: "zone",
    rcode: Rcode.REFUSED,
    aa: false,
    ra: false,
    upstream: false,
  },
];

for (const c of cases) {
  test(`chain: ${c.name} → ${c.source}, rcode ${c.rcode}`, async () => {
    const up = fakeUpstream();
    const { source, res } = await run(buildChain(zones, c.forward ? up.forwarder : null), c.q);
    assert.equal(source, c.source);
    assert.equal(res.rcode, c.rcode);
    assert.equal((res.flags & Flag.AA) !== 0, c.aa, "AA");
    assert.equal((res.flags & Flag.RA) !== 0, c.ra, "RA");
    assert.equal(up.asked.length > 0, c.upstream, "asked upstream");
  });
}

test("chain: an upstream that fails gives SERVFAIL with RA", async () => {
  const forwarder = { resolve: () => Promise.reject(new Error("timeout")) } as unknown as Forwarder;
  const { source, res } = await run(buildChain(zones, forwarder), {
    name: "other.test",
    type: RRType.A,
    klass: RRClass.IN,
  });
  assert.equal(source, "upstream");
  assert.equal(res.rcode, Rcode.SERVFAIL);
  assert.ok(res.flags & Flag.RA);
});
