/**
 * The proxy as a user runs it: `ferry serve --proxy`, a YAML file with every
 * proxy key, `ferry check`, the log, a large download to a slow reader with
 * Ferry's memory watched, and a reload under load that fails no request and
 * keeps a proxied WebSocket session open.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import WebSocket, { WebSocketServer } from "ws";
import { type FerryProcess, get, spawnFerry, tmpSite, waitFor } from "./helpers.js";

const run = promisify(execFile);
const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;
const children: FerryProcess[] = [];
const closers: (() => void)[] = [];

after(() => {
  for (const c of children) c.child.kill("SIGKILL");
  for (const c of closers) c();
});

/** An upstream that answers with its own name. */
async function named(name: string): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const s = http.createServer((_req, res) => {
    hits++;
    res.end(name);
  });
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  closers.push(() => {
    s.closeAllConnections();
    s.close();
  });
  return { port: (s.address() as net.AddressInfo).port, hits: () => hits };
}

async function serve(args: string[], cwd?: string): Promise<FerryProcess & { port: number }> {
  const f = await spawnFerry(["serve", ...args], [/serving http:\/\/127\.0\.0\.1:(\d+)\//], cwd);
  children.push(f);
  return { ...f, port: Number(f.found[0]) };
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

test("--proxy PREFIX=UPSTREAM,UPSTREAM: files elsewhere, balanced upstreams under the prefix, a dead one logged", async () => {
  const a = await named("a");
  const dead = net.createServer().listen(0, "127.0.0.1");
  await once(dead, "listening");
  const deadPort = (dead.address() as net.AddressInfo).port;
  dead.close();
  const root = tmpSite({ "index.html": "static" });
  const f = await serve([
    root,
    "--http",
    "127.0.0.1:0",
    "--proxy",
    `/api/=127.0.0.1:${a.port},127.0.0.1:${deadPort}`,
    "--access-log",
    "json",
  ]);
  assert.equal((await get(f.port, "/")).body.toString(), "static");
  for (let i = 0; i < 4; i++)
    assert.equal((await get(f.port, "/api/x")).body.toString(), "a", "retried on a");
  await waitFor(() => /"code":"ERR_PROXY_CONNECT"/.test(f.stderr()), "the connect failure in the log");
  assert.match(f.stderr(), new RegExp(`"upstream":"127\\.0\\.0\\.1:${deadPort}"`));
  await waitFor(
    () => /"upstream":"127\.0\.0\.1:\d+","upstream_status":200/.test(f.stdout()),
    "the access log",
  );
  const bad = await run(process.execPath, [bin, "serve", "--proxy", "api=1.2.3.4:80"]).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--proxy takes PREFIX=UPSTREAM/);
});

test("every proxy key set through YAML; ferry check lists each proxy location; bad upstreams are named by line", async () => {
  const dir = tmpSite({ "public/index.html": "files" });
  const a = await named("a");
  const b = await named("b");
  const cfg = path.join(dir, "ferry.yaml");
  writeFileSync(
    cfg,
    `http:
  listen: ["127.0.0.1:0"]
  sites:
    - hosts: [app.test]
      root: public
      trustedProxies: ["127.0.0.1/32", "::1"]
      locations:
        - path: /api/
          proxy:
            to: ["127.0.0.1:${a.port}", "http://127.0.0.1:${b.port}"]
            balance: least_conn
            stripPrefix: true
            preserveHost: false
            health: { path: /, interval: 1s, timeout: 500ms, passes: 1, fails: 3 }
            passive: { fails: 5, cooldown: 5s }
            timeouts: { connect: 1s, response: 5s, idle: 10s }
            retries: 2
            keepAlive: 8
            headers: { request: { set: { X-App: ferry }, remove: [Cookie2] }, response: { set: { X-Via: ferry }, remove: [Server] } }
            maxBodySize: 64KiB
log: { access: false }
`,
  );
  const { stdout } = await run(process.execPath, [bin, "check", "--config", cfg]);
  assert.match(
    stdout,
    new RegExp(`proxy /api/ -> 127\\.0\\.0\\.1:${a.port}, 127\\.0\\.0\\.1:${b.port} \\(least_conn\\)`),
  );
  const json = JSON.parse((await run(process.execPath, [bin, "check", "--config", cfg, "--json"])).stdout);
  const loc = json.http.sites[0].locations.find((l: { kind: string }) => l.kind === "proxy");
  assert.deepEqual(
    [loc.balance, loc.stripPrefix, loc.preserveHost, loc.retries, loc.keepAlive, loc.maxBodySize],
    ["least_conn", true, false, 2, 8, 65536],
  );
  assert.deepEqual(loc.health, { path: "/", interval: 1000, timeout: 500, passes: 1, fails: 3 });
  assert.deepEqual(loc.passive, { fails: 5, cooldown: 5000 });
  assert.deepEqual(loc.timeouts, { connect: 1000, response: 5000, idle: 10_000 });
  assert.deepEqual(loc.trustedProxies, ["127.0.0.1/32", "::1/128"]);
  const f = await serve(["--config", cfg]);
  const r = await get(f.port, "/api/x", { Host: "app.test" });
  assert.ok(["a", "b"].includes(r.body.toString()));
  assert.equal(r.headers["x-via"], "ferry");

  const badCfg = path.join(dir, "bad.yaml");
  writeFileSync(
    badCfg,
    `http:\n  sites:\n    - root: public\n      trustedProxies: [not-an-address]\n      locations:\n        - path: /x/\n          proxy: { to: ["127.0.0.1:0"] }\n        - path: /y/\n          redirect: { to: /z/ }\n          proxy: { to: ["127.0.0.1:1"] }\n`,
  );
  const bad = await run(process.execPath, [bin, "check", "--config", badCfg]).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /bad\.yaml:4:\d+: http\.sites\[0\]\.trustedProxies\[0\]: not-an-address is not an address/,
  );
  assert.match(
    bad.stderr,
    /bad\.yaml:7:\d+: http\.sites\[0\]\.locations\[0\]\.proxy\.to\[0\]: .*port from 1 to 65535/,
  );
  assert.match(
    bad.stderr,
    /bad\.yaml:10:\d+: http\.sites\[0\]\.locations\[1\]\.proxy: a location is one kind/,
  );
});

test("a large download to a slow reader does not grow Ferry's memory", async () => {
  const total = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024, 7);
  const up = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  up.listen(0, "127.0.0.1");
  await once(up, "listening");
  closers.push(() => up.close());
  const f = await serve([
    tmpSite({}),
    "--http",
    "127.0.0.1:0",
    "--proxy",
    `/=127.0.0.1:${(up.address() as net.AddressInfo).port}`,
    "--access-log",
    "off",
  ]);
  const pid = f.child.pid!;
  const before = rss(pid);
  let peak = before;
  const sock = net.connect(f.port, "127.0.0.1");
  await once(sock, "connect");
  sock.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
  let got = 0;
  let sinceBreak = 0;
  await new Promise<void>((resolve, reject) => {
    sock.on("data", (c: Buffer) => {
      got += c.length;
      sinceBreak += c.length;
      if (sinceBreak > 16 * 1024 * 1024) {
        // A slow reader: stop for a while every 16 MiB, so Ferry has to hold back the upstream.
        sinceBreak = 0;
        sock.pause();
        peak = Math.max(peak, rss(pid));
        setTimeout(() => {
          peak = Math.max(peak, rss(pid));
          sock.resume();
        }, 150);
      }
      if (got >= total) resolve();
    });
    sock.on("error", reject);
    sock.on("close", () => (got >= total ? resolve() : reject(new Error(`cut at ${got}`))));
  });
  sock.destroy();
  assert.ok(got >= total);
  assert.ok(peak - before < 64 * 1024 * 1024, `RSS grew by ${Math.round((peak - before) / 1048576)} MiB`);
});

