import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration, parseSize } from "./units.js";

test("durations", () => {
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("10s"), 10_000);
  assert.equal(parseDuration("1.5m"), 90_000);
  assert.equal(parseDuration("1h"), 3_600_000);
});

test("sizes", () => {
  assert.equal(parseSize(100), 100);
  assert.equal(parseSize("16KiB"), 16384);
  assert.equal(parseSize("2MB"), 2_000_000);
  assert.equal(parseSize("1 MiB"), 1_048_576);
  assert.equal(parseSize("512"), 512);
});
