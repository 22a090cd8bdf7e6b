/**
 * The local CA and ACME orders run in worker threads: their X.509 library (with the
 * reflect-metadata polyfill it needs) slows every request of the thread
 * that loads it, so the serving thread must never load it. Checked in a
 * fresh process: a `tls: internal` site gets its certificate (a real TLS
 * handshake verifies it against the root), and the serving thread still has
 * no `Reflect.getMetadata`, the global that polyfill installs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { selfSignedCert, tmpSite } from "./helpers.js";

const run = promisify(execFile);
const dist = new URL("../src/", import.meta.url).pathname;

test("tls: internal issues from a worker thread; the serving thread never loads the X.509 library", async () => {
  const dir = tmpSite({ "index.html": "x" });
  const script = `
    import { readFileSync } from "node:fs";
    import tls from "node:tls";
    import { HttpApp } from ${JSON.stringify(path.join(dist, "app/http.js"))};
    import { configFromFlags } from ${JSON.stringify(path.join(dist, "core/config/adapters/flags.js"))};
    const state = ${JSON.stringify(path.join(dir, "state"))};
    const config = configFromFlags({ http: ["127.0.0.1:0"], root: ${JSON.stringify(dir)}, https: ["127.0.0.1:0"], state, accessLog: "off" });
    const app = await HttpApp.start(config.http, null, state);
    const port = app.tlsAddresses[0].port;
    const ca = readFileSync(state + "/ca/root.crt", "utf8");
    const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca });
    await new Promise((r, j) => { s.once("secureConnect", r); s.once("error", j); });
    const issuer = s.getPeerCertificate().issuer.CN;
    s.destroy();
    await app.close(0);
    console.log(JSON.stringify({ issuer, polyfill: typeof Reflect.getMetadata }));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000 });
  const r = JSON.parse(stdout.trim().split("\n").pop()!) as { issuer: string; polyfill: string };
  assert.match(r.issuer, /^Ferry Local CA/);
  assert.equal(r.polyfill, "undefined", "reflect-metadata was loaded in the serving thread");
});

test("tls: acme orders from a worker thread; the serving thread never loads acme-client or its X.509 library", async () => {
  const dir = tmpSite({ "index.html": "x" });
  // A "CA" without a directory: the order fails at once with its 404 (acme-client retries network
  // errors for minutes, not answers), but only after acme-client was loaded to place it.
  const pair = selfSignedCert(dir, "localhost", "fake-ca-tls");
  const ca = https.createServer(
    { cert: readFileSync(pair.cert), key: readFileSync(pair.key) },
    (_req, res) => {
      res.writeHead(404, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "urn:ietf:params:acme:error:malformed", detail: "no directory here" }));
    },
  );
  ca.listen(0, "127.0.0.1");
  await once(ca, "listening");
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(
    file,
    `state: state\nlog: { access: false }\nhttp:\n  listen: ["127.0.0.1:0"]\n  tls:\n    listen: ["127.0.0.1:0"]\n    acme: { directory: "https://127.0.0.1:${(ca.address() as AddressInfo).port}/dir", caRoots: fake-ca-tls.crt }\n  sites: [{ hosts: [www.example.test], root: ., tls: acme }]\n`,
  );
  const script = `
    import diagnostics from "node:diagnostics_channel";
    import tls from "node:tls";
    import { HttpApp } from ${JSON.stringify(path.join(dist, "app/http.js"))};
    import { configFromFlags } from ${JSON.stringify(path.join(dist, "core/config/adapters/flags.js"))};
    const failed = new Promise((r) => diagnostics.subscribe("ferry:tls:cert", (e) => { if (e.kind === "error") r(e.message); }));
    const config = configFromFlags({ http: [], config: ${JSON.stringify(file)} });
    const app = await HttpApp.start(config.http, null, config.state);
    // A handshake for the name asks for its certificate: that starts the order.
    const s = tls.connect({ port: app.tlsAddresses[0].port, host: "127.0.0.1", servername: "www.example.test", rejectUnauthorized: false });
    s.on("error", () => {});
    s.once("secureConnect", () => s.destroy());
    const message = await failed;
    await app.close(0);
    console.log(JSON.stringify({ message, polyfill: typeof Reflect.getMetadata }));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
    timeout: 20_000,
  }).finally(() => ca.close());
  const r = JSON.parse(stdout.trim().split("\n").pop()!) as { message: string; polyfill: string };
  assert.match(r.message, /ACME order for www\.example\.test failed/);
  assert.equal(r.polyfill, "undefined", "acme-client was loaded in the serving thread");
});

test("`ferry serve` as the CLI runs it (HTTPS from the local CA) loads neither the X.509 library nor ajv's code generator", async () => {
  // Through the command itself: its own imports count (one once pulled the local CA in for every serve).
  const dir = tmpSite({ "index.html": "x" });
  const state = path.join(dir, "state");
  const script = `
    import { createRequire } from "node:module";
    import { main } from ${JSON.stringify(path.join(dist, "cli/main.js"))};
    await main(["serve", ${JSON.stringify(dir)}, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--state", ${JSON.stringify(state)}, "--access-log", "off", "--log-level", "warn"]);
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      polyfill: typeof Reflect.getMetadata,
      x509: loaded.filter((f) => f.includes("@peculiar") || f.includes("asn1")).length,
      codegen: loaded.filter((f) => f.includes("/ajv/dist/compile/")).length,
    }));
    process.exit(0);
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000 });
  const r = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  assert.deepEqual(r, { polyfill: "undefined", x509: 0, codegen: 0 });
});