test("a reload (SIGHUP) swaps upstreams under load: no request fails, a proxied WebSocket stays open", async () => {
  const a = await named("a");
  const b = await named("b");
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(wss, "listening");
  closers.push(() => wss.close());
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`echo ${m}`)));
  const wsPort = (wss.address() as net.AddressInfo).port;
  const dir = tmpSite({ "index.html": "files" });
  const cfg = path.join(dir, "ferry.yaml");
  const write = (upstreams: number[]) =>
    writeFileSync(
      cfg,
      `http:\n  listen: ["127.0.0.1:0"]\n  sites:\n    - root: .\n      locations:\n        - path: /app/\n          proxy: { to: [${upstreams.map((p) => `"127.0.0.1:${p}"`).join(", ")}] }\n        - path: /ws\n          proxy: { to: ["127.0.0.1:${wsPort}"] }\nlog: { access: false }\n`,
    );
  write([a.port]);
  const f = await serve(["--config", cfg]);
  const ws = new WebSocket(`ws://127.0.0.1:${f.port}/ws`);
  await once(ws, "open");
  const agent = new Agent({ connections: 8 });
  let failures = 0;
  let done = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await request(`http://127.0.0.1:${f.port}/app/x`, { dispatcher: agent });
        const text = await r.body.text();
        if (r.statusCode !== 200 || (text !== "a" && text !== "b")) failures++;
      } catch {
        failures++;
      }
      done++;
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  await waitFor(() => done > 300, "load before the reload");
  write([a.port, b.port]);
  f.child.kill("SIGHUP");
  await waitFor(() => /configuration reloaded/.test(f.stderr()), "the reload");
  await waitFor(() => b.hits() > 50, "the new upstream to take requests");
  stop = true;
  await Promise.all(workers);
  await agent.close();
  assert.equal(failures, 0, `${failures} of ${done} requests failed`);
  ws.send("still here");
  const [msg] = await once(ws, "message");
  assert.equal(String(msg), "echo still here");
  ws.close();
});
