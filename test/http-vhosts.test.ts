import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { get, rawExchange, startHttp, type TestServer, tmpSite } from "./helpers.js";

let srv: TestServer;

before(async () => {
  const mk = (name: string) => tmpSite({ "index.html": name });
  srv = await startHttp({
    sites: [
      { hosts: ["a.test"], root: mk("exact a") },
      { hosts: ["*.a.test"], root: mk("wild a") },
      { hosts: ["*.deep.a.test"], root: mk("wild deep") },
      { hosts: ["b.test", "www.b.test"], root: mk("b"), default: true },
    ],
  });
});
after(() => srv.close());

const host = async (h: string) => (await get(srv.port, "/", { Host: h })).body.toString();

test("exact names win over wildcards", async () => {
  assert.equal(await host("a.test"), "exact a");
  assert.equal(await host("www.b.test"), "b");
});

test("wildcards match any depth; the longest wildcard wins", async () => {
  assert.equal(await host("x.a.test"), "wild a");
  assert.equal(await host("x.y.a.test"), "wild a");
  assert.equal(await host("z.deep.a.test"), "wild deep");
});

test("unknown hosts, ports, case and trailing dots", async () => {
  assert.equal(await host("unknown.test"), "b");
  assert.equal(await host("A.TEST:8080"), "exact a");
  assert.equal(await host("a.test."), "exact a");
  assert.equal(await host("127.0.0.1"), "b");
});

test("absolute-form target picks the site by its authority", async () => {
  const r = await rawExchange(
    srv.port,
    "GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n",
  );
  assert.equal(r.responses[0]?.body.toString(), "exact a");
});

test("reload swaps the site table; an open keep-alive connection sees the new sites", async () => {
  const { buildConfig } = await import("../src/core/config/load.js");
  const next = buildConfig(
    {
      http: {
        listen: ["127.0.0.1:0"],
        sites: [{ hosts: ["a.test"], root: tmpSite({ "index.html": "new a" }) }],
      },
    },
    { baseDir: process.cwd(), source: null },
  );
  const req = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
  const net = await import("node:net");
  const sock = net.connect(srv.port, "127.0.0.1");
  const chunks: Buffer[] = [];
  sock.on("data", (c: Buffer) => chunks.push(c));
  await new Promise((r) => sock.once("connect", r));
  sock.write(req);
  await new Promise((r) => setTimeout(r, 100));
  srv.service.reload(next.http!);
  sock.write(req);
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  const text = Buffer.concat(chunks).toString();
  assert.ok(text.includes("exact a"), text);
  assert.ok(text.includes("new a"), text);
});
