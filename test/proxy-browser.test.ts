/**
 * A real app behind Ferry in a real browser: Chromium loads a page from an
 * upstream through the proxy and talks to the upstream's WebSocket through
 * it; the inspector shows the proxied exchange with its upstream and the
 * proxied session with its messages, as it shows Ferry's own.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type net from "node:net";
import { test } from "node:test";
import { WebSocketServer } from "ws";
import { Runtime } from "../src/app/runtime.js";
import { createLogger } from "../src/core/log.js";
import { launchChromium } from "./chromium.js";
import { buildConfig } from "./engine-under-test.js";
import { needTool, tmpSite } from "./helpers.js";
import { parseExposition } from "./prometheus.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>app</title><pre id="log"></pre>
<script>
const log = (t) => (document.getElementById("log").textContent += t + "\\n");
const ws = new WebSocket("ws://" + location.host + "/ws");
ws.onopen = () => ws.send("hi from chromium");
ws.onmessage = (m) => log(m.data);
</script>`;

test("Chromium uses a proxied app and its WebSocket; the inspector shows both with the upstream", async (t) => {
  if (!needTool(t, "chromium", "chromium")) return;
  const app = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "x-app": "yes" });
    res.end(req.url === "/" ? PAGE : "other");
  });
  const wss = new WebSocketServer({ server: app, path: "/ws" });
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`echo: ${m}`)));
  app.listen(0, "127.0.0.1");
  await once(app, "listening");
  const upstream = `127.0.0.1:${(app.address() as net.AddressInfo).port}`;
  const root = tmpSite({ "index.html": "unused" });
  const config = buildConfig(
    {
      http: { listen: ["127.0.0.1:0"], sites: [{ root, proxy: { to: [upstream] } }] },
      admin: { listen: "127.0.0.1:0" },
      log: { level: "silent", access: false },
    },
    { baseDir: root, source: null },
  );
  const rt = await Runtime.start(config, createLogger("silent"));
  const port = rt.http!.addresses[0]!.port;
  const admin = `http://127.0.0.1:${rt.admin!.addresses[0]!.port}`;
  const browser = await launchChromium();
  try {
    const inspector = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await inspector.goto(`${admin}/`);
    await inspector.waitForFunction(() => document.getElementById("status")?.textContent === "live");

    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator("#log", { hasText: "echo: hi from chromium" }).waitFor();

    const httpRow = inspector.locator('#events tr[data-kind="http"]', { hasText: "GET" });
    await httpRow.first().waitFor();
    assert.match((await httpRow.first().textContent()) ?? "", new RegExp(`proxy → ${upstream}`));
    await httpRow.first().click();
    await inspector.locator("#detail", { hasText: "Upstream first byte" }).waitFor();
    assert.match((await inspector.locator("#detail").textContent()) ?? "", new RegExp(`Upstream${upstream}`));

    // The upstreams table: each upstream of each proxy location, with its state.
    const upRow = inspector.locator("#upstreams tbody tr", { hasText: upstream });
    await upRow.first().waitFor();
    assert.match((await upRow.first().textContent()) ?? "", /up/);

    const wsRow = inspector.locator('#events tr[data-kind="ws"]', { hasText: "opened" });
    await wsRow.first().waitFor();
    await wsRow.first().click();
    await inspector.locator("#frames", { hasText: "hi from chromium" }).waitFor();
    await inspector.locator("#frames", { hasText: "echo: hi from chromium" }).waitFor();

    const metrics = parseExposition(await (await fetch(`${admin}/metrics`)).text());
    const sample = (family: string) =>
      metrics.get(family)!.samples.filter((s) => s.labels.upstream === upstream);
    assert.equal(sample("ferry_proxy_upstream_healthy")[0]?.value, 1);
    const proxied = sample("ferry_proxy_requests_total");
    assert.ok(
      proxied.some((m) => m.labels.status === "2xx" && m.value >= 1),
      JSON.stringify(proxied),
    );
    assert.ok((sample("ferry_proxy_upstream_connections_opened_total")[0]?.value ?? 0) >= 1);
    assert.ok(metrics.get("ferry_proxy_upstream_response_seconds")!.samples.length > 0);
  } finally {
    await browser.close();
    await rt.stop();
    wss.close();
    app.closeAllConnections();
    app.close();
  }
});
