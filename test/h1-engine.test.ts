/**
 * HTTP/1.1 framing as RFC 9112 asks, over real sockets, on the engine
 * under test (npm test runs this file on Ferry's engine and on node:http):
 * every ambiguous framing is refused with 400 (501 for a transfer coding
 * Ferry does not implement), the connection closes, no handler sees the
 * request, and the server keeps serving. Plus what clients rely on: bytes
 * split anywhere, HTTP/1.0 keep-alive, `Expect: 100-continue` with curl,
 * and `http.engine` set through YAML and the flag.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ENGINE } from "./engine-under-test.js";
import { get, needTool, rawExchange, spawnFerry, startHttp, type TestServer, tmpSite } from "./helpers.js";

const run = promisify(execFile);
let srv: TestServer;
let published: string[] = [];

before(async () => {
  srv = await startHttp({
    sites: [
      {
        root: tmpSite({ "index.html": "ok" }),
        realtime: [{ path: "/rt", publishKey: "test-key-1" }],
      },
    ],
    limits: { maxBodySize: "64KiB" },
  });
});
after(() => srv.close());

/** Statuses of exchanges with the realtime endpoint: a refused request must never be published. */
function onRequest(m: unknown): void {
  const e = m as { target: string; status: number };
  if (e.target.startsWith("/rt")) published.push(`${e.status}`);
}

const codes: string[] = [];
const onRefused = (m: unknown) => codes.push((m as { code: string }).code);

describe("framing that could be read two ways is refused (RFC 9112 §6.3, §11.2)", () => {
  before(() => {
    diagnostics.subscribe("ferry:http:request", onRequest);
    diagnostics.subscribe("ferry:http:client-error", onRefused);
  });
  after(() => {
    diagnostics.unsubscribe("ferry:http:request", onRequest);
    diagnostics.unsubscribe("ferry:http:client-error", onRefused);
  });
  const post =
    "POST /rt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key-1\r\nContent-Type: application/json\r\n";
  const body = '{"channel":"a","data":1}';
  // [name, bytes, status, the code Ferry's engine gives]. Each would smuggle a second request past a
  // front that read it the other way.
  const F = "ERR_HTTP_FRAMING";
  const B = "ERR_HTTP_BAD_REQUEST";
  const cases: [string, string, number, string][] = [
    ["two Content-Lengths", `${post}Content-Length: 24\r\nContent-Length: 5\r\n\r\n${body}`, 400, F],
    ["two equal Content-Lengths", `${post}Content-Length: 24\r\nContent-Length: 24\r\n\r\n${body}`, 400, F],
    ["a Content-Length list", `${post}Content-Length: 24, 24\r\n\r\n${body}`, 400, F],
    ["a signed Content-Length", `${post}Content-Length: +24\r\n\r\n${body}`, 400, F],
    [
      "Content-Length with Transfer-Encoding",
      `${post}Content-Length: 24\r\nTransfer-Encoding: chunked\r\n\r\n18\r\n${body}\r\n0\r\n\r\n`,
      400,
      F,
    ],
    [
      "chunked not last",
      `${post}Transfer-Encoding: chunked, identity\r\n\r\n18\r\n${body}\r\n0\r\n\r\n`,
      400,
      F,
    ],
    [
      "a chunk size in decimal letters",
      `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`,
      400,
      F,
    ],
    [
      "a chunk size with a sign",
      `${post}Transfer-Encoding: chunked\r\n\r\n-18\r\n${body}\r\n0\r\n\r\n`,
      400,
      F,
    ],
    [
      "chunk data longer than its size",
      `${post}Transfer-Encoding: chunked\r\n\r\n2\r\n${body}\r\n0\r\n\r\n`,
      400,
      F,
    ],
    [
      "an absurd chunk size",
      `${post}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n${body}\r\n0\r\n\r\n`,
      400,
      F,
    ],
    ["obs-fold", `${post}Content-Length: 24\r\nX-Folded: a\r\n b\r\n\r\n${body}`, 400, B],
    ["a bare LF ending a header", `${post}Content-Length: 24\nX: y\r\n\r\n${body}`, 400, B],
    ["a bare CR in a value", `${post}Content-Length: 24\r\nX: a\rb\r\n\r\n${body}`, 400, B],
    ["whitespace before the colon", `${post}Content-Length : 24\r\n\r\n${body}`, 400, B],
    ["a NUL in the target", `POST /rt\0 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`, 400, B],
  ];
  // node:http (llhttp) takes `gzip, chunked` and hands the coded body on: Ferry's engine alone answers 501.
  if (ENGINE === "ferry")
    cases.push([
      "a transfer coding other than chunked (501, RFC 9112 §6.1)",
      `${post}Transfer-Encoding: gzip, chunked\r\n\r\n18\r\n${body}\r\n0\r\n\r\n`,
      501,
      F,
    ]);
  for (const [name, bytes, status, code] of cases) {
    test(`${name}: ${status}, closed, nothing published`, async () => {
      published = [];
      codes.length = 0;
      // The refused request, then a GET a lenient parser would take as a second request.
      const r = await rawExchange(srv.port, `${bytes}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n`, {
        waitClose: true,
        timeout: 3000,
      });
      assert.equal(r.responses[0]?.status, status, r.responses[0]?.statusLine);
      assert.equal(r.responses.length, 1, "a second response: something was smuggled");
      assert.ok(r.closed, "the connection stayed open");
      // A bad chunk comes after a good head: the handler may have started, but nothing is published.
      assert.deepEqual(
        published.filter((st) => st.startsWith("2")),
        [],
        "the publish went through",
      );
      assert.ok(codes.length > 0, "no refusal event");
      if (ENGINE === "ferry") assert.equal(codes[0], code);
      assert.equal((await get(srv.port, "/")).body.toString(), "ok");
    });
  }
});

