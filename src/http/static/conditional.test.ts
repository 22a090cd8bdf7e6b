import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateConditions, ifRangeAllows, parseETagList, strongMatch, weakMatch } from "./conditional.js";

const tag = '"a-1"';
const lm = "Sat, 28 Nov 2026 00:00:00 GMT";
const mtime = Date.parse(lm) / 1000;

test("entity-tag lists, including commas inside tags", () => {
  assert.deepEqual(parseETagList('"x", W/"y" ,"a,b"'), ['"x"', 'W/"y"', '"a,b"']);
  assert.deepEqual(parseETagList("*"), ["*"]);
});

test("If-None-Match uses weak comparison and *", () => {
  assert.equal(weakMatch('W/"a-1"', tag), true);
  assert.equal(weakMatch('"b", "a-1"', tag), true);
  assert.equal(weakMatch("*", tag), true);
  assert.equal(weakMatch('"b"', tag), false);
  assert.equal(evaluateConditions({ "if-none-match": '"x", W/"a-1"' }, tag, mtime), "not-modified");
});

test("If-None-Match wins over If-Modified-Since", () => {
  assert.equal(
    evaluateConditions({ "if-none-match": '"zzz"', "if-modified-since": lm }, tag, mtime),
    "proceed",
  );
});

test("If-Modified-Since", () => {
  assert.equal(evaluateConditions({ "if-modified-since": lm }, tag, mtime), "not-modified");
  assert.equal(
    evaluateConditions({ "if-modified-since": "Fri, 27 Nov 2026 00:00:00 GMT" }, tag, mtime),
    "proceed",
  );
  assert.equal(evaluateConditions({ "if-modified-since": "garbage" }, tag, mtime), "proceed");
});

test("If-Match is strong; If-Unmodified-Since", () => {
  assert.equal(strongMatch('W/"a-1"', tag), false);
  assert.equal(evaluateConditions({ "if-match": '"other"' }, tag, mtime), "precondition-failed");
  assert.equal(evaluateConditions({ "if-match": tag }, tag, mtime), "proceed");
  assert.equal(
    evaluateConditions({ "if-unmodified-since": "Fri, 27 Nov 2026 00:00:00 GMT" }, tag, mtime),
    "precondition-failed",
  );
});

test("If-Range: strong tag or exact date", () => {
  assert.equal(ifRangeAllows(undefined, tag, lm), true);
  assert.equal(ifRangeAllows(tag, tag, lm), true);
  assert.equal(ifRangeAllows('W/"a-1"', tag, lm), false);
  assert.equal(ifRangeAllows('"old"', tag, lm), false);
  assert.equal(ifRangeAllows(lm, tag, lm), true);
  assert.equal(ifRangeAllows("Fri, 27 Nov 2026 00:00:00 GMT", tag, lm), false);
});
