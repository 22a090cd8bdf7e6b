/**
 * HTTP/2 beyond the basics of tls.test.ts: cleartext HTTP/2 with prior
 * knowledge (`http.h2c`) beside HTTP/1.1 on one port, checked with nghttp,
 * h2load and curl; and the two floods HTTP/2 servers fell to in 2023–24,
 * sent frame by frame by a raw client (test/h2-raw.ts): rapid reset
 * (CVE-2023-44487) and CONTINUATION floods (CVE-2024-27983 and kin). Each
 * must cost the attacker its connection and leave everyone else served.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { connectRaw, Flag, fillerBlock, frame, getBlock, Type } from "./h2-raw.js";
import { needTool, spawnFerry, tmpSite, waitFor } from "./helpers.js";

const run = promisify(execFile);

const NGHTTP2_ENHANCE_YOUR_CALM = 0xb;

function cancel(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(8); // CANCEL
  return b;
}

/** A node:http upstream on a free loopback port. */
async function upstreamOf(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port };
}

/** Ferry serving `dir` with h2c on a loopback port: `lines` go in its ferry.yaml's `http:` (limits, sites). */
async function h2cFerry(dir: string, lines: string[], top: string[] = []) {
  writeFileSync(
    path.join(dir, "ferry.yaml"),
    [...top, "http:", '  listen: ["127.0.0.1:0"]', "  h2c: true", ...lines, ""].join("\n"),
  );
  return spawnFerry(
    ["serve", "--config", path.join(dir, "ferry.yaml")],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
  );
}

test("h2c: HTTP/2 with prior knowledge and HTTP/1.1 on one plain port (nghttp, h2load, curl); off by default", async (t) => {
  if (!needTool(t, "nghttp", "nghttp2-client") || !needTool(t, "curl", "curl")) return;
  const dir = tmpSite({ "index.html": "hello h2c", "big.txt": "h2c ".repeat(40_000) });
  const { server: upstream, port: upPort } = await upstreamOf((req, res) => {
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => res.end(`up ${req.method} ${n} ${req.headers["x-forwarded-proto"]}`));
  });
  const f = await h2cFerry(dir, [
    "  sites:",
    "    - root: .",
    "      locations:",
    `        - { path: /api/, proxy: { to: ["127.0.0.1:${upPort}"] } }`,
  ]);
  const plain = await spawnFerry(
    ["serve", dir, "--http", "127.0.0.1:0"],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
  );
  try {
    const base = `http://127.0.0.1:${f.found[0]}`;
    const nghttp = await run("nghttp", ["-nv", `${base}/`]);
    assert.match(nghttp.stdout, /recv SETTINGS frame/);
    assert.match(nghttp.stdout, /:status: 200/);
    const h2 = await run("curl", ["-s", "-i", "--http2-prior-knowledge", `${base}/`]);
    assert.match(h2.stdout, /^HTTP\/2 200/);
    assert.match(h2.stdout, /hello h2c$/);
    const big = await run("curl", ["-s", "--http2-prior-knowledge", `${base}/big.txt`], {
      maxBuffer: 1 << 22,
    });
    assert.equal(big.stdout.length, 160_000);
    const up = await run("curl", [
      "-s",
      "--http2-prior-knowledge",
      "--data-binary",
      "y".repeat(70_000),
      `${base}/api/x`,
    ]);
    assert.equal(up.stdout, "up POST 70000 http", "h2c is not TLS: X-Forwarded-Proto says http");
    // HTTP/2 needs no Content-Length: DATA frames until END_STREAM are the body, and go up whole.
    const noLength = await run("curl", [
      "-s",
      "--http2-prior-knowledge",
      "-H",
      "content-length:",
      "--data-binary",
      "z".repeat(30_000),
      `${base}/api/x`,
    ]);
    assert.equal(noLength.stdout, "up POST 30000 http", "a body without Content-Length is forwarded");
    const h1 = await run("curl", ["-s", "-i", `${base}/`]);
    assert.match(h1.stdout, /^HTTP\/1\.1 200/, "HTTP/1.1 still answers on the same port");
    const load = await run("h2load", ["-n", "400", "-c", "4", "-m", "20", `${base}/`]);
    assert.match(load.stdout, /400 succeeded, 0 failed/);
    // Without h2c, the preface is not HTTP/1.1: the client is refused and HTTP/1.1 goes on.
    const off = `http://127.0.0.1:${plain.found[0]}`;
    const refused = await run("h2load", ["-n", "4", "-c", "1", `${off}/`]);
    assert.match(refused.stdout, /0 succeeded/);
    assert.match((await run("curl", ["-s", `${off}/`])).stdout, /^hello h2c$/);
  } finally {
    f.child.kill("SIGKILL");
    plain.child.kill("SIGKILL");
    upstream.close();
  }
});

