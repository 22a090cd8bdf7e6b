import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_CODES } from "../src/core/errors.js";

test("docs/errors.md documents exactly the codes the code uses", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const documented = new Set([...doc.matchAll(/^## `(ERR_[A-Z_]+)`/gm)].map((m) => m[1]));
  const inCode = new Set(Object.keys(ERROR_CODES));
  assert.deepEqual([...documented].sort(), [...inCode].sort());
});

test("docs/config.md is the rendering of the current schema (run npm run docs)", async () => {
  const { renderConfigDocs } = await import("../src/core/config/render-docs.js");
  const doc = readFileSync(new URL("../../docs/config.md", import.meta.url), "utf8");
  assert.equal(doc, renderConfigDocs());
});
