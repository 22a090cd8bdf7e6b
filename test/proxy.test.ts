/**
 * The reverse proxy against real upstreams (node:http servers, a raw `net`
 * server for broken responses, `ws` for WebSocket) and real clients (raw
 * sockets, curl, `ws`): header rules, smuggling, streaming both ways,
 * failures, balancing and health, the keep-alive pool, WebSocket
 * pass-through with its frames on the diagnostics channels.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import diagnostics from "node:diagnostics_channel";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { request } from "undici";
import WebSocket, { WebSocketServer } from "ws";
import type { UserProxy } from "../src/core/config/types.js";
import {
  type HttpRequestEvent,
  httpRequestChannel,
  type ProxyHealthEvent,
  proxyHealthChannel,
  type WsFrameEvent,
  type WsSessionEvent,
  wsFrameChannel,
  wsSessionChannel,
} from "../src/core/diagnostics.js";
import { ENGINE } from "./engine-under-test.js";
import { get, needTool, rawExchange, startHttp, type TestServer, tmpSite, waitFor } from "./helpers.js";

const run = promisify(execFile);

/** A real upstream: node:http with a handler, counting connections and requests. */
interface Upstream {
  port: number;
  name: string;
  connections: number;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[];
  server: http.Server;
  close(): Promise<void>;
}

type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

const echo: UpstreamHandler = (req, res, body) => {
  const text = JSON.stringify({
    url: req.url,
    method: req.method,
    headers: req.headers,
    body: body.toString(),
  });
  res.writeHead(200, { "content-type": "application/json", "x-upstream": String(req.socket.localPort) });
  res.end(text);
};

const upstreams: Upstream[] = [];

async function upstream(handler: UpstreamHandler = echo, port = 0, streaming = false): Promise<Upstream> {
  const u: Upstream = {
    port: 0,
    name: "",
    connections: 0,
    requests: [],
    server: http.createServer(),
    close: () =>
      new Promise<void>((r) => {
        u.server.closeAllConnections();
        u.server.close(() => r());
      }),
  };
  u.server.on("connection", () => u.connections++);
  u.server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (streaming) {
      u.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0) });
      handler(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      u.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  u.server.listen(port, "127.0.0.1");
  await once(u.server, "listening");
  u.port = (u.server.address() as net.AddressInfo).port;
  u.name = `127.0.0.1:${u.port}`;
  upstreams.push(u);
  return u;
}

