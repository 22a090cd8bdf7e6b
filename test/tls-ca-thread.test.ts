/**
 * The local CA runs in a worker thread: its X.509 library (with the
 * reflect-metadata polyfill it needs) slows every request of the thread
 * that loads it, so the serving thread must never load it. Checked in a
 * fresh process: a `tls: internal` site gets its certificate (a real TLS
 * handshake verifies it against the root), and the serving thread still has
 * no `Reflect.getMetadata`, the global that polyfill installs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tmpSite } from "./helpers.js";

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
