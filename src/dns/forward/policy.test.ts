import assert from "node:assert/strict";
import { test } from "node:test";
import { RoundRobin, Sequential } from "./policy.js";

test("round robin starts each question at the next upstream and fails over round the list", () => {
  const p = new RoundRobin<string>();
  const ups = ["a", "b", "c"];
  assert.deepEqual(
    [p.order(ups), p.order(ups), p.order(ups), p.order(ups)],
    [
      ["a", "b", "c"],
      ["b", "c", "a"],
      ["c", "a", "b"],
      ["a", "b", "c"],
    ],
  );
  assert.deepEqual(p.order(["only"]), ["only"]);
});

test("sequential always tries the first upstream first", () => {
  const p = new Sequential<string>();
  assert.deepEqual(
    [p.order(["a", "b"]), p.order(["a", "b"])],
    [
      ["a", "b"],
      ["a", "b"],
    ],
  );
});
