import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HttpApp } from "../src/app/http.js";
import { ConfigError } from "../src/core/errors.js";
import { DnsService } from "../src/dns/service.js";
import { RRType } from "../src/dns/wire/constants.js";
import { decodeMessage } from "../src/dns/wire/reader.js";
import { buildConfig } from "./engine-under-test.js";
import { get, needTool, rawExchange, tmpSite } from "./helpers.js";
import { must, query } from "./knot.js";

const zoneFile = fileURLToPath(new URL("../../test/fixtures/dns/example.test.zone", import.meta.url));
let dns: DnsService;
let http: HttpApp;
let port = 0;

before(async () => {
  const config = buildConfig(
    {
      dns: { listen: ["127.0.0.1:0"], zones: [{ file: zoneFile, origin: "example.test" }] },
      http: {
        listen: ["127.0.0.1:0"],
        sites: [
          { hosts: ["doh.test"], root: tmpSite({ "index.html": "doh site" }), dnsOverHttps: true },
          { hosts: ["plain.test"], root: tmpSite({ "index.html": "plain" }) },
        ],
      },
    },
    { baseDir: process.cwd(), source: null },
  );
  dns = await DnsService.start(config.dns!);
  http = await HttpApp.start(config.http!, dns.answerHttp);
  port = http.addresses[0]!.port;
});

after(async () => {
  await http.close(100);
  await dns.close();
});

const b64 = (b: Buffer) => b.toString("base64url");

test("GET ?dns= answers with application/dns-message and max-age = the smallest TTL", async () => {
  const q = query("www.example.test", RRType.A, { id: 0 });
  const r = await get(port, `/dns-query?dns=${b64(q)}`, {
    Host: "doh.test",
    Accept: "application/dns-message",
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "application/dns-message");
  assert.equal(r.headers["cache-control"], "max-age=300");
  const m = decodeMessage(r.body);
  assert.deepEqual(m.answers[0]!.data, { type: "a", address: "192.0.2.10" });
  // The same bytes as the answer over DNS-over-TCP.
  assert.deepEqual(r.body, await must(dns.addresses[0]!.port, q, true));
});

test("POST application/dns-message; NXDOMAIN gets the negative TTL as max-age", async () => {
  const q = query("nope.example.test", RRType.A, { id: 0 });
  const head = `POST /dns-query HTTP/1.1\r\nHost: doh.test\r\nContent-Type: application/dns-message\r\nContent-Length: ${q.length}\r\nConnection: close\r\n\r\n`;
  const r = (await rawExchange(port, Buffer.concat([Buffer.from(head), q]))).responses[0]!;
  assert.equal(r.status, 200);
  assert.equal(decodeMessage(r.body).rcode, 3);
  assert.equal(r.headers["cache-control"], "max-age=60");
});

test("bad DoH requests get 400, 415 and 405", async () => {
  assert.equal((await get(port, "/dns-query", { Host: "doh.test" })).status, 400);
  assert.equal((await get(port, "/dns-query?dns=***", { Host: "doh.test" })).status, 400);
  assert.equal((await get(port, "/dns-query?dns=AAAA", { Host: "doh.test" })).status, 400);
  const wrongType =
    "POST /dns-query HTTP/1.1\r\nHost: doh.test\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
  assert.equal((await rawExchange(port, wrongType)).responses[0]!.status, 415);
  const put = await get(port, "/dns-query", { Host: "doh.test", "Content-Length": "0" }, "PUT");
  assert.equal(put.status, 405);
  assert.equal(put.headers.allow, "GET, HEAD, POST");
});

test("only sites that enable it answer DoH; the rest of the site is static as usual", async () => {
  assert.equal((await get(port, "/dns-query?dns=AAAA", { Host: "plain.test" })).status, 404);
  assert.equal((await get(port, "/", { Host: "doh.test" })).body.toString(), "doh site");
});

test("curl as a DoH client (GET and POST)", async (t) => {
  if (!needTool(t, "curl", "curl")) return;
  const q = query("example.test", RRType.MX, { id: 0 });
  const run = (args: string[]) =>
    new Promise<Buffer>((resolve) =>
      execFile("curl", ["-sS", ...args], { encoding: "buffer" }, (_e, out) => resolve(out)),
    );
  const viaGet = await run(["-H", "Host: doh.test", `http://127.0.0.1:${port}/dns-query?dns=${b64(q)}`]);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "ferry-doh-")), "query.bin");
  writeFileSync(file, q);
  const viaPost = await run([
    "-H",
    "Host: doh.test",
    "-H",
    "Content-Type: application/dns-message",
    "--data-binary",
    `@${file}`,
    `http://127.0.0.1:${port}/dns-query`,
  ]);
  assert.equal(decodeMessage(viaGet).answers[0]!.type, RRType.MX);
  assert.deepEqual(viaPost, viaGet);
});

test("dnsOverHttps without a dns section is a config error", () => {
  assert.throws(
    () =>
      buildConfig(
        { http: { sites: [{ root: ".", dnsOverHttps: true }] } },
        { baseDir: process.cwd(), source: null },
      ),
    (err: unknown) => err instanceof ConfigError && err.problems[0]!.key === "http.sites[0].dnsOverHttps",
  );
});
