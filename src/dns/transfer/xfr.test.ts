/** What AXFR and IXFR answers contain (RFC 5936, RFC 1995), from zones loaded in memory. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RRClass, RRType } from "../wire/constants.js";
import type { Record } from "../wire/message.js";
import { loadZoneText } from "../zone/load.js";
import { diffZones, JOURNAL_DEPTH, Journal, serialAfter } from "./journal.js";
import { applySteps } from "./secondary.js";
import { axfrRecords, ixfrRecords, MESSAGE_BYTES, transferMessages } from "./xfr.js";

const zone = (serial: number, body: string) =>
  loadZoneText(
    `$TTL 300\n@ SOA ns1 hostmaster ${serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n${body}`,
    "x.test",
    "t",
  );

const show = (rs: Record[]) =>
  rs.map(
    (r) =>
      `${r.name.toLowerCase()} ${r.type === RRType.SOA && r.data.type === "soa" ? `SOA ${r.data.serial}` : `${r.type} ${JSON.stringify(r.data)}`}`,
  );

describe("AXFR", () => {
  test("the SOA first and last, every other record once between", () => {
    const z = zone(1, "www A 192.0.2.10\nwww AAAA 2001:db8::1\n");
    const rs = axfrRecords(z);
    assert.equal(rs[0], z.soa);
    assert.equal(rs.at(-1), z.soa);
    assert.equal(rs.filter((r) => r.type === RRType.SOA).length, 2);
    assert.equal(rs.length, z.size + 1);
  });

  test("messages of at most MESSAGE_BYTES, the question in the first only", () => {
    const body = Array.from({ length: 2000 }, (_, i) => `h${i} TXT "${"x".repeat(40)}"`).join("\n");
    const z = zone(1, body);
    const q = { name: "x.test", type: RRType.AXFR, klass: RRClass.IN };
    const msgs = transferMessages(7, q, axfrRecords(z));
    assert.ok(msgs.length > 3, `${msgs.length} messages`);
    assert.deepEqual(msgs[0]!.questions, [q]);
    for (const m of msgs.slice(1)) assert.deepEqual(m.questions, []);
    assert.equal(
      msgs.reduce((n, m) => n + m.answers.length, 0),
      z.size + 1,
    );
    for (const m of msgs) assert.ok(m.answers.length * 60 <= MESSAGE_BYTES + 100);
  });
});

describe("IXFR", () => {
  const v1 = zone(1, "www A 192.0.2.10\nold A 192.0.2.11\n");
  const v2 = zone(2, "www A 192.0.2.20\nold A 192.0.2.11\n");
  const v3 = zone(3, "www A 192.0.2.20\nnew A 192.0.2.30\n");
  const journal = new Journal();
  journal.add(diffZones(v1, v2));
  journal.add(diffZones(v2, v3));

  test("a diff: what left and what came (a TTL change is both)", () => {
    const d = diffZones(v1, v2);
    assert.deepEqual(show(d.deleted), ['www.x.test 1 {"type":"a","address":"192.0.2.10"}']);
    assert.deepEqual(show(d.added), ['www.x.test 1 {"type":"a","address":"192.0.2.20"}']);
    const v1ttl = loadZoneText(
      "$TTL 301\n@ SOA ns1 hostmaster 2 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\nold A 192.0.2.11\n",
      "x.test",
      "t",
    );
    const ttl = diffZones(v1, v1ttl);
    assert.equal(ttl.deleted.length, 4);
    assert.equal(ttl.added.length, 4);
  });

  test("from serial 1: current SOA, each step (old SOA, removed, new SOA, added), current SOA", () => {
    const r = ixfrRecords(v3, journal, 1);
    assert.equal(r.incremental, true);
    assert.deepEqual(show(r.records), [
      "x.test SOA 3",
      "x.test SOA 1",
      'www.x.test 1 {"type":"a","address":"192.0.2.10"}',
      "x.test SOA 2",
      'www.x.test 1 {"type":"a","address":"192.0.2.20"}',
      "x.test SOA 2",
      'old.x.test 1 {"type":"a","address":"192.0.2.11"}',
      "x.test SOA 3",
      'new.x.test 1 {"type":"a","address":"192.0.2.30"}',
      "x.test SOA 3",
    ]);
  });

  test("up to date: the current SOA alone", () => {
    assert.deepEqual(show(ixfrRecords(v3, journal, 3).records), ["x.test SOA 3"]);
  });

  test("a serial the journal does not reach: the whole zone, AXFR-style", () => {
    const r = ixfrRecords(v3, journal, 0);
    assert.equal(r.incremental, false);
    assert.deepEqual(r.records, axfrRecords(v3));
    assert.equal(ixfrRecords(v3, undefined, 2).incremental, false);
  });

  test("the journal keeps JOURNAL_DEPTH steps and restarts on a gap", () => {
    const j = new Journal();
    let prev = zone(1, "");
    for (let s = 2; s <= JOURNAL_DEPTH + 5; s++) {
      const next = zone(s, `a A 192.0.2.${s}\n`);
      j.add(diffZones(prev, next));
      prev = next;
    }
    assert.equal(j.size, JOURNAL_DEPTH);
    assert.equal(j.since(1), null);
    assert.ok(j.since(6));
    j.add(diffZones(zone(100, ""), zone(101, "")));
    assert.equal(j.size, 1);
  });

  test("serial arithmetic (RFC 1982) wraps", () => {
    assert.ok(serialAfter(2, 1));
    assert.ok(!serialAfter(1, 2));
    assert.ok(serialAfter(0, 0xffffffff));
    assert.ok(!serialAfter(5, 5));
  });
});

describe("a secondary applies IXFR steps", () => {
  const v1 = zone(1, "www A 192.0.2.10\nold A 192.0.2.11\n");
  const v2 = zone(2, "www A 192.0.2.20\nold A 192.0.2.11\n");
  const v3 = zone(3, "www A 192.0.2.20\nnew A 192.0.2.30\n");

  test("one step after another gives the primary's zone", () => {
    const got = applySteps(v1, [diffZones(v1, v2), diffZones(v2, v3)], "t");
    assert.deepEqual(diffZones(got, v3), { fromSoa: got.soa, toSoa: v3.soa, deleted: [], added: [] });
    assert.equal(got.soa, v3.soa);
  });

  test("a removal matches whatever the TTL it is sent with (RFC 1995 §4)", () => {
    const d = diffZones(v1, v2);
    const step = { ...d, deleted: d.deleted.map((r) => ({ ...r, ttl: 1 })) };
    assert.equal(applySteps(v1, [step], "t").size, v2.size);
  });

  test("a step from another serial, or removing what the copy lacks, is refused (the caller falls back to AXFR)", () => {
    assert.throws(() => applySteps(v1, [diffZones(v2, v3)], "t"), /from serial 2, the copy is at 1/);
    const d = diffZones(v1, v2);
    const bogus = { ...d, deleted: [{ ...d.deleted[0]!, name: "nope.x.test" }] };
    assert.throws(() => applySteps(v1, [bogus], "t"), /which the copy does not have/);
  });
});
