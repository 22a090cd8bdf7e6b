import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { needTool, startHttp, type TestServer, tmpSite } from "./helpers.js";

let srv: TestServer;
let base: string;
const text = `${"Ferry and curl agree. ".repeat(200)}\n`;

before(async () => {
  const dir = tmpSite({ "index.html": "<p>hi</p>", "doc.txt": text, "sub/index.html": "sub" });
  srv = await startHttp({ sites: [{ root: dir }] });
  base = `http://127.0.0.1:${srv.port}`;
});
after(() => srv.close());

/** Runs curl without blocking the event loop (the server under test runs in this process). */
function curl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-sS", "--max-time", "10", ...args], { encoding: "utf8" }, (error, out, err) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out, err });
    });
  });
}

test("curl GET and HEAD", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  assert.equal((await curl(`${base}/`)).out, "<p>hi</p>");
  const head = (await curl("-I", `${base}/doc.txt`)).out;
  assert.match(head, /^HTTP\/1\.1 200 OK/);
  assert.match(head, /content-length: 4401/i);
  assert.match(head, /etag: "/i);
});

test("curl --compressed decodes what Ferry compressed", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const r = await curl("--compressed", "-D", "-", `${base}/doc.txt`);
  assert.match(r.out, /content-encoding: (gzip|br)/i);
  assert.ok(r.out.endsWith(text));
});

test("curl ranges and conditional requests", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  assert.equal((await curl("-r", "0-4", `${base}/doc.txt`)).out, "Ferry");
  const code = (
    await curl(
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-z",
      "Thu, 01 Jan 2099 00:00:00 GMT",
      `${base}/doc.txt`,
    )
  ).out;
  assert.equal(code, "304");
});

test("curl follows the slash redirect and reuses the connection", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const r = await curl("-v", "-L", `${base}/sub`, `${base}/doc.txt`, "-o", "/dev/null", "-o", "/dev/null");
  assert.match(r.err, /< HTTP\/1\.1 301/);
  assert.match(r.err, /< Location: \/sub\//i);
  assert.match(r.err, /Re-using existing connection/);
});

test("curl --path-as-is traversal is refused", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const code = (
    await curl("--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", `${base}/../../etc/passwd`)
  ).out;
  assert.equal(code, "400");
});
