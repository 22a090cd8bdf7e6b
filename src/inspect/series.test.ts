import assert from "node:assert/strict";
import { test } from "node:test";
import { Series } from "./series.js";

test("seconds close with counts and percentiles; tick reports every closed second once", () => {
  const s = new Series(60, 1_000_000);
  for (let i = 1; i <= 100; i++) s.httpRequest(i, 1_000_100);
  s.dnsQuery(2, 1_000_200);
  s.wsMessages(40, 1_000_300);
  // An event in a later second closes the first one; tick still reports it.
  s.httpRequest(5, 1_001_500);
  const closed = s.tick(1_002_000);
  assert.deepEqual(
    closed.map((p) => p.t),
    [1000, 1001],
  );
  const first = closed[0]!;
  assert.deepEqual([first.httpRequests, first.dnsQueries, first.wsMessages], [100, 1, 40]);
  assert.deepEqual([first.httpP50, first.httpP90, first.httpP99], [51, 91, 100]);
  assert.equal(closed[1]!.httpP50, 5);
  assert.deepEqual(s.tick(1_002_500), []);
  assert.equal(s.all(1_002_500).length, 2);
});

test("a series keeps only its span, and a long quiet spell does not emit thousands of seconds", () => {
  const s = new Series(10, 0);
  s.httpRequest(1, 0);
  const closed = s.tick(1_000_000);
  assert.ok(closed.length <= 11, `closed ${closed.length}`);
  assert.ok(s.all(1_000_000).length <= 10);
});
