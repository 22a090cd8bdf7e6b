import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplayCache } from "./replay.js";

test("a MAC is a replay until its request's time window ends; keys are apart; the oldest go first when full", () => {
  const mac = (n: number) => Buffer.alloc(32, n);
  const c = new ReplayCache(3);
  // [key, mac, expires, now, replayed?]
  const steps: [string, number, number, number, boolean][] = [
    ["k1", 1, 1300, 1000, false],
    ["k1", 1, 1300, 1001, true], // the same request again
    ["K1", 1, 1300, 1002, true], // key names are case-insensitive
    ["k2", 1, 1300, 1003, false], // the same MAC under another key
    ["k1", 2, 1300, 1004, false],
    ["k1", 3, 1300, 1005, false], // a fourth: the oldest (k1 1) is let go
    ["k1", 1, 1300, 1006, false],
    ["k1", 2, 1300, 1301, false], // past its window: forgotten (the time check refuses it anyway)
  ];
  for (const [key, m, expires, now, want] of steps)
    assert.equal(c.replayed(key, mac(m), expires, now), want, `${key} ${m} at ${now}`);
});
