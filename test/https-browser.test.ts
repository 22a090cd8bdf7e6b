/**
 * HTTPS in a real browser with Ferry's local root trusted the way a user
 * trusts it: `certutil` adds `ferry ca`'s root to Chromium's NSS database
 * (in a throwaway HOME), then headless Chromium (Debian's, driven by
 * playwright-core) loads the market page over https and streams prices
 * over `wss://`. Chromium 91+ opens that WebSocket over the page's own
 * HTTP/2 connection (RFC 8441), which the access log shows as a CONNECT.
 * Without the root the same page is refused.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.js";
import { needTool, spawnFerry, waitFor } from "./helpers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Chromium with HOME pointing at `home` (its NSS database lives in HOME/.pki/nssdb). */
function launchWithHome(home: string) {
  return launchChromium({ ...process.env, HOME: home });
}

/** A fresh NSS database in HOME, trusting `rootPem` as a CA for TLS servers when given. */
function nssHome(rootPem: string | null): string {
  const home = mkdtempSync(path.join(os.tmpdir(), "ferry-chromium-home-"));
  const db = path.join(home, ".pki", "nssdb");
  mkdirSync(db, { recursive: true });
  const init = spawnSync("certutil", ["-d", `sql:${db}`, "-N", "--empty-password"]);
  assert.equal(init.status, 0, String(init.stderr));
  if (rootPem !== null) {
    const add = spawnSync("certutil", ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", "ferry", "-i", rootPem]);
    assert.equal(add.status, 0, String(add.stderr));
  }
  return home;
}

test("Chromium trusts the local root from its NSS database: the market page over https, prices over wss:// on HTTP/2", async (t) => {
  if (!needTool(t, "chromium", "chromium") || !needTool(t, "certutil", "libnss3-tools")) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-https-browser-"));
  writeFileSync(
    path.join(dir, "ferry.yaml"),
    [
      `state: ${JSON.stringify(path.join(dir, "state"))}`,
      "log: { access: { format: combined } }",
      "http:",
      '  listen: ["127.0.0.1:0"]',
      "  tls: { listen: ['127.0.0.1:0'], redirect: false }",
      "  sites:",
      `    - root: ${JSON.stringify(path.join(root, "demo/site"))}`,
      "      tls: internal",
      "      realtime:",
      "        - path: /ws",
      "          publishKey: browser-test-key",
      '          channels: [{ match: "ticker:*", history: { size: 300 } }]',
      "",
    ].join("\n"),
  );
  const f = await spawnFerry(
    ["serve", "--config", path.join(dir, "ferry.yaml")],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//, /serving https:\/\/127\.0\.0\.1:(\d+)\//],
  );
  const { startMarketFeed } = (await import(path.join(root, "demo/market-feed.js"))) as {
    startMarketFeed: (o: { port: number; key: string; ticksPerSecond?: number }) => () => void;
  };
  const stopFeed = startMarketFeed({ port: Number(f.found[0]), key: "browser-test-key", ticksPerSecond: 10 });
  const url = `https://localhost:${f.found[1]}/market.html`;
  const trusted = await launchWithHome(nssHome(path.join(dir, "state", "ca", "root.crt")));
  const untrusted = await launchWithHome(nssHome(null));
  try {
    const page = await trusted.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const res = await page.goto(url);
    assert.equal(res?.status(), 200);
    const security = await res!.securityDetails();
    assert.equal(security?.protocol, "TLS 1.3");
    assert.match(security?.issuer ?? "", /^Ferry Local CA/);
    await page.waitForFunction(
      () => (window as unknown as { __market: { received: number } }).__market.received > 20,
    );
    assert.equal(await page.locator("#status").textContent(), "live");
    assert.deepEqual(errors, []);
    await waitFor(() => /"CONNECT \/ws HTTP\/2\.0" 200 /.test(f.stdout()), "the WebSocket over HTTP/2");
    assert.match(f.stdout(), /"GET \/market\.html HTTP\/2\.0" 200 /);

    const refused = await untrusted.newPage();
    const err = await refused.goto(url).catch((e: Error) => e);
    assert.ok(err instanceof Error, "without the root the page does not load");
    assert.match(err.message, /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    stopFeed();
    await trusted.close();
    await untrusted.close();
    f.child.kill("SIGKILL");
  }
});
