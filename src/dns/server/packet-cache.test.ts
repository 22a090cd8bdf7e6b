import assert from "node:assert/strict";
import { test } from "node:test";
import { Flag, RRType } from "../wire/constants.js";
import type { Message } from "../wire/message.js";
import { decodeMessage } from "../wire/reader.js";
import { encodeMessage } from "../wire/writer.js";
import { parseMasterFile } from "../zone/master-file.js";
import { Zone } from "../zone/zone.js";
import { ZoneSet } from "../zone/zone-set.js";
import type { QueryOutcome } from "./handle-query.js";
import { PacketCache } from "./packet-cache.js";
import { answerQuery, createState, type DnsServerState, setZones } from "./state.js";

const TCP = { idleTimeout: 1000, messageTimeout: 1000, maxConnections: 10, maxTransfers: 10 };

function zones(address: string): ZoneSet {
  const text = `$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A ${address}\n`;
  return new ZoneSet([
    new Zone("example.test", parseMasterFile(text, { file: "t.zone", origin: "example.test" }), "t.zone"),
  ]);
}

/** Zone answers are synchronous. */
function sync(buf: Buffer, state: DnsServerState, udp: boolean, report?: (o: QueryOutcome) => void): Buffer {
  const out = answerQuery(buf, state, udp, report);
  assert.ok(Buffer.isBuffer(out));
  return out;
}

function q(id: number, name: string): Buffer {
  const m: Message = {
    id,
    flags: Flag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name, type: RRType.A, klass: 1 }],
    answers: [],
    authority: [],
    additional: [],
  };
  return encodeMessage(m);
}

test("a cached answer carries each query's own ID and letter case", () => {
  const state = createState(zones("192.0.2.10"), TCP);
  const seen: string[] = [];
  const a = sync(q(1, "www.example.test"), state, true, (o) => seen.push(o.name));
  const b = sync(q(2, "www.example.test"), state, true, (o) => seen.push(o.name));
  assert.equal(a.readUInt16BE(0), 1);
  assert.equal(b.readUInt16BE(0), 2);
  assert.deepEqual(a.subarray(2), b.subarray(2));
  assert.deepEqual(seen, ["www.example.test", "www.example.test"], "cached answers are reported too");
  const c = decodeMessage(sync(q(3, "WWW.example.test"), state, true)!);
  assert.equal(c.questions[0]!.name, "WWW.example.test");
});

test("new zones bring a new cache: no stale answers after a reload", () => {
  const state = createState(zones("192.0.2.10"), TCP);
  sync(q(1, "www.example.test"), state, true);
  setZones(state, zones("192.0.2.11"));
  const m = decodeMessage(sync(q(1, "www.example.test"), state, true)!);
  assert.deepEqual(m.answers[0]!.data, { type: "a", address: "192.0.2.11" });
});

test("the cache is bounded", () => {
  const cache = new PacketCache(10);
  for (let i = 0; i < 25; i++) cache.set(`k${i}`, true, Buffer.alloc(20), null);
  assert.ok(cache.get("k24", true, 1));
  assert.equal(cache.get("k0", true, 1), null);
});

test("broken input is never cached", () => {
  const state = createState(zones("192.0.2.10"), TCP);
  const bad = Buffer.concat([q(7, "www.example.test"), Buffer.from([9])]);
  const first = decodeMessage(sync(bad, state, true)!);
  assert.equal(first.rcode, 1);
  assert.equal(state.cache.get(PacketCache.key(bad)!, true, 7), null);
});
