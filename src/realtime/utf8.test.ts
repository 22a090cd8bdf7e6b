import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Utf8Stream } from "./utf8.js";

test("any split of valid UTF-8 is accepted, fragment by fragment", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
      const bytes = Buffer.from(text, "utf8");
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const v = new Utf8Stream();
      let from = 0;
      for (const p of [...points, bytes.length]) {
        assert.equal(v.push(bytes.subarray(from, p)), true);
        from = p;
      }
      assert.equal(v.end(), true);
    }),
  );
});

test("invalid sequences fail in the fragment where they can first be seen", () => {
  const cases: [number[], number[]][] = [
    [[0x61, 0xc0], [0x80]], // overlong lead: fails at once
    [[0x61, 0xed, 0xa0], [0x80]], // surrogate: fails on the second byte
    [
      [0xf4, 0x90],
      [0x80, 0x80],
    ], // above U+10FFFF
    [[0xe0, 0x80], [0x80]], // overlong 3-byte
    [[0xff], []],
  ];
  for (const [first] of cases) {
    const v = new Utf8Stream();
    assert.equal(v.push(Buffer.from(first)), false, `rejects ${first.map((b) => b.toString(16))}`);
  }
});

test("a message ending inside a code point is invalid", () => {
  const v = new Utf8Stream();
  assert.equal(v.push(Buffer.from([0x61, 0xe2, 0x82])), true);
  assert.equal(v.end(), false);
});
