/**
 * The inspector end to end in headless Chromium: Ferry runs HTTP (with a
 * realtime endpoint), DNS and the admin listener; the test makes a DNS
 * query, an HTTP request and a WebSocket exchange and sees each appear live
 * with the right fields, opens the session's messages, and checks /metrics.
 * A screenshot goes to test-output/inspector.png.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Runtime } from "../src/app/runtime.js";
import { createLogger } from "../src/core/log.js";
import { lookup } from "../src/dns/client.js";
import { RRType } from "../src/dns/wire/constants.js";
import { launchChromium } from "./chromium.js";
import { buildConfig } from "./engine-under-test.js";
import { needTool, tmpSite } from "./helpers.js";
import { parseExposition } from "./prometheus.js";

const output = fileURLToPath(new URL("../../test-output", import.meta.url));

test("the inspector shows a DNS query, an HTTP exchange and a WebSocket session live", async (t) => {
  if (!needTool(t, "chromium", "chromium")) return;
  const root = tmpSite({ "index.html": "<h1>inspected</h1>", "hello.txt": "hello" });
  const config = buildConfig(
    {
      http: {
        listen: ["127.0.0.1:0"],
        sites: [
          {
            root,
            realtime: [{ path: "/ws", publishKey: "inspect-key", channels: [{ match: "*", publish: true }] }],
          },
        ],
      },
      dns: {
        listen: ["127.0.0.1:0"],
        zones: [
          {
            origin: "inspect.test",
            records: "$TTL 60\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\nwww A 127.0.0.7\n",
          },
        ],
      },
      admin: { listen: "127.0.0.1:0" },
      log: { level: "silent", access: false },
    },
    { baseDir: root, source: null },
  );
  const rt = await Runtime.start(config, createLogger("silent"));
  const httpPort = rt.http!.addresses[0]!.port;
  const dnsPort = rt.dns!.addresses[0]!.port;
  const admin = `http://127.0.0.1:${rt.admin!.addresses[0]!.port}`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${admin}/`);
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "live");

    await lookup("www.inspect.test", RRType.A, { server: { host: "127.0.0.1", port: dnsPort } });
    const res = await fetch(`http://127.0.0.1:${httpPort}/hello.txt`, {
      headers: {
        "X-Probe": "inspector-test",
        Authorization: "Bearer very-secret-token-1",
        "X-Long-Header-Name-Here": "v",
      },
    });
    const pub = await fetch(`http://127.0.0.1:${httpPort}/ws`, {
      method: "POST",
      headers: { Authorization: "Bearer inspect-key" },
      body: JSON.stringify({ channel: "feed:1", data: 1 }),
    });
    assert.equal(pub.status, 200);
    assert.equal(await res.text(), "hello");
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`);
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "subscribe", channel: "room:1" }));
    ws.send(JSON.stringify({ type: "publish", channel: "room:1", data: { hello: "inspector" } }));
    await new Promise((r) => setTimeout(r, 300));

    const dnsRow = page.locator('#events tr[data-kind="dns"]', { hasText: "www.inspect.test" });
    await dnsRow.first().waitFor();
    assert.match((await dnsRow.first().textContent()) ?? "", /A.*NOERROR.*127\.0\.0\.7.*udp/s);
    const httpRow = page.locator('#events tr[data-kind="http"]', { hasText: "/hello.txt" });
    await httpRow.first().waitFor();
    assert.match((await httpRow.first().textContent()) ?? "", /GET.*\/hello\.txt.*200.*5 B/s);
    const wsRow = page.locator('#events tr[data-kind="ws"]', { hasText: "opened" });
    await wsRow.first().waitFor();

    // HTTP details: the request's own headers, credentials masked, names never broken mid-word.
    await httpRow.first().click();
    await page.locator("#detail", { hasText: "X-Probe" }).waitFor();
    const detail = (await page.locator("#detail").textContent()) ?? "";
    assert.match(detail, /inspector-test/);
    assert.match(detail, /Bearer ••••••/);
    assert.doesNotMatch(detail, /very-secret-token-1/);
    const nameCell = page.locator("#detail .kv td:first-child", { hasText: "X-Long-Header-Name-Here" });
    const box = await nameCell.boundingBox();
    const line = await nameCell.evaluate((el) => Number.parseFloat(getComputedStyle(el).lineHeight) || 18);
    assert.ok(box && box.height < line * 1.6, "a header name wrapped onto two lines");

    // The Via column is shown whole, not cut off.
    const via = page.locator("#events tr[data-kind='http'] td.via").first();
    assert.ok(await via.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), "the Via column is cut off");

    // Publishes (POSTs to realtime paths) are hidden until asked for, then marked as such.
    const pubRow = page.locator('#events tr[data-kind="http"]', { hasText: "POST" });
    assert.equal(await pubRow.count(), 0, "a publish was listed by default");
    await page.locator('input[data-kind="publish"]').check();
    await pubRow.first().waitFor();
    assert.match((await pubRow.first().textContent()) ?? "", /publish/);
    await page.locator('input[data-kind="publish"]').uncheck();

    // The WebSocket session's messages, like the devtools Messages tab; new ones arrive live.
    await wsRow.first().click();
    await page.locator("#frames", { hasText: '"type":"subscribe"' }).waitFor();
    await page.locator("#frames", { hasText: '"hello":"inspector"' }).waitFor();
    ws.send(JSON.stringify({ type: "publish", channel: "room:1", data: "live frame" }));
    await page.locator("#frames", { hasText: "live frame" }).waitFor();

    ws.close(1000, "bye");
    const closed = page.locator('#events tr[data-kind="ws"]', { hasText: "closed" });
    await closed.first().waitFor();
    assert.match((await closed.first().textContent()) ?? "", /1000.*bye/);

    // Filtering by kind.
    await page.locator('input[data-kind="http"]').uncheck();
    assert.equal(await page.locator('#events tr[data-kind="http"]').count(), 0);
    await page.locator('input[data-kind="http"]').check();

    // Charts drew (uPlot canvases), their legends show numbers (not "--"), and the channel table knows room:1.
    assert.equal(await page.locator(".uplot canvas").count(), 3);
    await page.waitForFunction(
      () => [...document.querySelectorAll(".u-legend .u-value")].every((v) => v.textContent !== "--"),
      undefined,
      { timeout: 5000 },
    );
    await page.locator("#channels", { hasText: "room:1" }).waitFor({ timeout: 5000 });

    mkdirSync(output, { recursive: true });
    await page.screenshot({ path: path.join(output, "inspector.png") });
    assert.deepEqual(errors, []);

    // /metrics parses and counts what happened.
    const metrics = parseExposition(await (await fetch(`${admin}/metrics`)).text());
    const dnsCount = metrics
      .get("ferry_dns_queries_total")!
      .samples.find((s) => s.labels.rcode === "NOERROR");
    assert.ok((dnsCount?.value ?? 0) >= 1);
    const ok = metrics.get("ferry_http_requests_total")!.samples.find((s) => s.labels.status === "2xx");
    assert.ok((ok?.value ?? 0) >= 1);
    assert.ok(metrics.get("ferry_ws_published_total")!.samples[0]!.value >= 2);
    // The admin listener's own traffic is not inspected.
    assert.ok(!metrics.get("ferry_http_requests_total")!.samples.some((s) => s.labels.site === "admin"));
  } finally {
    await browser.close();
    await rt.stop();
  }
});
