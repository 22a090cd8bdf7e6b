/**
 * HTTP under attack (issue 9): pipelined requests that are never read,
 * half-open sockets after a 408, a client that stops reading a large file,
 * CONNECT and a request line with an HTTP version Ferry does not speak.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { HttpRequestEvent } from "../src/core/diagnostics.js";
import { engineArgs } from "./engine-under-test.js";
import { get, rawExchange, startHttp, type TestServer, tmpSite, waitFor } from "./helpers.js";

const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));

function connect(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: opts.allowHalfOpen ?? false }, () =>
      resolve(s),
    );
    s.on("error", reject);
  });
}

describe("pipelined requests that are never read", () => {
  let child: ChildProcess;
  let port = 0;

  before(async () => {
    const site = tmpSite({ "index.html": "<h1>hello</h1>\n" });
    child = spawn(
      process.execPath,
      [bin, ...engineArgs(["serve", site, "--http", "127.0.0.1:0", "--access-log", "off"])],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    port = await new Promise<number>((resolve, reject) => {
      child.stderr!.on("data", (c: Buffer) => {
        stderr += c;
        const m = /serving http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`ferry exited ${code}: ${stderr}`)));
    });
  });
  after(() => child.kill("SIGKILL"));

  const rssMiB = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;

  test("memory stays bounded and other clients are served while 20 connections flood", async () => {
    const before = rssMiB();
    const batch = Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000));
    const floods: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await connect(port);
      s.pause(); // never reads a reply
      s.on("error", () => {});
      let sent = 0;
      const pump = () => {
        while (sent < 60_000) {
          sent += 1000;
          if (!s.write(batch)) return void s.once("drain", pump);
        }
      };
      pump();
      floods.push(s);
    }
    let peak = 0;
    const probes: number[] = [];
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline) {
      peak = Math.max(peak, rssMiB());
      const t0 = performance.now();
      const r = await get(port, "/");
      probes.push(performance.now() - t0);
      assert.equal(r.status, 200);
      await new Promise((res) => setTimeout(res, 250));
    }
    for (const s of floods) s.destroy();
    // A bare node:http server stays near 150 MiB under this flood; unbounded, Ferry reached gigabytes.
    assert.ok(peak - before < 300, `RSS grew by ${Math.round(peak - before)} MiB`);
    const late = probes.slice(Math.floor(probes.length / 2));
    assert.ok(Math.max(...late) < 1000, `probes took ${late.map(Math.round).join(", ")} ms`);
  });
});

describe("pipelining", () => {
  test("a connection with more than 256 requests awaiting replies is closed as a flood; 200 are all answered", async () => {
    const srv = await startHttp({ sites: [{ root: tmpSite({ "index.html": "ok", "cold.txt": "cold" }) }] });
    try {
      const refused: string[] = [];
      const on = (m: unknown) => refused.push((m as { code: string }).code);
      diagnostics.subscribe("ferry:http:client-error", on);
      // 20,000 pipelined requests, replies never read.
      const s = net.connect(srv.port, "127.0.0.1");
      s.on("error", () => {});
      await new Promise((r) => s.once("connect", r));
      s.pause();
      s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20_000));
      await waitFor(() => refused.includes("ERR_HTTP_PIPELINE_FLOOD"), "the flood to be refused");
      diagnostics.unsubscribe("ferry:http:client-error", on);
      // Closed by Ferry: a client that finally reads finds the end of the stream.
      const closed = new Promise((r) => s.once("close", r));
      s.resume();
      await closed;
      // 200 pipelined requests for a file not in the cache yet (all waiting on one disk read): all answered.
      const many = "GET /cold.txt HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
      const r = await rawExchange(srv.port, many, { expect: 200, timeout: 10_000 });
      assert.equal(r.responses.length, 200);
      assert.ok(r.responses.every((x) => x.status === 200));
    } finally {
      await srv.close();
    }
  });
});

describe("limits that free what they refuse", () => {
  let srv: TestServer;
  const bigSize = 64 * 1024 * 1024;

  before(async () => {
    srv = await startHttp({
      sites: [{ root: tmpSite({ "index.html": "ok", "big.bin": Buffer.alloc(bigSize, 7) }) }],
      limits: { headerTimeout: "300ms", requestTimeout: "1s", sendTimeout: "600ms", maxConnections: 20 },
    });
  });
  after(() => srv.close());

  test("sockets kept half-open after a 408 give their slot back", async () => {
    const socks: net.Socket[] = [];
    const got408: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      // allowHalfOpen: the attacker reads the 408 and the FIN but never closes its side.
      const s = await connect(srv.port, { allowHalfOpen: true });
      s.on("error", () => {});
      got408.push(new Promise((resolve) => s.on("end", () => resolve())));
      s.resume();
      s.write("GET / HTTP/1.1\r\nHost: x\r\n");
      socks.push(s);
    }
    await Promise.all(got408);
    // At most the 2 s linger after the 408: the server has let go of every slot.
    await new Promise((r) => setTimeout(r, 2300));
    const r = await rawExchange(srv.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {
      timeout: 2000,
    });
    for (const s of socks) s.destroy();
    assert.equal(
      r.responses[0]?.status,
      200,
      "a new client was refused: the half-open sockets kept their slots",
    );
  });

  test("a client that stops reading a large file is cut off at sendTimeout, not twice that", async () => {
    const events: HttpRequestEvent[] = [];
    const onEvent = (m: unknown) => events.push(m as HttpRequestEvent);
    diagnostics.subscribe("ferry:http:request", onEvent);
    try {
      const s = await connect(srv.port);
      s.on("error", () => {});
      let got = 0;
      let stoppedAt = 0;
      s.on("data", (c: Buffer) => {
        got += c.length;
        if (got > 1024 * 1024 && stoppedAt === 0) {
          s.pause(); // read a little, then stop for good
          stoppedAt = performance.now();
        }
      });
      s.write("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
      const deadline = performance.now() + 5000;
      while (events.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const cutAfter = performance.now() - stoppedAt;
      s.destroy();
      assert.equal(events.length, 1, "the server never gave up on the reader");
      assert.equal(events[0]!.completed, false);
      assert.ok(events[0]!.bytes < bigSize);
      // Buffers fill within moments of the stop; the cut comes sendTimeout (600 ms) later, not 1.2 s.
      assert.ok(
        cutAfter >= 500 && cutAfter < 1100,
        `cut ${Math.round(cutAfter)} ms after the client stopped`,
      );
    } finally {
      diagnostics.unsubscribe("ferry:http:request", onEvent);
    }
  });

  test("CONNECT gets 405 with Allow, and the connection closes", async () => {
    const r = await rawExchange(srv.port, "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", {
      waitClose: true,
      timeout: 3000,
    });
    assert.equal(r.responses[0]?.status, 405);
    assert.equal(r.responses[0]?.headers.allow, "GET, HEAD, OPTIONS");
    assert.ok(r.closed);
  });

  const versions: [string, number][] = [
    ["HTTP/2.0", 505],
    ["HTTP/3.0", 505],
    ["HTTP/1.2", 505],
    ["HTTP/1.0", 200],
    ["HTTP/1.1", 200],
  ];
  for (const [version, status] of versions) {
    test(`a request line saying ${version} gets ${status}`, async () => {
      const r = await rawExchange(srv.port, `GET / ${version}\r\nHost: x\r\nConnection: close\r\n\r\n`, {
        waitClose: true,
        timeout: 3000,
      });
      assert.equal(r.responses[0]?.status, status);
      assert.equal(r.responses[0]?.statusLine.startsWith("HTTP/1.1 "), true);
    });
  }
});
