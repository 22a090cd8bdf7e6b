/**
 * The admin listener and secrets (issue 9): no cross-site page may read the
 * inspector (Origin), no rebound name may reach it (Host), an optional token
 * guards it, and no secret appears in anything Ferry shows or prints: the
 * inspector's rows and live feed, /metrics, the access and server logs,
 * `ferry check` and `ferry check --json`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { configFromFlags } from "../src/core/config/adapters/flags.js";
import { type FerryProcess, spawnFerry, tmpSite } from "./helpers.js";

const PUBLISH_KEY = "pk-0123456789-SECRET-publish";
const COOKIE_SECRET = "c00kie-SECRET-value-42";
const ADMIN_TOKEN = "adm-0123456789-SECRET-token";
const SECRETS = [PUBLISH_KEY, COOKIE_SECRET, ADMIN_TOKEN];
const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;

function assertNoSecret(what: string, text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${what} shows a secret: …${s}…`);
}

/** One raw HTTP/1.1 exchange with exactly these header lines (fetch would set its own Host). */
function raw(port: number, lines: string[]): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () =>
      s.write(`${lines.join("\r\n")}\r\nConnection: close\r\n\r\n`),
    );
    let buf = "";
    s.on("data", (c) => (buf += c));
    s.on("end", () => {
      const i = buf.indexOf("\r\n\r\n");
      resolve({ status: Number(buf.split(" ")[1]), head: buf.slice(0, i), body: buf.slice(i + 4) });
    });
    s.on("error", reject);
  });
}

/** Opens the inspector's live feed; resolves to the handshake's outcome. */
function live(
  port: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live?subscribe=events`, { headers });
    ws.on("open", () => resolve({ status: 101, ws }));
    ws.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on("error", () => resolve({ status: 0 }));
  });
}

describe("the inspector of a default (loopback, no token) admin listener", () => {
  let f: FerryProcess;
  let http = 0;
  let admin = 0;

  before(async () => {
    const site = tmpSite({ "index.html": "hi" });
    f = await spawnFerry(
      ["serve", site, "--http", "127.0.0.1:0", "--realtime", "/ws", "--publish-key", PUBLISH_KEY].concat([
        "--admin",
        "127.0.0.1:0",
        "--log-level",
        "debug",
        "--access-log",
        "json",
      ]),
      [/serving http:\/\/127\.0\.0\.1:(\d+)/, /inspector on http:\/\/127\.0\.0\.1:(\d+)/],
    );
    http = Number(f.found[0]);
    admin = Number(f.found[1]);
  });
  after(() => f.child.kill("SIGKILL"));

  const hosts: [string, number][] = [
    ["127.0.0.1:PORT", 200],
    ["localhost:PORT", 200],
    ["[::1]:PORT", 200],
    ["[::ffff:127.0.0.1]:PORT", 200],
    ["evil.test:PORT", 403],
    ["rebind.attacker.example:PORT", 403],
    ["10.0.0.1:PORT", 403],
  ];
  for (const [host, status] of hosts) {
    test(`Host: ${host} gets ${status} (DNS rebinding)`, async () => {
      const r = await raw(admin, [
        "GET /api/events HTTP/1.1",
        `Host: ${host.replace("PORT", String(admin))}`,
      ]);
      assert.equal(r.status, status);
    });
  }

  test("the live feed refuses a cross-site Origin and takes the page's own", async () => {
    const evil = await live(admin, { Origin: "http://evil.test" });
    assert.equal(evil.status, 403);
    const nul = await live(admin, { Origin: "null" });
    assert.equal(nul.status, 403);
    const own = await live(admin, { Origin: `http://127.0.0.1:${admin}` });
    assert.equal(own.status, 101);
    own.ws!.close();
  });

  test("a cross-site fetch with an Origin is refused", async () => {
    const r = await raw(admin, [
      "GET /api/events HTTP/1.1",
      `Host: 127.0.0.1:${admin}`,
      "Origin: http://evil.test",
    ]);
    assert.equal(r.status, 403);
  });

  test("no secret in the inspector's rows, its live feed, /metrics or the logs", async () => {
    const feed = await live(admin, { Origin: `http://127.0.0.1:${admin}` });
    let pushed = "";
    feed.ws!.on("message", (d) => (pushed += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    const pub = await fetch(`http://127.0.0.1:${http}/ws`, {
      method: "POST",
      headers: { authorization: `Bearer ${PUBLISH_KEY}`, cookie: `sid=${COOKIE_SECRET}; theme=dark` },
      body: JSON.stringify({ channel: "news", data: 1 }),
    });
    assert.equal(pub.status, 200);
    const page = await fetch(`http://127.0.0.1:${http}/`, { headers: { cookie: `sid=${COOKIE_SECRET}` } });
    assert.equal(page.status, 200);
    await new Promise((r) => setTimeout(r, 600));
    const rows = await (await fetch(`http://127.0.0.1:${admin}/api/events`)).text();
    // The rows are there, with the credentials masked but their shape kept.
    assert.match(rows, /"authorization","Bearer ••••••"/);
    assert.match(rows, /"cookie","sid=••••••; theme=••••••"/);
    assertNoSecret("/api/events", rows);
    assert.ok(pushed.includes("Bearer ••••••"), "the live feed carried the publish");
    assertNoSecret("the live feed", pushed);
    assertNoSecret("/metrics", await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text());
    feed.ws!.close();
    await new Promise((r) => setTimeout(r, 1100)); // the access log flushes every second
    assert.match(f.stdout(), /"uri":"\/ws"/, "the access log has the publish");
    assertNoSecret("the access log", f.stdout());
    assertNoSecret("the server log", f.stderr());
  });
});

