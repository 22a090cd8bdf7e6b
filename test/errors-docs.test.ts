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

test("every ERR_ code the source emits is in the table and documented", async () => {
  const { readdirSync } = await import("node:fs");
  const path = await import("node:path");
  const root = new URL("../../src/", import.meta.url).pathname;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) files.push(p);
    }
  };
  walk(root);
  const used = new Set<string>();
  for (const f of files) {
    for (const m of readFileSync(f, "utf8").matchAll(/"(ERR_[A-Z_]+)"/g)) used.add(m[1]!);
  }
  // Node's own codes for parseArgs errors, which the CLI turns into ERR_USAGE.
  for (const c of used) if (c.startsWith("ERR_PARSE_ARGS")) used.delete(c);
  // Node's code for a certificate issued to another name, which the proxy reads (as ERR_PROXY_CONNECT).
  used.delete("ERR_TLS_CERT_ALTNAME_INVALID");
  const table = new Set(Object.keys(ERROR_CODES));
  assert.deepEqual([...used].filter((c) => !table.has(c)).sort(), []);
});
