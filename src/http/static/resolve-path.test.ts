import assert from "node:assert/strict";
import { test } from "node:test";
import { encodePath, resolvePath } from "./resolve-path.js";

test("normalises dot segments and repeated slashes", () => {
  assert.deepEqual(resolvePath("/a/./b//c/../d"), { path: "/a/b/d", hidden: false });
  assert.deepEqual(resolvePath("/a/b/"), { path: "/a/b/", hidden: false });
  assert.deepEqual(resolvePath("/a/b/.."), { path: "/a/", hidden: false });
  assert.deepEqual(resolvePath("/"), { path: "/", hidden: false });
});

test("refuses every way of climbing above the root", () => {
  for (const raw of [
    "/..",
    "/../etc/passwd",
    "/a/../../b",
    "/%2e%2e/etc/passwd",
    "/%2E%2E/x",
    "/.%2e/x",
    "/a/%2e%2e/%2e%2e/x",
  ]) {
    assert.equal(resolvePath(raw), 400, raw);
  }
});

test("decodes exactly once: a double-encoded dot-dot is a literal name", () => {
  assert.deepEqual(resolvePath("/%252e%252e/x"), { path: "/%2e%2e/x", hidden: false });
});

test("refuses backslashes, NUL and malformed escapes", () => {
  for (const raw of ["/a\\b", "/%5c..%5cx", "/%5C", "/a%00.html", "/%", "/%zz", "/%c0%ae", "", "a/b"]) {
    assert.equal(resolvePath(raw), 400, raw);
  }
});

test("marks dotfiles hidden, except under /.well-known/", () => {
  assert.equal((resolvePath("/.env") as { hidden: boolean }).hidden, true);
  assert.equal((resolvePath("/a/.git/config") as { hidden: boolean }).hidden, true);
  assert.equal((resolvePath("/%2egit/HEAD") as { hidden: boolean }).hidden, true);
  assert.equal((resolvePath("/.well-known/security.txt") as { hidden: boolean }).hidden, false);
  assert.equal((resolvePath("/.well-known/.secret") as { hidden: boolean }).hidden, true);
  assert.equal((resolvePath("/a/.well-known/x") as { hidden: boolean }).hidden, true);
});

test("encodePath never yields a protocol-relative location", () => {
  assert.equal(encodePath("//evil.test/"), "/evil.test/");
  assert.equal(encodePath("/a b/"), "/a%20b/");
  assert.equal(encodePath("/x/"), "/x/");
});
