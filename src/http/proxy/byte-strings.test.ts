import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteStrings, lowerName, lowerNamesKept, MAX_LOWER } from "./byte-strings.js";

test("byte strings: the same bytes give the same text; other bytes never give a kept string; a reused buffer is read anew", () => {
  const s = new ByteStrings();
  const a = s.get(Buffer.from("Content-Type"));
  assert.equal(a, "Content-Type");
  assert.equal(s.get(Buffer.from("Content-Type")), a);
  // Same length, other bytes (and other case): their own text.
  assert.equal(s.get(Buffer.from("content-type")), "content-type");
  assert.equal(s.get(Buffer.from("Content-Typf")), "Content-Typf");
  // A buffer its owner fills again: the kept copy is not the caller's buffer.
  const reused = Buffer.from("keep-alive");
  assert.equal(s.get(reused), "keep-alive");
  reused.write("keep-alivX");
  assert.equal(s.get(reused), "keep-alivX");
  // Latin-1 bytes, empty and long values.
  assert.equal(s.get(Buffer.from([0x63, 0xe9])), "c\u00e9");
  assert.equal(s.get(Buffer.alloc(0)), "");
  const long = "x".repeat(200);
  assert.equal(s.get(Buffer.from(long)), long);
  // Many different strings (every slot taken over and over): each still reads right.
  for (let i = 0; i < 5000; i++) assert.equal(s.get(Buffer.from(`h-${i}`)), `h-${i}`);
  assert.equal(s.get(Buffer.from("Content-Type")), "Content-Type");
});

test("lowerName: lower case, for kept and new names alike", () => {
  for (const [name, want] of [
    ["Content-Length", "content-length"],
    ["content-length", "content-length"],
    ["X-Ünicode", "x-ünicode"],
    ["CONNECTION", "connection"],
  ])
    for (let i = 0; i < 2; i++) assert.equal(lowerName(name!), want);
  // Made-up names (a client's): the table starts over when full, and long names are never kept.
  for (let i = 0; i < 3000; i++) {
    assert.equal(lowerName(`X-Made-Up-${i}`), `x-made-up-${i}`);
    assert.ok(lowerNamesKept() <= MAX_LOWER);
  }
  const before = lowerNamesKept();
  assert.equal(lowerName(`X-${"Y".repeat(100)}`), `x-${"y".repeat(100)}`);
  assert.equal(lowerNamesKept(), before);
});
