/**
 * `ferry fetch` against local servers with known delays: the phases of
 * --json add up and match the delays; --dns resolves with Ferry's resolver
 * against Ferry's DNS server; https through a real TLS handshake (a cert
 * made by openssl); failures exit 1 with ERR_FETCH.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DnsService } from "../src/dns/service.js";
import { buildConfig } from "./engine-under-test.js";
import { needTool } from "./helpers.js";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));

/** Headers after 300 ms, half the body, 200 ms, the rest. */
function slowHandler(_req: http.IncomingMessage, res: http.ServerResponse): void {
  setTimeout(() => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": "10", "X-Test": "slow" });
    res.write("hello");
    setTimeout(() => res.end("world"), 200);
  }, 300);
}

let server: http.Server;
let port: number;
let dns: DnsService;

before(async () => {
  server = http.createServer(slowHandler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  const config = buildConfig(
    {
      dns: {
        listen: ["127.0.0.1:0"],
        zones: [
          {
            origin: "fetch.test",
            records:
              "$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\nwww A 127.0.0.1\n",
          },
        ],
      },
    },
    { baseDir: process.cwd(), source: null },
  );
  dns = await DnsService.start(config.dns!);
});
after(async () => {
  server.close();
  await dns.close();
});

async function fetchJson(args: string[]) {
  const { stdout } = await run(process.execPath, [bin, "fetch", ...args, "--json"]);
  return JSON.parse(stdout) as {
    ip: string;
    dns: { server: string; answers: string[] };
    tls: { protocol: string } | null;
    phases: Record<string, number>;
    status: number;
    headers: Record<string, string>;
    bytes: number;
  };
}

test("--json phases match a server that waits 300 ms for the first byte and 200 ms mid-body", async () => {
  const j = await fetchJson([`http://127.0.0.1:${port}/x`]);
  assert.equal(j.status, 200);
  assert.equal(j.headers["x-test"], "slow");
  assert.equal(j.bytes, 10);
  assert.equal(j.dns.server, "none");
  assert.equal(j.phases.dns, 0);
  assert.equal(j.phases.tls, 0);
  assert.ok(j.phases.ttfb >= 290 && j.phases.ttfb < 1500, `ttfb ${j.phases.ttfb}`);
  assert.ok(j.phases.download >= 190 && j.phases.download < 1500, `download ${j.phases.download}`);
  const sum = j.phases.dns + j.phases.connect + j.phases.tls + j.phases.ttfb + j.phases.download;
  assert.ok(Math.abs(sum - j.phases.total) < 1, `phases ${sum} vs total ${j.phases.total}`);
});

test("--dns resolves with Ferry's resolver against Ferry's DNS server", async () => {
  const dnsAt = `127.0.0.1:${dns.addresses[0]!.port}`;
  const j = await fetchJson([`http://www.fetch.test:${port}/`, "--dns", dnsAt]);
  assert.equal(j.dns.server, dnsAt);
  assert.deepEqual(j.dns.answers, ["A 127.0.0.1"]);
  assert.equal(j.ip, "127.0.0.1");
  assert.ok(j.phases.dns > 0);
  assert.equal(j.status, 200);
});

test("the waterfall and headers go to stderr, the body to stdout", async () => {
  const { stdout, stderr } = await run(process.execPath, [bin, "fetch", `http://127.0.0.1:${port}/`, "-v"]);
  assert.equal(stdout, "helloworld");
  for (const label of ["DNS lookup", "TCP connect", "TLS handshake", "first byte", "download", "total"])
    assert.match(stderr, new RegExp(`${label} +│`));
  assert.match(stderr, /< HTTP\/1\.1 200 OK/);
  assert.match(stderr, /> GET \/ HTTP\/1\.1/);
  assert.match(stderr, /< X-Test: slow/);
});

test("https: a real TLS handshake is timed and described", async (t) => {
  if (!needTool(t, "openssl", "openssl")) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-tls-"));
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-keyout",
    path.join(dir, "key.pem"),
    "-out",
    path.join(dir, "cert.pem"),
  ]);
  const tlsServer = https.createServer(
    { key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) },
    slowHandler,
  );
  await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
  const tlsPort = (tlsServer.address() as AddressInfo).port;
  try {
    const j = await fetchJson([`https://127.0.0.1:${tlsPort}/`, "-k"]);
    assert.equal(j.status, 200);
    assert.ok(j.phases.tls > 0);
    assert.match(j.tls!.protocol, /^TLSv1\.[23]$/);
    // Without -k the self-signed certificate is refused.
    await assert.rejects(
      run(process.execPath, [bin, "fetch", `https://127.0.0.1:${tlsPort}/`]),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /TLS handshake .* failed.*ERR_FETCH/);
        return true;
      },
    );
  } finally {
    tlsServer.close();
  }
});

test("a refused connection and an unknown name exit 1 with ERR_FETCH; a bad URL exits 2", async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(
    run(process.execPath, [bin, "fetch", `http://127.0.0.1:${deadPort}/`]),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /ECONNREFUSED.*ERR_FETCH/);
      return true;
    },
  );
  const dnsAt = `127.0.0.1:${dns.addresses[0]!.port}`;
  await assert.rejects(
    run(process.execPath, [bin, "fetch", "http://nope.fetch.test/", "--dns", dnsAt]),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /NXDOMAIN/);
      return true;
    },
  );
  await assert.rejects(run(process.execPath, [bin, "fetch", "ftp://x/"]), { code: 2 });
});