test("HTTP/2 answers carry one Date of the current second (a cached file's too, as the clock moves on); a proxied answer keeps the upstream's", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const dir = tmpSite({ "index.html": "dated" });
  const upstreamDate = "Tue, 01 Jan 2030 00:00:00 GMT";
  const { server: upstream, port: upPort } = await upstreamOf((_req, res) => {
    res.setHeader("Date", upstreamDate);
    res.end("up");
  });
  const f = await h2cFerry(dir, [
    "  sites:",
    "    - root: .",
    "      locations:",
    `        - { path: /api/, proxy: { to: ["127.0.0.1:${upPort}"] } }`,
  ]);
  /** The `date` headers of an HTTP/2 answer (curl prints them as it got them). */
  const dates = async (p: string): Promise<string[]> => {
    const r = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-D",
      "-",
      "--http2-prior-knowledge",
      `http://127.0.0.1:${f.found[0]}${p}`,
    ]);
    assert.match(r.stdout, /^HTTP\/2 /);
    return [...r.stdout.matchAll(/^date: (.*)\r$/gim)].map((m) => m[1]!);
  };
  const near = (date: string) => {
    const at = Date.parse(date);
    assert.ok(Math.abs(at - Date.now()) < 3000, `${date} is now`);
    return at;
  };
  try {
    const first = await dates("/index.html");
    assert.equal(first.length, 1, "one Date");
    const firstAt = near(first[0]!);
    // The same cached file a few seconds later: its Date moved on with the clock.
    await new Promise((r) => setTimeout(r, 2100));
    const later = await dates("/index.html");
    assert.equal(later.length, 1);
    assert.ok(near(later[0]!) >= firstAt + 2000, `${later[0]} after ${first[0]}`);
    // An answer made per request (a 404) has one too.
    const missing = await dates("/missing");
    assert.equal(missing.length, 1);
    near(missing[0]!);
    // The upstream's own Date is passed on, not replaced or doubled (as on HTTP/1.1).
    assert.deepEqual(await dates("/api/x"), [upstreamDate]);
  } finally {
    f.child.kill("SIGKILL");
    upstream.close();
  }
});

