import assert from "node:assert/strict";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { compressBuffer, isCompressible, negotiateEncoding } from "./compress.js";

test("prefers br, then gzip, from a plain list", () => {
  assert.equal(negotiateEncoding("gzip, deflate, br", ["br", "gzip"]), "br");
  assert.equal(negotiateEncoding("gzip", ["br", "gzip"]), "gzip");
  assert.equal(negotiateEncoding("deflate", ["br", "gzip"]), null);
  assert.equal(negotiateEncoding(undefined, ["br", "gzip"]), null);
  assert.equal(negotiateEncoding("*", ["gzip"]), "gzip");
});

test("honours q-values, including q=0", () => {
  assert.equal(negotiateEncoding("br;q=0, gzip", ["br", "gzip"]), "gzip");
  assert.equal(negotiateEncoding("br;q=0.2, gzip;q=0.8", ["br", "gzip"]), "gzip");
  assert.equal(negotiateEncoding("*;q=0, identity", ["br", "gzip"]), null);
  assert.equal(negotiateEncoding("gzip;q=0", ["gzip"]), null);
});

test("compressible types", () => {
  for (const t of [
    "text/html; charset=utf-8",
    "application/javascript; charset=utf-8",
    "application/json",
    "image/svg+xml",
    "application/ld+json",
  ]) {
    assert.equal(isCompressible(t), true, t);
  }
  for (const t of ["image/png", "video/mp4", "application/zip", "font/woff2"])
    assert.equal(isCompressible(t), false, t);
});

test("compressBuffer round-trips", () => {
  const data = Buffer.from("hello ".repeat(1000));
  assert.deepEqual(gunzipSync(compressBuffer(data, "gzip")), data);
  assert.ok(compressBuffer(data, "br").length < data.length);
});
