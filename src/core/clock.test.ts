import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_TIMER_MS, timerMs, wallTime } from "./clock.js";

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

test("timerMs keeps a delay node can wait and caps a longer one at node's limit (instead of firing at once)", async () => {
  assert.equal(timerMs(1500), 1500);
  assert.equal(timerMs(MAX_TIMER_MS), MAX_TIMER_MS);
  assert.equal(timerMs(30 * 86_400_000), MAX_TIMER_MS);
  // What the cap prevents: node runs a longer timer after 1 ms.
  let fired = false;
  const t = setTimeout(() => (fired = true), timerMs(30 * 86_400_000));
  await new Promise((r) => setTimeout(r, 50));
  clearTimeout(t);
  assert.equal(fired, false);
});
