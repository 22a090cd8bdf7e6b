/**
 * `npm start` when a demo port is taken (issue 9): Ferry's own ERR_LISTEN
 * message is what the user sees, no "Ferry demo" banner is printed and no
 * market feed starts against whatever holds the port.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const start = fileURLToPath(new URL("../../demo/start.js", import.meta.url));

test("npm start with port 8080 taken: Ferry's error, no banner, no feed, a failing exit code", async () => {
  let posts = 0;
  const squatter = http.createServer((req, res) => {
    if (req.method === "POST") posts++;
    res.end("not ferry");
  });
  const bound = await new Promise<boolean>((resolve) => {
    squatter.once("error", () => resolve(false)); // taken already: just as good for this test
    squatter.listen(8080, "127.0.0.1", () => resolve(true));
  });
  try {
    const child = spawn(process.execPath, [start], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.match(out, /127\.0\.0\.1:8080: address already in use \(ERR_LISTEN\)/);
    assert.doesNotMatch(out, /Ferry demo/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(posts, 0, "the market feed published to the process holding the port");
  } finally {
    if (bound) squatter.close();
  }
});
