/**
 * The demo's market page in a real browser: headless Chromium (Debian's
 * package, driven by playwright-core) opens it from Ferry, sees prices
 * change, survives a dropped connection and recovers what it missed with
 * `since` (no duplicates, no gaps). A screenshot goes to test-output/.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { HttpApp } from "../src/app/http.js";
import { configFromFlags } from "../src/core/config/adapters/flags.js";
import { launchChromium } from "./chromium.js";
import { needTool } from "./helpers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const output = path.join(root, "test-output");

test("the market page streams prices, and recovers after a drop without duplicates or gaps", async (t) => {
  if (!needTool(t, "chromium", "chromium")) return;
  const config = configFromFlags({
    http: ["127.0.0.1:0"],
    config: path.join(root, "demo/ferry.yaml"),
    accessLog: "off",
  });
  const service = await HttpApp.start(config.http!);
  const port = service.addresses[0]!.port;
  const feedModule = path.join(root, "demo/market-feed.js");
  const { startMarketFeed } = (await import(feedModule)) as {
    startMarketFeed: (o: { port: number; key: string; ticksPerSecond?: number }) => () => void;
  };
  const stopFeed = startMarketFeed({ port, key: "demo-publish-key", ticksPerSecond: 10 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 760 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/market.html`);
    await page.waitForFunction(
      () => (window as unknown as { __market: { received: number } }).__market.received > 20,
    );
    const btc = page.locator('tr[data-symbol="KRW-BTC"] .price');
    const first = await btc.textContent();
    assert.match(first ?? "", /^[\d,]+$/);
    await page.waitForFunction(
      (p) => document.querySelector('tr[data-symbol="KRW-BTC"] .price')?.textContent !== p,
      first,
    );
    assert.equal(await page.locator("#status").textContent(), "live");
    // The chart has drawn something.
    const inked = await page.evaluate(() => {
      const c = document.getElementById("chart") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    assert.ok(inked > 1000, `chart pixels: ${inked}`);

    // Drop every connection as a network failure would; the page reconnects and asks with `since`.
    const hub = service.realtime.all()[0]!;
    const before = await page.evaluate(
      () => (window as unknown as { __market: { received: number } }).__market.received,
    );
    for (const conn of [...hub.connections]) conn.terminate(1006, "test drop");
    await page.waitForFunction(
      () => (window as unknown as { __market: { reconnects: number } }).__market.reconnects >= 1,
    );
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "live");
    await page.waitForFunction(
      (n) => (window as unknown as { __market: { received: number } }).__market.received > n + 30,
      before,
    );
    const stats = await page.evaluate(() => {
      const m = (window as unknown as { __market: { duplicates: number; gaps: number; reconnects: number } })
        .__market;
      return { duplicates: m.duplicates, gaps: m.gaps, reconnects: m.reconnects };
    });
    assert.deepEqual({ duplicates: stats.duplicates, gaps: stats.gaps }, { duplicates: 0, gaps: 0 });
    mkdirSync(output, { recursive: true });
    await page.screenshot({ path: path.join(output, "market.png") });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    stopFeed();
    await service.close(100);
  }
});
