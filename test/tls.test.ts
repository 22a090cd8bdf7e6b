/**
 * HTTPS against real TLS clients (curl, openssl s_client, ws, ferry fetch):
 * the local CA (`ferry ca`), SNI picking a site's certificate (internal or
 * PEM files), TLS versions and ciphers, the redirect to https and HSTS, wss,
 * and certificate files rotated (and broken) on disk while Ferry runs.
 */
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import WebSocket from "ws";
import {
  type FerryProcess,
  needTool,
  selfSignedCert,
  spawnFerry,
  startHttp,
  tmpSite,
  waitFor,
} from "./helpers.js";

const run = promisify(execFile);
const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;

const selfSigned = selfSignedCert;

/** What openssl s_client says about a handshake (asynchronous: the server may run in this process). */
function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const c = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...args]);
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d));
    c.stderr.on("data", (d: Buffer) => (out += d));
    c.stdin.end();
    const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
    c.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function fingerprint(pem: string): string {
  const r = spawnSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem });
  return r.stdout.toString().trim().replace(/^.*=/, "");
}

describe("HTTPS", () => {
  let dir = "";
  let state = "";
  let f: FerryProcess;
  let http = 0;
  let https = 0;
  let admin = 0;
  let shop: { cert: string; key: string };
  let root = "";

  before(async (t) => {
    if (!needTool(t as never, "openssl", "openssl")) return;
    dir = tmpSite({ "blog/index.html": "blog", "shop/index.html": "shop", "plain/index.html": "plain" });
    state = path.join(dir, "state");
    shop = selfSigned(dir, "shop.test", "shop");
    const cfg = path.join(dir, "ferry.yaml");
    writeFileSync(
      cfg,
      `state: state
http:
  listen: ["127.0.0.1:0"]
  tls: { listen: ["127.0.0.1:0"] }
  sites:
    - hosts: [plain.test]
      root: plain
      default: true
    - hosts: [blog.test, "*.blog.test"]
      root: blog
      tls: internal
      hsts: "max-age=31536000"
      realtime: [{ path: /ws, publishKey: tls-test-key-123, channels: [{ match: "*", publish: true }] }]
    - hosts: [shop.test]
      root: shop
      tls: { cert: shop.crt, key: shop.key }
admin: { listen: "127.0.0.1:0" }
log: { access: false }
`,
    );
    f = await spawnFerry(
      ["serve", "--config", cfg],
      [
        /serving http:\/\/127\.0\.0\.1:(\d+)\//,
        /serving https:\/\/127\.0\.0\.1:(\d+)\//,
        /inspector on http:\/\/127\.0\.0\.1:(\d+)\//,
      ],
    );
    http = Number(f.found[0]);
    https = Number(f.found[1]);
    admin = Number(f.found[2]);
    root = path.join(state, "ca", "root.crt");
  });

  after(() => f?.child.kill("SIGKILL"));

  const curl = (host: string, extra: string[] = []) =>
    run("curl", [
      "-s",
      "-i",
      "--resolve",
      `${host}:${https}:127.0.0.1`,
      ...extra,
      `https://${host}:${https}/`,
    ]);

  test("ferry ca: the root is in the state folder (key 0600, folder 0700), with the fingerprint openssl sees", async (t) => {
    if (!needTool(t, "openssl", "openssl")) return;
    const { stdout } = await run(process.execPath, [bin, "ca", "--state", state]);
    const [where, fp] = stdout.trim().split("\n");
    assert.equal(where, root);
    assert.equal(fp, `SHA-256 ${fingerprint(readFileSync(root, "utf8"))}`);
    assert.equal(statSync(path.join(state, "ca", "root.key")).mode & 0o777, 0o600);
    assert.equal(statSync(state).mode & 0o777, 0o700);
    const again = await run(process.execPath, [bin, "ca", "--state", state, "--pem"]);
    assert.equal(fingerprint(again.stdout), fingerprint(readFileSync(root, "utf8")), "never re-created");
  });

  test("SNI: an internal certificate for blog.test and its wildcard; the shop's own files for shop.test", async (t) => {
    if (!needTool(t, "curl", "curl")) return;
    const blog = await curl("blog.test", ["--cacert", root]);
    assert.match(blog.stdout, /^HTTP\/2 200/, "curl asks for h2 by ALPN");
    // The inspector's row says how: TLS version, SNI name, ALPN.
    const rows = (await (await fetch(`http://127.0.0.1:${admin}/api/events`)).json()) as {
      rows: {
        kind: string;
        host: string;
        httpVersion: string;
        tls: { version: string; sni: string; alpn: string } | null;
      }[];
    };
    const row = rows.rows.find((r) => r.kind === "http" && r.host.startsWith("blog.test"));
    assert.deepEqual(row?.tls, { version: "TLSv1.3", sni: "blog.test", alpn: "h2" });
    assert.equal(row?.httpVersion, "2.0");
    assert.match(blog.stdout, /blog$/);
    assert.match(blog.stdout, /strict-transport-security: max-age=31536000/i);
    const sub = await curl("x.blog.test", ["--cacert", root]);
    assert.match(sub.stdout, /blog$/, "a wildcard name");
    const shopRes = await curl("shop.test", ["--cacert", shop.cert]);
    assert.match(shopRes.stdout, /shop$/);
    assert.doesNotMatch(shopRes.stdout, /strict-transport-security/i);
    const blogHello = await sClient(https, ["-servername", "blog.test"]);
    assert.match(blogHello, /issuer=.*Ferry Local CA/);
    const shopHello = await sClient(https, ["-servername", "shop.test"]);
    assert.match(shopHello, /subject=CN ?= ?shop\.test/);
  });

  test("TLS 1.2 and 1.3 only; no CBC or static-RSA suites", async (t) => {
    if (!needTool(t, "openssl", "openssl")) return;
    assert.match(
      await sClient(https, ["-servername", "blog.test", "-tls1_1"]),
      /alert protocol version|no protocols available|wrong version/,
    );
    assert.match(await sClient(https, ["-servername", "blog.test", "-tls1_2"]), /Protocol *: TLSv1\.2/);
    assert.match(
      await sClient(https, ["-servername", "blog.test", "-tls1_3"]),
      /Protocol *: TLSv1\.3|TLSv1\.3/,
    );
    const cbc = await sClient(https, [
      "-servername",
      "shop.test",
      "-tls1_2",
      "-cipher",
      "ECDHE-ECDSA-AES128-SHA",
    ]);
    assert.match(cbc, /handshake failure|no cipher|alert/);
  });

  test("plain HTTP for a TLS site gets 308 to https on the TLS port; other sites stay on http", async (t) => {
    if (!needTool(t, "curl", "curl")) return;
    const r = await run("curl", ["-s", "-i", "-H", "Host: blog.test", `http://127.0.0.1:${http}/a/b?c=1`]);
    assert.match(r.stdout, /^HTTP\/1\.1 308/);
    assert.match(r.stdout, new RegExp(`location: https://blog\\.test:${https}/a/b\\?c=1`, "i"));
    assert.doesNotMatch(r.stdout, /strict-transport-security/i, "no HSTS over plain HTTP");
    const plain = await run("curl", ["-s", "-H", "Host: plain.test", `http://127.0.0.1:${http}/`]);
    assert.equal(plain.stdout, "plain");
  });

  test("wss:// reaches the realtime endpoint with the local root trusted", async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${https}/ws`, {
      servername: "blog.test",
      headers: { Host: "blog.test" },
      ca: readFileSync(root),
    } as unknown as WebSocket.ClientOptions);
    await once(ws, "open");
    ws.send(JSON.stringify({ type: "subscribe", channel: "t" }));
    ws.send(JSON.stringify({ type: "publish", channel: "t", data: "over tls" }));
    const got: string[] = [];
    ws.on("message", (m) => got.push(String(m)));
    await waitFor(() => got.some((m) => m.includes("over tls")), "the message over wss");
    ws.close();
  });

  test("a certificate changed on disk is served without a restart; a broken one keeps the old and says why", async (t) => {
    if (!needTool(t, "openssl", "openssl")) return;
    const before = fingerprint(readFileSync(shop.cert, "utf8"));
    selfSigned(dir, "shop.test", "shop");
    const after = fingerprint(readFileSync(shop.cert, "utf8"));
    assert.notEqual(before, after);
    const served = async () => {
      const out = await sClient(https, ["-servername", "shop.test", "-showcerts"]);
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(out)![0];
      return fingerprint(pem);
    };
    const deadline = Date.now() + 8000;
    while ((await served()) !== after) {
      assert.ok(Date.now() < deadline, "the new certificate was not picked up");
      await new Promise((r) => setTimeout(r, 200));
    }
    writeFileSync(shop.cert, "not a certificate\n");
    await waitFor(() => /"code":"ERR_TLS_CERT"/.test(f.stderr()), "the error in the log", 8000);
    assert.match(
      f.stderr(),
      new RegExp(`${shop.cert.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: not a PEM certificate`),
    );
    assert.equal(await served(), after, "the old certificate keeps serving");
  });
});

test("ferry serve --https: the default site gets a local-CA certificate; ferry fetch --cacert trusts it", async () => {
  const dir = tmpSite({ "index.html": "hello tls" });
  const state = path.join(dir, "state");
  const f = await spawnFerry(
    [
      "serve",
      dir,
      "--http",
      "127.0.0.1:0",
      "--https",
      "127.0.0.1:0",
      "--state",
      state,
      "--realtime",
      "/ws",
      "--publish-key",
      "tls-cli-key-123",
    ],
    [/serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  try {
    const port = f.found[0];
    const root = path.join(state, "ca", "root.crt");
    const r = await run(process.execPath, [bin, "fetch", "--cacert", root, `https://localhost:${port}/`]);
    assert.equal(r.stdout, "hello tls");
    assert.match(r.stderr, /TLS handshake.*TLSv1\.3/);
    const bad = await run(process.execPath, [bin, "fetch", `https://localhost:${port}/`]).catch((e) => e);
    assert.equal(bad.code, 1, "without the root the certificate is refused");
    assert.match(bad.stderr, /ERR_FETCH/);
    // ferry ws over wss:// with the same root: it gets one published message and exits 0.
    const ws = spawn(process.execPath, [
      bin,
      "ws",
      `wss://localhost:${port}/ws`,
      "--cacert",
      root,
      "--subscribe",
      "t",
      "--count",
      "1",
    ]);
    let out = "";
    ws.stdout.on("data", (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((r) => ws.on("exit", (code) => r(code)));
    await waitFor(() => out.includes("subscribed"), "ferry ws to subscribe");
    const pub = await run("curl", [
      "-s",
      "--cacert",
      root,
      "-H",
      "Authorization: Bearer tls-cli-key-123",
      "--data",
      JSON.stringify({ channel: "t", data: "over wss" }),
      `https://localhost:${port}/ws`,
    ]);
    assert.match(pub.stdout, /offset/);
    assert.equal(await exited, 0);
    assert.match(out, /over wss/);
  } finally {
    f.child.kill("SIGKILL");
  }
});

test("an unusable certificate file at start: exit 1, ERR_TLS_CERT naming the file", async (t) => {
  if (!needTool(t, "openssl", "openssl")) return;
  const dir = tmpSite({ "index.html": "x" });
  const a = selfSigned(dir, "a.test", "a");
  const b = selfSigned(dir, "b.test", "b");
  const r = await run(process.execPath, [
    bin,
    "serve",
    dir,
    "--http",
    "127.0.0.1:0",
    "--https",
    "127.0.0.1:0",
    "--tls-cert",
    a.cert,
    "--tls-key",
    b.key,
  ]).catch((e) => e);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERR_TLS_CERT/);
  assert.match(r.stderr, /b\.key: this key does not belong to the certificate/);
});

test("strictSni: a name no site owns fails the handshake; without it, the default certificate answers", async (t) => {
  if (!needTool(t, "openssl", "openssl")) return;
  const root = tmpSite({ "index.html": "a" });
  for (const strictSni of [true, false]) {
    const s = await startHttp(
      { tls: { listen: ["127.0.0.1:0"], strictSni }, sites: [{ hosts: ["a.test"], root, tls: "internal" }] },
      root,
    );
    try {
      const port = s.service.tlsAddresses[0]!.port;
      const own = await sClient(port, ["-servername", "a.test"]);
      assert.match(own, /subject=CN ?= ?a\.test/);
      const other = await sClient(port, ["-servername", "unknown.test"]);
      // node ends the handshake without an alert when SNICallback refuses: no certificate, no cipher.
      if (strictSni) assert.match(other, /Cipher is \(NONE\)/, other);
      else assert.match(other, /subject=CN ?= ?a\.test/, "the default site's certificate");
    } finally {
      await s.close();
    }
  }
});

test("HTTP/2 by ALPN on the TLS listener: files, compression, HEAD, a proxied upload, stream limits (curl, nghttp, h2load)", async (t) => {
  if (
    !needTool(t, "curl", "curl") ||
    !needTool(t, "nghttp", "nghttp2-client") ||
    !needTool(t, "h2load", "nghttp2-client")
  )
    return;
  const big = "Ferry over HTTP/2. ".repeat(6000);
  const dir = tmpSite({ "index.html": "hello h2", "big.txt": big });
  const state = path.join(dir, "state");
  const upstream = http.createServer((req, res) => {
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => res.end(`up ${req.method} ${req.url} ${n} ${req.headers["x-forwarded-proto"]}`));
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  const upPort = (upstream.address() as AddressInfo).port;
  const f = await spawnFerry(
    ["serve", dir, "--https", "127.0.0.1:0", "--state", state, "--proxy", `/api/=127.0.0.1:${upPort}`],
    [/serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  try {
    const base = `https://localhost:${f.found[0]}`;
    const ca = path.join(state, "ca", "root.crt");
    const c = (args: string[]) =>
      run("curl", ["-s", "--http2", "--cacert", ca, ...args], { maxBuffer: 1 << 24 });
    const page = await c(["-i", `${base}/`]);
    assert.match(page.stdout, /^HTTP\/2 200/);
    assert.match(page.stdout, /hello h2$/);
    assert.doesNotMatch(page.stdout, /^connection:/im, "no connection-specific headers over HTTP/2");
    assert.equal((await c([`${base}/big.txt`])).stdout, big);
    const br = await c(["-i", "-H", "Accept-Encoding: br", "-o", "/dev/null", "-D", "-", `${base}/big.txt`]);
    assert.match(br.stdout, /content-encoding: br/i);
    const head = await c(["-I", `${base}/big.txt`]);
    assert.match(head.stdout, new RegExp(`content-length: ${big.length}`, "i"));
    const up = await c(["--data-binary", "x".repeat(70_000), `${base}/api/post`]);
    assert.equal(up.stdout, "up POST /api/post 70000 https");
    const settings = await run("nghttp", ["-nv", `${base}/`]);
    assert.match(settings.stdout, /SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100/);
    const load = await run("h2load", ["-n", "400", "-c", "4", "-m", "20", `${base}/`]);
    assert.match(load.stdout, /400 succeeded, 0 failed/);
  } finally {
    f.child.kill("SIGKILL");
    upstream.close();
  }
});

test("DNS over TLS (RFC 7858) with the site's certificate, verified by kdig", async (t) => {
  if (!needTool(t, "kdig", "knot-dnsutils")) return;
  const dir = tmpSite({
    "index.html": "x",
    "dot.test.zone": "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.7\n",
  });
  const state = path.join(dir, "state");
  const f = await spawnFerry(
    [
      "serve",
      dir,
      "--https",
      "127.0.0.1:0",
      "--dns",
      "127.0.0.1:0",
      "--zone",
      path.join(dir, "dot.test.zone"),
      "--dot",
      "127.0.0.1:0",
      "--state",
      state,
      "--access-log",
      "off",
    ],
    [/DNS over TLS on 127\.0\.0\.1:(\d+)/],
  );
  try {
    const port = f.found[0]!;
    const ca = path.join(state, "ca", "root.crt");
    const ok = await run("kdig", [
      `@127.0.0.1`,
      "-p",
      port,
      "+tls",
      `+tls-ca=${ca}`,
      "+tls-hostname=localhost",
      "www.dot.test",
      "A",
    ]);
    assert.match(ok.stdout, /TLS session \(TLS1\.3\)/);
    assert.match(ok.stdout, /www\.dot\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.7/);
    const mine = await run(process.execPath, [
      bin,
      "lookup",
      "www.dot.test",
      "--server",
      `127.0.0.1:${port}`,
      "--tls",
      "--tls-hostname",
      "localhost",
      "--cacert",
      ca,
    ]);
    assert.match(mine.stdout, /192\.0\.2\.7/);
    assert.match(mine.stdout, /SERVER: .*\(TLS\)/);
    // Without Ferry's root among the trusted ones the certificate is refused: nothing is answered.
    const untrusted = await run("kdig", [
      "@127.0.0.1",
      "-p",
      port,
      "+tls-ca",
      "+tls-hostname=localhost",
      "www.dot.test",
      "A",
    ]).catch((e) => e);
    assert.doesNotMatch(String(untrusted.stdout), /192\.0\.2\.7/);
  } finally {
    f.child.kill("SIGKILL");
  }
});

test("https:// upstreams: TLS to the upstream, its certificate checked against caRoots for the name written", async (t) => {
  if (!needTool(t, "openssl", "openssl")) return;
  const dir = tmpSite({ "index.html": "x" });
  const up = selfSigned(dir, "localhost", "upstream");
  const https = await import("node:https");
  const server = https.createServer({ cert: readFileSync(up.cert), key: readFileSync(up.key) }, (req, res) =>
    res.end(`secure upstream saw ${req.url} via ${req.headers["x-forwarded-proto"]}`),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const trusted = await startHttp(
    {
      sites: [
        {
          root: dir,
          locations: [{ path: "/", proxy: { to: [`https://localhost:${port}`], caRoots: up.cert } }],
        },
      ],
    },
    dir,
  );
  const untrusted = await startHttp(
    {
      sites: [
        { root: dir, locations: [{ path: "/", proxy: { to: [`https://localhost:${port}`], retries: 0 } }] },
      ],
    },
    dir,
  );
  try {
    const ok = await fetch(`http://127.0.0.1:${trusted.port}/hello`);
    assert.equal(await ok.text(), "secure upstream saw /hello via http");
    const refused = await fetch(`http://127.0.0.1:${untrusted.port}/hello`);
    assert.equal(refused.status, 502, "a certificate no root vouches for is refused");
  } finally {
    await trusted.close();
    await untrusted.close();
    server.close();
  }
});

test("DNS over HTTPS (RFC 8484) on the TLS listener over HTTP/2: kdig +https and ferry lookup --https", async (t) => {
  if (!needTool(t, "kdig", "knot-dnsutils")) return;
  const dir = tmpSite({
    "index.html": "x",
    "doh.test.zone": "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.9\n",
  });
  writeFileSync(
    path.join(dir, "ferry.yaml"),
    [
      "state: state",
      "log: { access: false }",
      "http:",
      '  listen: ["127.0.0.1:0"]',
      '  tls: { listen: ["127.0.0.1:0"] }',
      "  sites:",
      "    - { root: ., tls: internal, dnsOverHttps: true }",
      "dns:",
      '  listen: ["127.0.0.1:0"]',
      "  zones: [{ file: doh.test.zone }]",
      "",
    ].join("\n"),
  );
  const f = await spawnFerry(
    ["serve", "--config", path.join(dir, "ferry.yaml")],
    [/serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  try {
    const port = f.found[0]!;
    const ca = path.join(dir, "state", "ca", "root.crt");
    const kdig = await run("kdig", [
      "@127.0.0.1",
      "-p",
      port,
      "+https",
      `+tls-ca=${ca}`,
      "+tls-hostname=localhost",
      "www.doh.test",
      "A",
    ]);
    assert.match(kdig.stdout, /HTTP\/2/);
    assert.match(kdig.stdout, /www\.doh\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.9/);
    const lookup = (more: string[]) =>
      run(process.execPath, [
        bin,
        "lookup",
        "www.doh.test",
        "--server",
        `127.0.0.1:${port}`,
        "--https",
        "--tls-hostname",
        "localhost",
        ...more,
      ]);
    const mine = await lookup(["--cacert", ca, "--json"]);
    const answer = JSON.parse(mine.stdout) as { transport: string; id: number; answer: { data: string }[] };
    assert.equal(answer.transport, "https");
    assert.equal(answer.id, 0, "DoH asks with ID 0 (RFC 8484 §4.1)");
    assert.deepEqual(
      answer.answer.map((a) => a.data),
      ["192.0.2.9"],
    );
    // Without Ferry's root the certificate is refused: a clear error, exit 1, no stack trace.
    const untrusted = await lookup([]).catch((e: { code: number; stderr: string }) => e);
    assert.equal((untrusted as { code: number }).code, 1);
    assert.match((untrusted as { stderr: string }).stderr, /certificate.*ERR_DNS_LOOKUP/);
    assert.doesNotMatch((untrusted as { stderr: string }).stderr, /\n\s+at /);
    // A path that is not DoH: the HTTP status is the error.
    const wrong = await lookup(["--cacert", ca, "--path", "/nope"]).catch((e: { stderr: string }) => e);
    assert.match((wrong as { stderr: string }).stderr, /HTTP 40\d/);
  } finally {
    f.child.kill("SIGKILL");
  }
});

test("DNS over TLS follows its site's certificate when the file changes, for clients with and without SNI", async (t) => {
  if (!needTool(t, "openssl", "openssl")) return;
  const dir = tmpSite({
    "index.html": "x",
    "z.test.zone": "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
  });
  const cert = selfSigned(dir, "dot.test", "dot");
  writeFileSync(
    path.join(dir, "ferry.yaml"),
    [
      "log: { access: false }",
      "http:",
      '  listen: ["127.0.0.1:0"]',
      '  tls: { listen: ["127.0.0.1:0"] }',
      "  sites:",
      "    - { hosts: [dot.test], root: ., tls: { cert: dot.crt, key: dot.key } }",
      "dns:",
      '  listen: ["127.0.0.1:0"]',
      "  zones: [{ file: z.test.zone }]",
      '  tls: { listen: ["127.0.0.1:0"], site: dot.test }',
      "",
    ].join("\n"),
  );
  const f = await spawnFerry(
    ["serve", "--config", path.join(dir, "ferry.yaml")],
    [/DNS over TLS on 127\.0\.0\.1:(\d+)/],
  );
  try {
    const port = Number(f.found[0]);
    const served = async (sni: boolean) => {
      const out = await sClient(
        port,
        sni ? ["-servername", "dot.test", "-showcerts"] : ["-noservername", "-showcerts"],
      );
      return fingerprint(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(out)![0]);
    };
    const before = fingerprint(readFileSync(cert.cert, "utf8"));
    assert.equal(await served(false), before);
    selfSigned(dir, "dot.test", "dot");
    const after = fingerprint(readFileSync(cert.cert, "utf8"));
    assert.notEqual(before, after);
    await waitFor(
      () => /DNS over TLS: certificate updated/.test(f.stderr()),
      "the DoT certificate update",
      8000,
    );
    assert.equal(await served(false), after, "a client without SNI gets the new certificate");
    assert.equal(await served(true), after, "a client with SNI too");
  } finally {
    f.child.kill("SIGKILL");
  }
});