/** An upstream that promises 100 bytes, sends ten and closes, on every connection; its port. */
async function cuttingUpstream(): Promise<number> {
  const raw = net.createServer((c) => {
    c.once("data", () => c.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten.."));
  });
  raw.listen(0, "127.0.0.1");
  await once(raw, "listening");
  after(() => raw.close());
  return (raw.address() as net.AddressInfo).port;
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = net.createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const servers: TestServer[] = [];

async function proxy(p: UserProxy, site: Record<string, unknown> = {}, path = "/"): Promise<TestServer> {
  const root = tmpSite({ "index.html": "files" });
  const s = await startHttp({
    sites: [{ root, ...site, locations: [{ path, proxy: p }] }],
  });
  servers.push(s);
  return s;
}

after(async () => {
  for (const s of servers) await s.close();
  for (const u of upstreams) await u.close();
});

function json(body: Buffer): { url: string; method: string; headers: Record<string, string>; body: string } {
  return JSON.parse(body.toString());
}

describe("headers", () => {
  test("hop-by-hop headers never cross; a spoofed X-Forwarded-For is replaced by the client's address", async () => {
    const up = await upstream((req, res, body) => {
      res.setHeader("Connection", "X-Internal");
      res.setHeader("X-Internal", "secret");
      res.setHeader("Keep-Alive", "timeout=99");
      echo(req, res, body);
    });
    const s = await proxy({ to: [up.name] });
    const r = await rawExchange(
      s.port,
      "GET /a?b=1 HTTP/1.1\r\nHost: app.test\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n" +
        "TE: trailers\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n" +
        "Forwarded: for=6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n",
    );
    const res = r.responses[0]!;
    assert.equal(res.status, 200);
    const seen = json(res.body);
    assert.equal(seen.url, "/a?b=1");
    assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(seen.headers["x-forwarded-proto"], "http");
    assert.equal(seen.headers["x-forwarded-host"], "app.test");
    assert.equal(seen.headers.host, "app.test", "preserveHost by default");
    for (const h of ["x-secret", "te", "proxy-connection", "x-real-ip", "forwarded"])
      assert.equal(seen.headers[h], undefined, h);
    assert.equal(res.headers["x-internal"], undefined, "a header the upstream's Connection names");
    assert.notEqual(res.headers["keep-alive"], "timeout=99");
  });

  test("from a trusted proxy X-Forwarded-For is extended; preserveHost false sends the upstream's address", async () => {
    const up = await upstream();
    const s = await proxy({ to: [up.name], preserveHost: false }, { trustedProxies: ["127.0.0.0/8"] });
    const r = await get(s.port, "/x", { "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https" });
    const seen = json(r.body);
    assert.equal(seen.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert.equal(seen.headers["x-forwarded-proto"], "https");
    assert.equal(seen.headers.host, up.name);
  });

  test("header rules, stripPrefix, and the target passed on verbatim (%2F stays %2F)", async () => {
    const up = await upstream();
    const s = await proxy(
      {
        to: [`http://${up.name}`],
        stripPrefix: true,
        headers: {
          request: { set: { "X-App": "ferry" }, remove: ["Cookie2"] },
          response: { remove: ["X-Upstream"] },
        },
      },
      {},
      "/api/",
    );
    const r = await get(s.port, "/api/a%2Fb/c?q=%20", { Cookie2: "x", "X-App": "client" });
    const seen = json(r.body);
    assert.equal(seen.url, "/a%2Fb/c?q=%20");
    assert.equal(seen.headers["x-app"], "ferry");
    assert.equal(seen.headers.cookie2, undefined);
    assert.equal(r.headers["x-upstream"], undefined);
    assert.equal((await get(s.port, "/index.html")).body.toString(), "files", "outside the prefix: files");
  });
});

describe("framing and bodies", () => {
  test("smuggling attempts get 400 and never reach the upstream", async () => {
    const up = await upstream();
    const s = await proxy({ to: [up.name] });
    const attempts = [
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\rX-Bare: cr\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked, chunked\r\n\r\n0\r\n\r\n",
    ];
    for (const a of attempts) {
      const r = await rawExchange(s.port, a, { waitClose: true, timeout: 3000 });
      const status = r.responses[0]?.status;
      assert.ok(status === 400 || status === 501, `${JSON.stringify(a)} → ${status}`);
    }
    // Some of these are refused only once the body is read; none may arrive complete.
    assert.ok(
      up.requests.every((q) => q.method !== "POST" || q.body.length === 0),
      JSON.stringify(up.requests.map((q) => [q.method, q.body.length])),
    );
    assert.equal(up.requests.filter((q) => q.method === "GET").length, 0, "no smuggled GET");
  });

  test("a chunked upload arrives whole; Expect: 100-continue works (curl)", async (t) => {
    const up = await upstream();
    const s = await proxy({ to: [up.name] });
    const r = await rawExchange(
      s.port,
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    assert.equal(json(r.responses[0]!.body).body, "hello world");
    if (!needTool(t, "curl", "curl")) return;
    const file = path.join(tmpSite({ "big.txt": "x".repeat(200_000) }), "big.txt");
    const { stdout, stderr } = await run("curl", [
      "-sv",
      "-H",
      "Expect: 100-continue",
      "--data-binary",
      `@${file}`,
      `http://127.0.0.1:${s.port}/expect`,
    ]);
    assert.match(stderr, /< HTTP\/1.1 100 Continue/);
    assert.equal(JSON.parse(stdout).body.length, 200_000);
  });

  test("a body over maxBodySize gets 413 (per location), before or while it streams", async () => {
    const up = await upstream();
    const s = await proxy({ to: [up.name], maxBodySize: 1000 });
    const declared = await rawExchange(
      s.port,
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n${"x".repeat(5000)}`,
    );
    assert.equal(declared.responses[0]!.status, 413);
    const chunked = await rawExchange(
      s.port,
      `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${"x".repeat(5000)}\r\n0\r\n\r\n`,
      { waitClose: true },
    );
    assert.equal(chunked.responses[0]?.status, 413);
    assert.ok(up.requests.every((q) => q.body.length <= 1000));
  });

  test("server-sent events reach the client one by one, as they are sent", async () => {
    let next: (() => void) | null = null;
    const up = await upstream(
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        let n = 0;
        next = () => {
          n++;
          if (n > 3) res.end();
          else res.write(`data: event ${n}\n\n`);
        };
        next();
      },
      0,
      true,
    );
    const s = await proxy({ to: [up.name] });
    const sock = net.connect(s.port, "127.0.0.1");
    await once(sock, "connect");
    sock.write("GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
    let text = "";
    sock.on("data", (c: Buffer) => (text += c.toString()));
    for (let i = 1; i <= 3; i++) {
      // The next event is sent only after this one arrived: buffering anywhere would stall here.
      await waitFor(() => text.includes(`data: event ${i}`), `event ${i}`);
      next!();
    }
    sock.destroy();
  });

  test("a client that goes away aborts the upstream request", async () => {
    let closed = false;
    const up = await upstream(
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const t = setInterval(() => res.write(Buffer.alloc(1024)), 5);
        res.on("close", () => {
          clearInterval(t);
          closed = true;
        });
      },
      0,
      true,
    );
    const s = await proxy({ to: [up.name] });
    const sock = net.connect(s.port, "127.0.0.1");
    await once(sock, "connect");
    sock.write("GET /forever HTTP/1.1\r\nHost: a\r\n\r\n");
    await once(sock, "data");
    sock.destroy();
    await waitFor(() => closed, "the upstream to see the abort");
  });

  test("a response cut short by the upstream is cut short to the client (never complete-looking)", async () => {
    const port = await cuttingUpstream();
    const s = await proxy({ to: [`127.0.0.1:${port}`] });
    const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { waitClose: true });
    assert.ok(r.closed, "the client's connection was cut");
    assert.equal(r.responses.length === 0 || r.responses[0]!.body.length < 100, true);
    // Ferry's engine passes on what the upstream sent before it stopped, then cuts the connection
    // (node:http's drops what it had not flushed when the response is destroyed).
    const came = r.responses[0]?.body.toString() ?? "";
    if (ENGINE === "ferry") assert.equal(came, "only ten..");
    else assert.ok("only ten..".startsWith(came), came);
  });

  test("small bodies cut short count against the upstream: it is ejected after `passive.fails` of them (regression)", async () => {
    const port = await cuttingUpstream();
    const good = await upstream();
    const s = await proxy({ to: [`127.0.0.1:${port}`, good.name], passive: { fails: 2, cooldown: 60_000 } });
    for (let i = 0; i < 6; i++)
      await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { waitClose: true });
    assert.equal(s.service.upstreams().find((u) => u.upstream === `127.0.0.1:${port}`)!.healthy, false);
    assert.ok(good.requests.length >= 3, `${good.requests.length} requests went to the good upstream`);
  });

  test("upstream_first_byte_ms is the time to the upstream's head, not to the end of a small body (regression)", async () => {
    const slow = await upstream((_q, res) => {
      res.writeHead(200, { "content-length": "4" });
      res.flushHeaders();
      setTimeout(() => res.end("done"), 400);
    });
    const s = await proxy({ to: [slow.name] });
    const seen: { firstByteMs: number; durationMs: number }[] = [];
    const on = (m: unknown) => {
      const e = m as HttpRequestEvent;
      if (e.upstream) seen.push({ firstByteMs: e.upstream.firstByteMs, durationMs: e.durationMs });
    };
    diagnostics.subscribe(httpRequestChannel.name, on);
    try {
      const r = await get(s.port, "/");
      assert.equal(r.body.toString(), "done");
      await waitFor(() => seen.length === 1, "the request's event");
    } finally {
      diagnostics.unsubscribe(httpRequestChannel.name, on);
    }
    assert.ok(seen[0]!.durationMs >= 390, `duration ${seen[0]!.durationMs}`);
    assert.ok(seen[0]!.firstByteMs < 300, `first byte at ${seen[0]!.firstByteMs} ms`);
  });

  test("an upstream response with bad framing becomes 502", async () => {
    const raw = net.createServer((c) => {
      c.once("data", () =>
        c.end(
          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
      );
    });
    raw.listen(0, "127.0.0.1");
    await once(raw, "listening");
    after(() => raw.close());
    const port = (raw.address() as net.AddressInfo).port;
    const s = await proxy({ to: [`127.0.0.1:${port}`], retries: 0 });
    const r = await get(s.port, "/");
    assert.equal(r.status, 502);
  });
});

describe("failures", () => {
  test("connect failure: the next upstream answers (any method); none reachable: 502", async () => {
    const up = await upstream();
    const dead = await deadPort();
    const s = await proxy({ to: [`127.0.0.1:${dead}`, up.name], balance: "first", passive: { fails: 0 } });
    for (let i = 0; i < 3; i++) {
      const r = await rawExchange(s.port, "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
      assert.equal(r.responses[0]!.status, 200);
      assert.equal(json(r.responses[0]!.body).body, "hi", "the body went to the second upstream intact");
    }
    const none = await proxy({ to: [`127.0.0.1:${dead}`] });
    const r = await get(none.port, "/");
    assert.equal(r.status, 502);
  });

  test("no response headers within timeouts.response: 504; a non-idempotent request is not retried", async () => {
    const up = await upstream(() => {}, 0, true);
    const s = await proxy({
      to: [up.name, up.name.replace(/\d+$/, String(up.port))],
      timeouts: { response: 300 },
    });
    const started = Date.now();
    const r = await rawExchange(s.port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
    assert.equal(r.responses[0]!.status, 504);
    assert.ok(Date.now() - started >= 250);
    assert.equal(up.requests.filter((q) => q.method === "POST").length, 1, "sent once");
  });

  test("every upstream down by health checks: 503; it comes back when it does", async () => {
    let ok = false;
    const up = await upstream((req, res, body) => {
      if (req.url === "/healthz") {
        res.writeHead(ok ? 200 : 503);
        res.end();
      } else echo(req, res, body);
    });
    const events: ProxyHealthEvent[] = [];
    const on = (m: unknown) => events.push(m as ProxyHealthEvent);
    diagnostics.subscribe(proxyHealthChannel.name, on);
    after(() => diagnostics.unsubscribe(proxyHealthChannel.name, on));
    const s = await proxy({ to: [up.name], health: { interval: 50, timeout: 200, fails: 2, passes: 2 } });
    await waitFor(() => events.some((e) => !e.healthy && e.upstream === up.name), "the upstream to go down");
    const r = await get(s.port, "/");
    assert.equal(r.status, 503);
    assert.equal(r.headers["retry-after"], "1");
    ok = true;
    await waitFor(() => events.some((e) => e.healthy && e.upstream === up.name), "the upstream to come back");
    assert.equal((await get(s.port, "/")).status, 200);
    const states = s.service.upstreams();
    assert.equal(states[0]!.healthy, true);
  });
});

describe("balancing, health and the pool", () => {
  test("round robin spreads requests; an upstream that dies is routed around and rejoins after health checks", async () => {
    const a = await upstream();
    const b = await upstream();
    const s = await proxy({
      to: [a.name, b.name],
      health: { interval: 50, timeout: 200, fails: 1, passes: 1 },
    });
    for (let i = 0; i < 10; i++) assert.equal((await get(s.port, "/")).status, 200);
    const served = (u: Upstream) => u.requests.filter((q) => q.url === "/").length;
    assert.equal(served(a), 5);
    assert.equal(served(b), 5);
    const port = b.port;
    await b.close();
    for (let i = 0; i < 10; i++) assert.equal((await get(s.port, "/")).status, 200, "no failed request");
    const back = await upstream(echo, port);
    await waitFor(() => s.service.upstreams().every((u) => u.healthy), "b to rejoin");
    await waitFor(() => back.requests.some((q) => q.url === "/healthz"), "a check of b");
    for (let i = 0; i < 4; i++) await get(s.port, "/");
    assert.ok(back.requests.filter((q) => q.url === "/").length >= 1, "b serves again");
  });

  test("passive ejection: an upstream answering 5xx is left out after 3 failures", async () => {
    const bad = await upstream((_q, res) => {
      res.writeHead(500);
      res.end("boom");
    });
    const good = await upstream();
    const s = await proxy({ to: [bad.name, good.name], passive: { fails: 3, cooldown: 60_000 } });
    for (let i = 0; i < 20; i++) await get(s.port, "/");
    assert.equal(bad.requests.length, 3);
    assert.equal(good.requests.length, 17);
    assert.equal(s.service.upstreams().find((u) => u.upstream === bad.name)!.healthy, false);
  });

  test("client_hash keeps each client on one upstream", async () => {
    const ups = [await upstream(), await upstream(), await upstream()];
    const s = await proxy({ to: ups.map((u) => u.name), balance: "client_hash" });
    for (const local of ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const r = await request(`http://127.0.0.1:${s.port}/`, {
          dispatcher: new (await import("undici")).Agent({ connect: { localAddress: local } }),
        });
        seen.add(String(r.headers["x-upstream"]));
        await r.body.dump();
      }
      assert.equal(seen.size, 1, `${local} moved between ${[...seen]}`);
    }
  });

  test("least_conn sends a new request to the upstream with fewer in flight", async () => {
    const waiting: http.ServerResponse[] = [];
    const slow = await upstream((_q, res) => waiting.push(res), 0, true);
    const fast = await upstream();
    const s = await proxy({ to: [slow.name, fast.name], balance: "least_conn" });
    const first = get(s.port, "/slow");
    await waitFor(() => waiting.length === 1, "a request held by the slow upstream");
    for (let i = 0; i < 4; i++) assert.equal((await get(s.port, "/")).status, 200);
    assert.equal(fast.requests.length, 4, "all went to the idle upstream");
    waiting[0]!.end("done");
    assert.equal((await first).status, 200);
  });

  test("10,000 sequential requests open only a handful of upstream connections", async () => {
    const up = await upstream((_q, res) => res.end("ok"));
    const s = await proxy({ to: [up.name] });
    const { Client } = await import("undici");
    const client = new Client(`http://127.0.0.1:${s.port}`);
    for (let i = 0; i < 10_000; i++) {
      const r = await client.request({ path: "/", method: "GET" });
      await r.body.text();
    }
    await client.close();
    assert.equal(up.requests.length, 10_000);
    assert.ok(up.connections <= 4, `${up.connections} upstream connections`);
    assert.ok(s.service.upstreams()[0]!.connections <= 4);
  });
});

describe("WebSocket pass-through", () => {
  test("echo through the proxy; the session and its frames are published like Ferry's own", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(wss, "listening");
    after(() => wss.close());
    wss.on("connection", (ws, req) => {
      ws.send(`hello ${req.headers["x-forwarded-for"]}`);
      ws.on("message", (m, binary) => ws.send(m, { binary }));
    });
    const port = (wss.address() as net.AddressInfo).port;
    const sessions: WsSessionEvent[] = [];
    const frames: WsFrameEvent[] = [];
    const onS = (m: unknown) => sessions.push(m as WsSessionEvent);
    const onF = (m: unknown) => frames.push(m as WsFrameEvent);
    diagnostics.subscribe(wsSessionChannel.name, onS);
    diagnostics.subscribe(wsFrameChannel.name, onF);
    after(() => {
      diagnostics.unsubscribe(wsSessionChannel.name, onS);
      diagnostics.unsubscribe(wsFrameChannel.name, onF);
    });
    const s = await proxy({ to: [`127.0.0.1:${port}`] }, {}, "/ws");
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws`, { perMessageDeflate: false });
    const got: string[] = [];
    ws.on("message", (m) => got.push(m.toString()));
    await once(ws, "open");
    ws.send("ping through ferry");
    ws.send(Buffer.from([1, 2, 3]));
    await waitFor(() => got.length >= 3, "three messages");
    assert.equal(got[0], "hello 127.0.0.1");
    assert.equal(got[1], "ping through ferry");
    ws.close(1000, "done");
    await once(ws, "close");
    await waitFor(() => sessions.some((e) => e.kind === "close"), "the session's close");
    const open = sessions.find((e) => e.kind === "open")!;
    assert.equal(open.path, "/ws");
    const mine = frames.filter((f) => f.id === open.id);
    assert.ok(
      mine.some((f) => f.direction === "in" && f.text === "ping through ferry"),
      JSON.stringify(mine),
    );
    assert.ok(mine.some((f) => f.direction === "out" && f.text === "hello 127.0.0.1"));
    assert.ok(mine.some((f) => f.direction === "in" && f.opcode === 2 && f.length === 3));
    assert.equal(sessions.find((e) => e.kind === "close" && e.id === open.id)!.code, 1000);
  });

  test("an upgrade the upstream refuses is relayed as it is; an h2c upgrade is served as a plain request", async () => {
    const up = await upstream((_q, res) => {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end("no websockets here");
    });
    const s = await proxy({ to: [up.name] });
    const r = await rawExchange(
      s.port,
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      { waitClose: true },
    );
    assert.equal(r.responses[0]!.status, 403);
    assert.equal(r.responses[0]!.body.toString(), "no websockets here");
    const h2c = await rawExchange(
      s.port,
      "GET /plain HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      { waitClose: true },
    );
    assert.equal(h2c.responses[0]!.status, 403);
    const last = up.requests[up.requests.length - 1]!;
    assert.equal(last.url, "/plain");
    assert.equal(last.headers.upgrade, undefined, "Upgrade: h2c removed");
    assert.equal(last.headers["http2-settings"], undefined);
  });
});
