import assert from "node:assert/strict";
import { test } from "node:test";
import { wallTime } from "./clock.js";

test("wallTime of a performance.now() reading is Date.now() at that moment, within a few ms, now and after a second", async () => {
  for (let round = 0; round < 2; round++) {
    const before = Date.now();
    const t = wallTime(performance.now());
    const after = Date.now();
    assert.ok(t >= before - 2 && t <= after + 2, `${t} within [${before}, ${after}]`);
    // An earlier reading maps to an earlier wall time, by the same gap.
    const p = performance.now();
    assert.ok(Math.abs(wallTime(p - 500) - (wallTime(p) - 500)) < 1e-6);
    await new Promise((r) => setTimeout(r, 1100));
  }
});