test("an HTTP/2 connection with no stream open is closed (GOAWAY) after idleTimeout; a slow answer longer than it is not cut", async () => {
  const dir = tmpSite({ "index.html": "x" });
  // An upstream that answers after 1.5 s: longer than the idle timeout.
  const { server: upstream, port: upPort } = await upstreamOf((_req, res) => {
    setTimeout(() => res.end("slow answer"), 1500);
  });
  const f = await h2cFerry(
    dir,
    [
      "  limits: { idleTimeout: 600ms }",
      "  sites:",
      "    - root: .",
      "      locations:",
      `        - { path: /slow/, proxy: { to: ["127.0.0.1:${upPort}"] } }`,
      `        - { path: /small/, proxy: { to: ["127.0.0.1:${upPort}"], maxBodySize: 1KiB } }`,
    ],
    ["log: { access: false }"],
  );
  const session = http2.connect(`http://127.0.0.1:${f.found[0]}`);
  session.on("error", () => {});
  let goawayAt = 0;
  session.on("goaway", () => {
    goawayAt = Date.now();
  });
  const get = async (p: string): Promise<string> => {
    const req = session.request({ ":path": p });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    await once(req, "end");
    return body;
  };
  try {
    assert.equal(await get("/index.html"), "x");
    const idleFrom = Date.now();
    await waitFor(() => goawayAt > 0, "GOAWAY on the idle connection", 4000);
    const after = goawayAt - idleFrom;
    assert.ok(after >= 500 && after < 2500, `closed ${after} ms after its last stream (idleTimeout 600ms)`);

    // A new connection whose one stream takes longer than idleTimeout: answered whole, then closed as idle.
    const s2 = http2.connect(`http://127.0.0.1:${f.found[0]}`);
    s2.on("error", () => {});
    let s2Goaway = 0;
    s2.on("goaway", () => {
      s2Goaway = Date.now();
    });
    const req = s2.request({ ":path": "/slow/x" });
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    await once(req, "end");
    const ended = Date.now();
    assert.equal(body, "slow answer");
    assert.equal(s2Goaway, 0, "no GOAWAY while the slow stream was open");
    await waitFor(() => s2Goaway > 0, "GOAWAY once the slow stream's connection is idle", 4000);
    assert.ok(s2Goaway - ended >= 500, "idle counted from the end of the last stream");
    s2.destroy();

    // A body past the location's limit (no Content-Length, so it is read until the limit): 413, and the rest of
    // the body is dropped so the stream closes and the connection goes idle like any other.
    const s3 = http2.connect(`http://127.0.0.1:${f.found[0]}`);
    s3.on("error", () => {});
    let s3Goaway = 0;
    s3.on("goaway", () => {
      s3Goaway = Date.now();
    });
    const post = s3.request({ ":method": "POST", ":path": "/small/x" });
    post.end(Buffer.alloc(32 * 1024, 0x61));
    const [head] = (await once(post, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(head[":status"], 413);
    post.resume();
    await once(post, "end");
    await waitFor(() => s3Goaway > 0, "GOAWAY once the refused upload's connection is idle", 4000);
    s3.destroy();
  } finally {
    session.destroy();
    f.child.kill("SIGKILL");
    upstream.close();
  }
});

test("HTTP/2 holds a request to requestTimeout as HTTP/1.1 does: a body that never ends gets 408 and a reset, an answered stream is reset; the connection serves on", async () => {
  const dir = tmpSite({ "index.html": "x" });
  const upstreamSaw: string[] = [];
  let open = 0;
  const upstreamOpen = () => open;
  const { server: upstream, port: upPort } = await upstreamOf((req, res) => {
    let n = 0;
    open++;
    upstreamSaw.push(`request ${req.url}`);
    res.on("close", () => open--);
    // Answers without reading the body: at once, or a stream that never ends.
    if (req.url === "/api/early") return void res.end("early");
    if (req.url === "/api/forever") return void res.write("the start of an endless answer");
    req.on("data", (c: Buffer) => {
      if (n === 0) upstreamSaw.push(`started ${req.url}`);
      n += c.length;
    });
    req.on("end", () => {
      upstreamSaw.push(`whole ${req.url} ${n}`);
      res.end(`up ${n}`);
    });
    req.on("close", () => {
      if (!req.complete) upstreamSaw.push(`aborted ${req.url}`);
    });
  });
  const f = await h2cFerry(
    dir,
    [
      "  limits: { requestTimeout: 500ms }",
      "  sites:",
      "    - root: .",
      "      locations:",
      `        - { path: /api/, proxy: { to: ["127.0.0.1:${upPort}"] } }`,
    ],
    ["log: { access: false, level: debug }"],
  );
  const session = http2.connect(`http://127.0.0.1:${f.found[0]}`);
  session.on("error", () => {});
  const answer = async (req: http2.ClientHttp2Stream) => {
    const [head] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    await once(req, "close");
    return { status: head[":status"], body, rst: req.rstCode };
  };
  try {
    // An upload that stalls: 408 after requestTimeout, the stream reset, the upstream request aborted.
    const started = Date.now();
    const stalled = session.request({ ":method": "POST", ":path": "/api/stall" });
    stalled.on("error", () => {});
    stalled.write("part of a body");
    const got = await answer(stalled);
    const took = Date.now() - started;
    assert.equal(got.status, 408);
    assert.equal(got.body, "request timeout\n");
    assert.ok(took >= 450 && took < 3000, `408 after ${took} ms (requestTimeout 500ms)`);
    await waitFor(() => upstreamSaw.includes("aborted /api/stall"), "the upstream request aborted", 3000);
    assert.ok(
      !upstreamSaw.some((x) => x.startsWith("whole /api/stall")),
      "no whole request reached the upstream",
    );
    await waitFor(
      () => /ERR_HTTP_REQUEST_TIMEOUT/.test(f.stderr()),
      "the timeout logged with its code",
      3000,
    );

    // A client that resets its upload midway (RST_STREAM, no END_STREAM: node's own client always ends first, so a
    // raw one): the upstream's request is aborted too, never whole with half a body.
    const raw = await connectRaw(Number(f.found[0]));
    const post = getBlock("localhost", "/api/reset");
    post[0] = 0x83; // :method POST (static table 3)
    raw.socket.write(
      Buffer.concat([
        frame(Type.HEADERS, Flag.END_HEADERS, 1, post),
        frame(Type.DATA, 0, 1, Buffer.from("half a body")),
      ]),
    );
    await waitFor(() => upstreamSaw.includes("started /api/reset"), "the upload under way upstream", 3000);
    raw.socket.write(frame(Type.RST_STREAM, 0, 1, cancel()));
    await waitFor(() => upstreamSaw.includes("aborted /api/reset"), "the upstream request aborted", 3000);

    // Headers, a whole body (END_STREAM) and then a reset, in one read: the request was complete before the
    // reset, so it goes upstream whole, and nothing is left open there.
    const gone = getBlock("localhost", "/api/gone");
    gone[0] = 0x83;
    raw.socket.write(
      Buffer.concat([
        frame(Type.HEADERS, Flag.END_HEADERS, 3, gone),
        frame(Type.DATA, Flag.END_STREAM, 3, Buffer.from("a body")),
        frame(Type.RST_STREAM, 0, 3, cancel()),
      ]),
    );
    await waitFor(() => upstreamSaw.includes("whole /api/gone 6"), "the whole request upstream", 3000);
    await waitFor(() => upstreamOpen() === 0, "no upstream request left open", 3000);
    raw.socket.destroy();
    assert.ok(
      !upstreamSaw.some((x) => x.startsWith("whole /api/reset")),
      "no whole request reached the upstream",
    );

    // A stream answered whole before its client ended its body: reset with NO_ERROR at the deadline (RFC 9113
    // §8.1), not before (the body was read, so node does not close the stream by itself).
    const earlyAt = Date.now();
    const answered = session.request({ ":method": "POST", ":path": "/api/early" });
    answered.on("error", () => {});
    answered.write("never ends");
    const early = await answer(answered);
    assert.equal(early.status, 200);
    assert.equal(early.body, "early");
    assert.equal(early.rst, http2.constants.NGHTTP2_NO_ERROR);
    assert.ok(Date.now() - earlyAt >= 450, "reset at the deadline, not before");

    // An answer under way (an endless one) when the client's body runs out of time: the stream is cancelled.
    const endless = session.request({ ":method": "POST", ":path": "/api/forever" });
    endless.on("error", () => {});
    endless.write("never ends either");
    const cut = await answer(endless);
    assert.equal(cut.status, 200);
    assert.equal(cut.body, "the start of an endless answer");
    assert.equal(cut.rst, http2.constants.NGHTTP2_CANCEL);

    // An upload that ends in time goes through whole, on the same connection.
    const slow = session.request({ ":method": "POST", ":path": "/api/slow" });
    slow.write("a".repeat(1000));
    setTimeout(() => slow.end("b".repeat(1000)), 200);
    const ok = await answer(slow);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "up 2000");
  } finally {
    session.destroy();
    f.child.kill("SIGKILL");
    upstream.close();
  }
});

/** Starts Ferry with h2c and a TLS listener; returns both ports. */
async function floodTarget() {
  const dir = tmpSite({ "index.html": "still here" });
  const f = await spawnFerry(
    [
      "serve",
      dir,
      "--http",
      "127.0.0.1:0",
      "--h2c",
      "--https",
      "127.0.0.1:0",
      "--state",
      path.join(dir, "state"),
    ],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//, /serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  const ca = path.join(dir, "state", "ca", "root.crt");
  /** A well-behaved HTTP/2 client's request during the attack. */
  const served = async (): Promise<void> => {
    const url = `https://localhost:${f.found[1]}/`;
    const r = await run("curl", ["-s", "--http2", "--cacert", ca, "-m", "5", url]);
    assert.equal(r.stdout, "still here");
  };
  return { f, plain: Number(f.found[0]), secure: Number(f.found[1]), served };
}

test("HTTP/2 holds an answer to sendTimeout as HTTP/1.1 does: a stream whose client stops reading is reset (CANCEL), its upstream request aborted; a slow reader that keeps reading gets everything; the connection serves on", async () => {
  const dir = tmpSite({
    "index.html": "x",
    "big.bin": "b".repeat(8 << 20),
    "cached.bin": "c".repeat(1024 << 10),
  });
  let upstreamAborted = 0;
  const { server: upstream, port: upPort } = await upstreamOf((_req, res) => {
    // A download that never ends, written as fast as the client takes it.
    const chunk = Buffer.alloc(64 << 10, 0x75);
    const more = () => {
      while (res.write(chunk)) if (res.destroyed) return;
    };
    res.on("drain", more);
    res.on("close", () => upstreamAborted++);
    more();
  });
  const f = await h2cFerry(dir, [
    "  limits: { sendTimeout: 2s }",
    "  fileCache: { maxFileSize: 2MiB }",
    "  sites:",
    "    - root: .",
    "      locations:",
    `        - { path: /api/, proxy: { to: ["127.0.0.1:${upPort}"] } }`,
  ]);
  const session = http2.connect(`http://127.0.0.1:${f.found[0]}`);
  session.on("error", () => {});
  /** Reads the first chunk, then nothing more: no WINDOW_UPDATE for that stream. */
  const stopsReading = async (target: string) => {
    const started = Date.now();
    const req = session.request({ ":path": target });
    req.on("error", () => {});
    req.once("data", () => req.pause());
    const [head] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
    await Promise.race([
      once(req, "close"),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${target} was never reset`)), 12_000).unref(),
      ),
    ]);
    return { status: head[":status"], rst: req.rstCode, took: Date.now() - started };
  };
  try {
    const file = await stopsReading("/big.bin");
    assert.equal(file.status, 200);
    assert.equal(file.rst, http2.constants.NGHTTP2_CANCEL, "the stalled file's stream is reset with CANCEL");
    assert.ok(file.took >= 1900 && file.took < 10_000, `reset after ${file.took} ms (sendTimeout 2s)`);

    const proxied = await stopsReading("/api/endless");
    assert.equal(proxied.status, 200);
    assert.equal(proxied.rst, http2.constants.NGHTTP2_CANCEL, "the stalled proxied stream is reset");
    await waitFor(() => upstreamAborted === 1, "the upstream request aborted", 3000);

    // The connection serves on.
    const again = session.request({ ":path": "/" });
    let body = "";
    again.setEncoding("utf8");
    again.on("data", (c: string) => (body += c));
    const [head] = (await once(again, "response")) as [http2.IncomingHttpHeaders];
    await once(again, "close");
    assert.equal(head[":status"], 200);
    assert.equal(body, "x");

    // A client that reads slowly but steadily (64 KiB, then a pause of 250 ms): 1 MiB takes about 4 s, longer than
    // sendTimeout, and arrive whole: node sends the one in-memory answer as one write, which completes only at the
    // end, but the connection's bytes keep moving, and that is progress. On a connection of its own: the
    // stalled streams' unread bytes still count against the first one's connection window (node's client does not
    // give them back when a stream is reset).
    const reader = http2.connect(`http://127.0.0.1:${f.found[0]}`);
    reader.on("error", () => {});
    const slow = reader.request({ ":path": "/cached.bin" });
    let got = 0;
    let mark = 0;
    slow.on("data", (c: Buffer) => {
      got += c.length;
      if (got - mark >= 64 << 10) {
        mark = got;
        slow.pause();
        setTimeout(() => slow.resume(), 250);
      }
    });
    const slowStarted = Date.now();
    await once(slow, "close");
    assert.equal(slow.rstCode, http2.constants.NGHTTP2_NO_ERROR, "the slow reader's stream ends normally");
    assert.equal(got, 1024 << 10, "the slow reader got every byte");
    assert.ok(Date.now() - slowStarted > 3000, "the slow read outlasted sendTimeout");
    reader.close();

    // The access log tells the reset answers from whole ones.
    await waitFor(
      () => /"uri":"\/api\/endless"[^\n]*"aborted":true/.test(f.stdout()),
      "the proxied reset logged",
      3000,
    );
    assert.match(f.stdout(), /"uri":"\/big\.bin"[^\n]*"aborted":true/);
  } finally {
    session.close();
    upstream.close();
    upstream.closeAllConnections();
    f.child.kill("SIGKILL");
  }
});

test("HTTP/2 slow read at the TCP level: a client that stops reading its socket loses its stream after sendTimeout, then its connection", async (t) => {
  if (!needTool(t, "ss", "iproute2")) return;
  const dir = tmpSite({ "big.bin": "b".repeat(32 << 20) });
  const f = await h2cFerry(dir, ["  limits: { sendTimeout: 1s, idleTimeout: 1s }"]);
  const port = Number(f.found[0]);
  const raw = await connectRaw(port);
  try {
    // All the window there is (stream and connection), then a request for 32 MiB: only TCP can hold it back.
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(0x7fffffff, 2);
    const update = Buffer.alloc(4);
    update.writeUInt32BE(0x7fffffff - 65535);
    raw.socket.write(
      Buffer.concat([
        frame(Type.SETTINGS, 0, 0, settings),
        frame(Type.WINDOW_UPDATE, 0, 0, update),
        frame(Type.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, getBlock("localhost", "/big.bin")),
      ]),
    );
    await waitFor(() => raw.frames.some((x) => x.type === Type.DATA), "the first DATA frame", 3000);
    raw.socket.pause();
    const local = raw.socket.localPort;
    const established = async () =>
      (await run("ss", ["-Htn", "state", "established", "src", `127.0.0.1:${local}`])).stdout.includes(
        `127.0.0.1:${port}`,
      );
    assert.ok(await established(), "the connection is open while the answer is under way");
    const started = Date.now();
    while ((await established()) && Date.now() - started < 12_000)
      await new Promise((r) => setTimeout(r, 200));
    const took = Date.now() - started;
    assert.ok(!(await established()), "Ferry let go of the connection of a client that reads nothing");
    assert.ok(took >= 1500, `not before sendTimeout and idleTimeout had run (${took} ms)`);
  } finally {
    raw.socket.destroy();
    f.child.kill("SIGKILL");
  }
});

test("rapid reset (CVE-2023-44487) over TLS: the attacker's session gets GOAWAY ENHANCE_YOUR_CALM and is closed; others are served", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const { f, secure, served } = await floodTarget();
  try {
    const c = await connectRaw(secure, true);
    const parts: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = 1 + 2 * i;
      parts.push(frame(Type.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, id, getBlock("localhost")));
      parts.push(frame(Type.RST_STREAM, 0, id, cancel()));
    }
    const started = Date.now();
    c.socket.write(Buffer.concat(parts));
    await served();
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
    assert.ok(c.socket.destroyed, "the attacker's connection is closed (not left until the idle timeout)");
    assert.ok(Date.now() - started < 3000);
    const goaway = c.frames.find((x) => x.type === Type.GOAWAY);
    assert.equal(goaway?.error, NGHTTP2_ENHANCE_YOUR_CALM, JSON.stringify(c.frames.slice(-3)));
    await served();
  } finally {
    f.child.kill("SIGKILL");
  }
});

test("CONTINUATION flood: a header block that never ends gets GOAWAY and a closed connection; others are served", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const { f, plain, served } = await floodTarget();
  try {
    const c = await connectRaw(plain);
    c.socket.write(frame(Type.HEADERS, Flag.END_STREAM, 1, getBlock("localhost")));
    const parts: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) parts.push(frame(Type.CONTINUATION, 0, 1, fillerBlock(i)));
    const started = Date.now();
    c.socket.write(Buffer.concat(parts));
    await served();
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
    assert.ok(c.socket.destroyed, "the flooding connection is closed");
    assert.ok(Date.now() - started < 3000);
    const goaway = c.frames.find((x) => x.type === Type.GOAWAY);
    assert.ok(goaway !== undefined && goaway.error !== 0, JSON.stringify(c.frames));
    // A header block split over a few CONTINUATION frames is still fine.
    const ok = await connectRaw(plain);
    const block = getBlock("localhost");
    ok.socket.write(
      Buffer.concat([
        frame(Type.HEADERS, Flag.END_STREAM, 1, block.subarray(0, 4)),
        frame(Type.CONTINUATION, 0, 1, block.subarray(4, 8)),
        frame(Type.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(8)),
      ]),
    );
    const deadline = Date.now() + 3000;
    while (!ok.frames.some((x) => x.type === Type.HEADERS && x.stream === 1) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      ok.frames.some((x) => x.type === Type.HEADERS && x.stream === 1),
      "the split block is answered",
    );
    ok.socket.destroy();
  } finally {
    f.child.kill("SIGKILL");
  }
});