describe("what clients rely on", () => {
  test("a request split into single bytes on the wire is answered", async () => {
    const bytes = [..."GET / HTTP/1.1\r\nHost: x\r\nX-Long: abcdef\r\n\r\n"];
    const r = await rawExchange(srv.port, bytes, { gapMs: 1, timeout: 5000 });
    assert.equal(r.responses[0]?.status, 200);
    assert.equal(r.responses[0]?.body.toString(), "ok");
  });

  test("a chunked body split inside its chunk sizes and CRLFs arrives whole", async () => {
    const body = '{"channel":"split","data":"0123456789"}';
    const chunked = `5\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n${body.slice(5)}\r\n0\r\n\r\n`;
    const head =
      "POST /rt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key-1\r\nContent-Type: application/json\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n";
    const parts = [head, ...[...chunked].map((c) => c)];
    const r = await rawExchange(srv.port, parts, { gapMs: 1, timeout: 5000 });
    assert.equal(r.responses[0]?.status, 200, r.responses[0]?.body.toString());
    assert.match(r.responses[0]!.body.toString(), /"offset":/);
  });

  test("HTTP/1.0 with Connection: keep-alive keeps the connection for a second request", async () => {
    const one = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    const r = await rawExchange(srv.port, [one, one], { expect: 2, gapMs: 50, timeout: 3000 });
    assert.equal(r.responses.length, 2);
    assert.match(r.responses[0]!.headers.connection ?? "", /keep-alive/i);
  });

  test("HTTP/1.0 without keep-alive closes after the reply", async () => {
    const r = await rawExchange(srv.port, "GET / HTTP/1.0\r\n\r\n", { waitClose: true, timeout: 3000 });
    assert.equal(r.responses[0]?.status, 200);
    assert.ok(r.closed);
  });

  test("curl's Expect: 100-continue gets 100 before it sends the body", async (t) => {
    if (!needTool(t, "curl", "curl")) return;
    const body = JSON.stringify({ channel: "cont", data: "x".repeat(2000) });
    const { stdout, stderr } = await run(
      "curl",
      [
        "-sv",
        "--expect100-timeout",
        "10",
        "-H",
        "Expect: 100-continue",
        "-H",
        "Authorization: Bearer test-key-1",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
        `http://127.0.0.1:${srv.port}/rt`,
      ],
      { timeout: 8000 },
    );
    assert.match(stderr, /< HTTP\/1\.1 100 Continue/);
    assert.match(stdout, /"offset":/);
  });

  test("a body cut short by the client's FIN gets 400, the connection closes, nothing is published", async () => {
    const net = await import("node:net");
    const s = net.connect(srv.port, "127.0.0.1");
    let got = "";
    s.on("data", (c) => (got += c.toString()));
    await new Promise((r) => s.once("connect", r));
    s.end(
      "POST /rt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key-1\r\nContent-Type: application/json\r\n" +
        'Content-Length: 100\r\n\r\n{"channel":"cut"',
    );
    const closed = await Promise.race([
      new Promise((r) => s.once("close", () => r(true))),
      new Promise((r) => setTimeout(() => r(false), 3000)),
    ]);
    s.destroy();
    assert.ok(closed, "the connection stayed open with the body never ending");
    assert.match(got, /^HTTP\/1\.1 400 /);
  });

  test("a client that half-closes after its request still gets the reply", async () => {
    const net = await import("node:net");
    const s = net.connect(srv.port, "127.0.0.1");
    let got = "";
    s.on("data", (c) => (got += c.toString()));
    await new Promise((r) => s.once("connect", r));
    s.end("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => s.once("close", r));
    assert.match(got, /^HTTP\/1\.1 200 /);
    assert.match(got, /\r\n\r\nok$/);
  });
});

describe("http.engine", () => {
  for (const engine of ["ferry", "node"] as const) {
    test(`http.engine: ${engine} in YAML is the engine that answers (and --http-engine overrides it)`, async () => {
      const dir = tmpSite({ "index.html": "ok" });
      const file = path.join(dir, "ferry.yaml");
      writeFileSync(
        file,
        `http:\n  listen: ["127.0.0.1:0"]\n  engine: ${engine}\n  sites:\n    - root: .\nlog:\n  access: false\n`,
      );
      // node:http sends `Keep-Alive: timeout=…`; Ferry's engine does not.
      const served = async (args: string[]) => {
        const f = await spawnFerry(
          ["serve", "--config", file, ...args],
          [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
        );
        try {
          const r = await rawExchange(Number(f.found[0]), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          return r.responses[0]!.headers["keep-alive"] === undefined ? "ferry" : "node";
        } finally {
          f.child.kill("SIGKILL");
        }
      };
      const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;
      const checked = await run(process.execPath, [bin, "check", "--config", file]);
      assert.match(checked.stdout, engine === "ferry" ? /\(Ferry's HTTP\/1\.1 engine\)/ : /\(node:http\)/);
      // The YAML key alone (the engine under test would otherwise be added as a flag).
      if (ENGINE === "ferry") assert.equal(await served([]), engine);
      const other = engine === "ferry" ? "node" : "ferry";
      assert.equal(await served(["--http-engine", other]), other);
    });
  }

  test("a bad engine name is a config error naming the key", async () => {
    const dir = tmpSite({ "index.html": "ok" });
    const file = path.join(dir, "ferry.yaml");
    writeFileSync(file, "http:\n  engine: fast\n  sites:\n    - root: .\n");
    const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;
    const r = await run(process.execPath, [bin, "check", "--config", file]).catch((e) => e);
    assert.notEqual(r.code, 0);
    assert.match(`${r.stderr}`, /http\.engine/);
    assert.match(`${r.stderr}`, /ferry\.yaml:2:/);
    assert.doesNotMatch(`${r.stderr}`, /\n\s+at /, "a stack trace");
  });
});
