import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRange } from "./range.js";

test("single, open and suffix ranges", () => {
  assert.deepEqual(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange("bytes=90-", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange("bytes=-1000", 100), { start: 0, end: 99 });
});

test("an end past the file is clamped", () => {
  assert.deepEqual(parseRange("bytes=50-5000", 100), { start: 50, end: 99 });
});

test("unsatisfiable ranges", () => {
  assert.equal(parseRange("bytes=100-", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=200-300", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=-0", 100), "unsatisfiable");
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable");
});

test("invalid or multiple ranges are ignored (whole file)", () => {
  assert.equal(parseRange("bytes=5-2", 100), null);
  assert.equal(parseRange("items=0-1", 100), null);
  assert.equal(parseRange("bytes=0-1,5-6", 100), null);
  assert.equal(parseRange("bytes=-", 100), null);
});
