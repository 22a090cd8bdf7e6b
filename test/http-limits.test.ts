import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { get, needTool, rawExchange, startHttp, type TestServer, tmpSite } from "./helpers.js";

const run = promisify(execFile);

let srv: TestServer;
const bigSize = 48 * 1024 * 1024;

before(async () => {
  const site = tmpSite({
    "index.html": "ok",
    "a.txt": "A",
    "b.txt": "BB",
    "huge.bin": Buffer.alloc(bigSize, 1),
  });
  srv = await startHttp({
    sites: [{ root: site }],
    limits: {
      maxRequestLine: "1KiB",
      maxHeaderSize: "2KiB",
      maxHeaderCount: 20,
      maxBodySize: "1KiB",
      headerTimeout: "400ms",
      requestTimeout: "2s",
      idleTimeout: "400ms",
      sendTimeout: "500ms",
      maxConnections: 50,
    },
  });
});
after(() => srv.close());

async function stillServing() {
  assert.equal((await get(srv.port, "/")).body.toString(), "ok");
}

describe("limits", () => {
  test("414 for a request line over maxRequestLine, and the connection closes", async () => {
    const r = await rawExchange(srv.port, `GET /${"a".repeat(1500)} HTTP/1.1\r\nHost: x\r\n\r\n`, {
      waitClose: true,
    });
    assert.equal(r.responses[0]?.status, 414);
    assert.ok(r.closed);
    await stillServing();
  });

  test("414 also when the request line overruns the parser's whole buffer", async () => {
    const r = await rawExchange(srv.port, `GET /${"a".repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, {
      waitClose: true,
    });
    assert.equal(r.responses[0]?.status, 414);
    await stillServing();
  });

  test("431 for too many headers", async () => {
    const many = Array.from({ length: 30 }, (_, i) => `X-H${i}: v`).join("\r\n");
    const r = await rawExchange(srv.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`, {
      waitClose: true,
    });
    assert.equal(r.responses[0]?.status, 431);
    assert.ok(r.closed);
  });

  test("431 for headers over maxHeaderSize, small or huge", async () => {
    for (const n of [2500, 100_000]) {
      const r = await rawExchange(srv.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(n)}\r\n\r\n`, {
        waitClose: true,
      });
      assert.equal(r.responses[0]?.status, 431, String(n));
    }
    await stillServing();
  });

  test("413 for a Content-Length over maxBodySize", async () => {
    const r = await rawExchange(srv.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", {
      waitClose: true,
    });
    assert.equal(r.responses[0]?.status, 413);
    assert.ok(r.closed);
  });

  test("a chunked body nobody reads is not drained: the reply closes the connection", async () => {
    const chunk = `400\r\n${"c".repeat(0x400)}\r\n`;
    const r = await rawExchange(
      srv.port,
      [`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`, chunk, chunk],
      {
        waitClose: true,
        gapMs: 20,
      },
    );
    assert.equal(r.responses[0]?.status, 405);
    assert.equal(r.responses[0]?.headers.connection, "close");
    assert.ok(r.closed);
    await stillServing();
  });

  test("408 for a client that never finishes its headers (slowloris)", async () => {
    const t0 = Date.now();
    const r = await rawExchange(srv.port, ["GET / HTTP/1.1\r\n", "Host: x\r\n", "X-A: 1\r\n"], {
      waitClose: true,
      gapMs: 100,
      timeout: 5000,
    });
    assert.equal(r.responses[0]?.status, 408);
    assert.ok(r.closed);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  test("an idle keep-alive connection is closed after idleTimeout", async () => {
    const t0 = Date.now();
    const r = await rawExchange(srv.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {
      waitClose: true,
      timeout: 5000,
    });
    assert.equal(r.responses[0]?.status, 200);
    assert.ok(r.closed);
    // idleTimeout is 400 ms: not closed before it, nor long after.
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 3000, `closed after ${took} ms`);
  });

  test("a client that reads nothing (slow read) is cut off; memory is not held", async () => {
    const sock = net.connect(srv.port, "127.0.0.1");
    sock.setNoDelay(true);
    await new Promise((r) => sock.once("connect", r));
    sock.pause();
    sock.write("GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 2500));
    let got = 0;
    const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
    sock.on("data", (c: Buffer) => (got += c.length));
    sock.resume();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 8000))]);
    assert.ok(sock.destroyed || sock.readableEnded, "connection still open");
    assert.ok(got < bigSize, `received all ${got} bytes`);
    sock.destroy();
    await stillServing();
  });

  test("a slow reader's connection is reset, not closed: the kernel does not go on holding the unsent bytes", async (t) => {
    if (!needTool(t, "ss", "iproute2")) return;
    const sock = net.connect(srv.port, "127.0.0.1");
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    sock.pause();
    const started = Date.now();
    sock.write("GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    // Closed the usual way, Ferry's FIN would wait behind megabytes the client never takes, and the client's
    // side would stay established; a reset ends both at once, while the client still reads nothing.
    const established = async () =>
      (
        await run("ss", ["-Htn", "state", "established", "src", `127.0.0.1:${sock.localPort}`])
      ).stdout.includes(`127.0.0.1:${srv.port}`);
    assert.ok(await established(), "established while the answer is under way");
    while ((await established()) && Date.now() - started < 6000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!(await established()), "the connection was reset after sendTimeout");
    assert.ok(Date.now() - started >= 400, "not before sendTimeout");
    sock.destroy();
    await stillServing();
  });

  test("maxConnections refuses connections over the limit", async () => {
    const small = await startHttp({
      sites: [{ root: tmpSite({ "index.html": "x" }) }],
      limits: { maxConnections: 2, idleTimeout: "5s" },
    });
    const socks: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = net.connect(small.port, "127.0.0.1");
        socks.push(s);
        await new Promise((r) => s.once("connect", r));
      }
      const third = await rawExchange(small.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {
        timeout: 2000,
        waitClose: true,
      });
      assert.equal(third.responses.length, 0);
      assert.ok(third.closed);
    } finally {
      for (const s of socks) s.destroy();
      await small.close();
    }
  });
});

describe("malformed requests get a 4xx and the server keeps serving", () => {
  const cases: [string, string, number][] = [
    ["garbage request line", "HELLO\r\n\r\n", 400],
    ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400],
    ["duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["invalid Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400],
    ["space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400],
    ["bad Content-Length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400],
    [
      "Content-Length and chunked together",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
    ],
    ["bare LF in request line", "GET / HTTP/1.1\nHost: x\n\n", 400],
    ["unknown HTTP version (505, RFC 9110 §15.6.6)", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 505],
    ["relative target", "GET index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ];
  for (const [name, bytes, status] of cases) {
    test(name, async () => {
      const r = await rawExchange(srv.port, bytes, { waitClose: true, timeout: 3000 });
      assert.equal(r.responses[0]?.status, status);
      assert.ok(r.closed, "connection left open");
      await stillServing();
    });
  }

  test("a bad chunk in a body nobody reads: answered, then the connection closes", async () => {
    const r = await rawExchange(
      srv.port,
      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
      {
        waitClose: true,
      },
    );
    assert.equal(r.responses.length, 1);
    assert.ok(r.closed);
    await stillServing();
  });

  test("HTTP/1.0 without Host is fine", async () => {
    const r = await rawExchange(srv.port, "GET / HTTP/1.0\r\n\r\n", { waitClose: true });
    assert.equal(r.responses[0]?.status, 200);
  });
});

describe("keep-alive and pipelining", () => {
  test("three pipelined requests in one write are answered in order", async () => {
    const req = (p: string, m = "GET") => `${m} ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await rawExchange(srv.port, req("/a.txt") + req("/b.txt", "HEAD") + req("/index.html"), {
      expect: 3,
      heads: [false, true, false],
    });
    assert.deepEqual(
      r.responses.map((x) => [x.status, x.body.toString()]),
      [
        [200, "A"],
        [200, ""],
        [200, "ok"],
      ],
    );
    assert.equal(r.responses[1]!.headers["content-length"], "2");
    assert.ok(!r.closed);
  });

  test("absolute-form targets use their own host", async () => {
    const r = await rawExchange(
      srv.port,
      "GET http://other.test/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.equal(r.responses[0]?.body.toString(), "A");
  });

  test("OPTIONS * is answered", async () => {
    const r = await rawExchange(srv.port, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal(r.responses[0]?.status, 204);
  });
});
