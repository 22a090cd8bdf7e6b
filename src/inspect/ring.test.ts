import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Ring } from "./ring.js";

test("a ring keeps the newest `capacity` entries, newest first", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.integer(), { maxLength: 200 }), (cap, xs) => {
      const r = new Ring<number>(cap);
      for (const x of xs) r.push(x);
      assert.deepEqual(r.newest(), xs.slice(-cap).reverse());
      assert.equal(r.size, Math.min(cap, xs.length));
      assert.equal(r.total, xs.length);
    }),
  );
});

test("after(seq) returns what came later, oldest first, within what is kept", () => {
  const r = new Ring<string>(3);
  const seqs = ["a", "b", "c", "d", "e"].map((x) => r.push(x));
  assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
  assert.deepEqual(r.after(2), ["d", "e"]);
  assert.deepEqual(r.after(-1), ["c", "d", "e"]);
  assert.deepEqual(r.after(4), []);
});

test("newest with a limit and a filter", () => {
  const r = new Ring<number>(10);
  for (let i = 0; i < 10; i++) r.push(i);
  assert.deepEqual(
    r.newest(3, (x) => x % 2 === 0),
    [8, 6, 4],
  );
  assert.throws(() => new Ring(0), RangeError);
});
