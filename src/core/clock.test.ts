import assert from "node:assert/strict";
import { test } from "node:test";
import {
  advanceTurn,
  closeTurn,
  MAX_TIMER_MS,
  openTurn,
  timerMs,
  turnNow,
  turnWallNow,
  wallTime,
} from "./clock.js";

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

/** Waits (busily) until performance.now() has moved on by `ms`. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test("turnNow reads the clock once per turn, fresh outside one; turns nest and advanceTurn moves a turn on", () => {
  // Outside a turn: a fresh reading each time.
  const a = turnNow();
  spin(2);
  assert.ok(turnNow() >= a + 2);

  const outer = openTurn();
  const t1 = turnNow();
  spin(2);
  assert.equal(turnNow(), t1, "the turn's first reading");
  assert.ok(Math.abs(turnWallNow() - wallTime(t1)) < 1e-6, "wall time from the same reading");

  // A nested turn reads again, and closing it gives the outer turn back.
  const inner = openTurn();
  const t2 = turnNow();
  assert.ok(t2 >= t1 + 2);
  closeTurn(inner);
  assert.equal(turnNow(), t1);

  // A reading the caller took anyway moves the turn on.
  spin(1);
  const later = performance.now();
  advanceTurn(later);
  assert.equal(turnNow(), later);
  closeTurn(outer);

  // Closed: fresh again, and advanceTurn outside a turn changes nothing.
  advanceTurn(0);
  spin(1);
  assert.ok(turnNow() > later);
});

test("a turn reads the clock when first asked, not when it opens", () => {
  const opened = performance.now();
  const was = openTurn();
  spin(20);
  const first = turnNow();
  closeTurn(was);
  assert.ok(first - opened >= 20, "read after the 20 ms the turn waited");
});