describe("admin.token", () => {
  let f: FerryProcess;
  let admin = 0;
  let dir = "";

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "ferry-admin-"));
    writeFileSync(path.join(dir, "index.html"), "hi");
    writeFileSync(
      path.join(dir, "ferry.yaml"),
      `http:
  listen: ["127.0.0.1:0"]
  sites:
    - root: .
      realtime:
        - path: /ws
          publishKey: ${PUBLISH_KEY}
admin:
  listen: "127.0.0.1:0"
  token: ${ADMIN_TOKEN}
`,
    );
    f = await spawnFerry(
      ["serve", "--config", path.join(dir, "ferry.yaml")],
      [/inspector on http:\/\/127\.0\.0\.1:(\d+)/],
    );
    admin = Number(f.found[0]);
  });
  after(() => f.child.kill("SIGKILL"));

  test("without the token: 401 with WWW-Authenticate, for the page, /metrics and the live feed", async () => {
    for (const p of ["/", "/metrics", "/api/events"]) {
      const r = await fetch(`http://127.0.0.1:${admin}${p}`);
      assert.equal(r.status, 401, p);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
    assert.equal((await live(admin)).status, 401);
    const wrong = await fetch(`http://127.0.0.1:${admin}/metrics`, {
      headers: { authorization: "Bearer nope" },
    });
    assert.equal(wrong.status, 401);
  });

  test("Bearer for scrapers; ?token= once on the page sets a cookie the page and its feed then use", async () => {
    const metrics = await fetch(`http://127.0.0.1:${admin}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(metrics.status, 200);
    const page = await fetch(`http://127.0.0.1:${admin}/?token=${ADMIN_TOKEN}`);
    assert.equal(page.status, 200);
    const cookie = page.headers.get("set-cookie") ?? "";
    assert.match(cookie, /^ferry_admin=.*HttpOnly; SameSite=Strict/);
    const pair = cookie.split(";")[0]!;
    assert.equal(
      (await fetch(`http://127.0.0.1:${admin}/api/events`, { headers: { cookie: pair } })).status,
      200,
    );
    const feed = await live(admin, { cookie: pair, Origin: `http://127.0.0.1:${admin}` });
    assert.equal(feed.status, 101);
    feed.ws!.close();
  });

  test("the server's log never names the token", () => {
    assertNoSecret("the server log", f.stderr());
  });

  test("ferry check and ferry check --json mask the publish key and the admin token", () => {
    const file = path.join(dir, "ferry.yaml");
    for (const args of [
      ["check", "--config", file],
      ["check", "--config", file, "--json"],
    ]) {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assertNoSecret(`ferry ${args.join(" ")}`, r.stdout + r.stderr);
    }
    const json = JSON.parse(
      spawnSync(process.execPath, [bin, "check", "--config", file, "--json"]).stdout.toString(),
    );
    assert.equal(json.admin.token, "••••••");
    assert.equal(json.http.sites[0].realtime[0].publishKey, "••••••");
  });
});

describe("admin listener addresses", () => {
  test("loopback in every spelling is accepted; a remote one needs allowRemote and a token", () => {
    for (const listen of [
      "[::ffff:127.0.0.1]:9191",
      "[0:0:0:0:0:0:0:1]:9191",
      "127.1.2.3:9191",
      "localhost:9191",
    ])
      assert.equal(configFromFlags({ http: [], root: ".", admin: listen }).admin?.listen.port, 9191, listen);
    const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-admin-"));
    const file = path.join(dir, "ferry.yaml");
    writeFileSync(file, 'admin:\n  listen: "0.0.0.0:9191"\n  allowRemote: true\n');
    const r = spawnSync(process.execPath, [bin, "check", "--config", file], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /ferry\.yaml:3:\d+: admin\.allowRemote: a non-loopback admin listener needs admin\.token/,
    );
    writeFileSync(file, `admin:\n  listen: "0.0.0.0:9191"\n  allowRemote: true\n  token: ${ADMIN_TOKEN}\n`);
    assert.equal(spawnSync(process.execPath, [bin, "check", "--config", file]).status, 0);
  });
});
