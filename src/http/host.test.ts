import assert from "node:assert/strict";
import { test } from "node:test";
import { parseHost } from "./host.js";

test("host names lose port, case and trailing dot", () => {
  assert.equal(parseHost("Example.TEST:8080"), "example.test");
  assert.equal(parseHost("example.test."), "example.test");
  assert.equal(parseHost("[::1]:8080"), "[::1]");
  assert.equal(parseHost("127.0.0.1"), "127.0.0.1");
});

test("invalid hosts", () => {
  for (const h of ["a b", "a/b", "x:port", "[::1", "[::1]x", "ex@mple"]) assert.equal(parseHost(h), null, h);
});
