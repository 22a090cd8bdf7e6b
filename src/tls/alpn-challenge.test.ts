import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { test } from "node:test";
import tls from "node:tls";
import { clientHelloAlpn } from "./alpn-challenge.js";

/** The first bytes a real TLS client (node's OpenSSL) sends, with `alpn` offered. */
async function clientHello(alpn: string[] | undefined, servername = "www.example.test"): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) =>
    server.once("connection", (s) => {
      s.once("data", (d: Buffer) => {
        resolve(d);
        s.destroy();
      });
    }),
  );
  const c = tls.connect({ port, host: "127.0.0.1", servername, ALPNProtocols: alpn });
  c.on("error", () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

test("clientHelloAlpn reads the ALPN list of real ClientHellos", async () => {
  assert.deepEqual(clientHelloAlpn(await clientHello(["acme-tls/1"])), ["acme-tls/1"]);
  assert.deepEqual(clientHelloAlpn(await clientHello(["h2", "http/1.1"])), ["h2", "http/1.1"]);
  assert.deepEqual(clientHelloAlpn(await clientHello(undefined)), []);
});

test("clientHelloAlpn: incomplete records ask for more; other bytes are not a ClientHello", async () => {
  const hello = await clientHello(["acme-tls/1"]);
  for (const cut of [1, 4, 5, 60, hello.length - 1])
    assert.equal(clientHelloAlpn(hello.subarray(0, cut)), "more");
  assert.equal(clientHelloAlpn(Buffer.from("GET / HTTP/1.1\r\n\r\n")), null);
  assert.equal(
    clientHelloAlpn(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0])),
    null,
    "a handshake that is not a ClientHello",
  );
  // Corrupted ClientHellos (lengths included) never throw or read past the record.
  for (let i = 0; i < 500; i++) {
    const junk = Buffer.from(hello);
    for (let k = 0; k < 8; k++)
      junk[5 + Math.floor(Math.random() * (junk.length - 5))] = Math.floor(Math.random() * 256);
    const out = clientHelloAlpn(junk);
    assert.ok(out === null || out === "more" || Array.isArray(out));
  }
});
