/**
 * RFC 6455 / 7692 conformance over raw sockets, grouped like the
 * Autobahn|Testsuite: framing, pings, reserved bits, opcodes, fragmentation,
 * UTF-8, close codes, limits, compression, and the handshake. After each
 * violation another client checks that the server still serves.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { deflatePayload, inflatePayload, RawPeer, type RealtimeServer, startRealtime } from "./ws-raw.js";

let server: RealtimeServer;

before(async () => {
  server = await startRealtime([
    {
      path: "/ws",
      publishKey: "test-key-123",
      maxMessageSize: "64KiB",
      deflate: { threshold: 100 },
      channels: [{ match: "echo:*", publish: true }, { match: "*" }],
    },
    { path: "/strict", origins: ["http://good.test"], protocols: ["ferry.v1", "chat"], deflate: false },
  ]);
});
after(() => server.close());

/** A subscribed peer: whatever it publishes on its echo channel comes back. */
async function echoPeer(headers: Record<string, string | null> = {}): Promise<RawPeer> {
  const p = await RawPeer.connect(server.port, "/ws?subscribe=echo:me", headers);
  assert.equal(p.response.status, 101);
  assert.equal((await p.message()).type, "subscribed");
  return p;
}

/** The server still answers a fresh client. */
async function stillServing(): Promise<void> {
  const p = await echoPeer();
  p.json({ type: "publish", channel: "echo:me", data: "alive" });
  let m = await p.message();
  while (m.type !== "message") m = await p.message();
  assert.equal(m.data, "alive");
  p.destroy();
}

async function expectClose(p: RawPeer, code: number): Promise<void> {
  const end = await p.closing();
  assert.equal(end.code, code, `expected close ${code}, got ${end.code} (${end.reason})`);
}

describe("1 framing", () => {
  for (const size of [0, 125, 126, 65_535 - 100, 30_000]) {
    test(`text message with ${size} bytes of data round-trips`, async () => {
      const p = await echoPeer({ "Sec-WebSocket-Extensions": null });
      const data = "x".repeat(size);
      p.json({ type: "publish", channel: "echo:me", data, id: 7 });
      const got = [await p.message(), await p.message()];
      const msg = got.find((m) => m.type === "message")!;
      assert.equal(msg.data, data);
      assert.ok(got.some((m) => m.type === "published" && m.id === 7));
      p.destroy();
    });
  }
  test("a frame split into single bytes on the wire is reassembled", async () => {
    const p = await echoPeer();
    const { rawFrame } = await import("./ws-raw.js");
    const bytes = rawFrame({
      opcode: 1,
      payload: JSON.stringify({ type: "publish", channel: "echo:me", data: 42 }),
    });
    for (const b of bytes) {
      p.socket.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    const msgs = [await p.message(), await p.message()];
    assert.ok(msgs.some((m) => m.type === "message" && m.data === 42));
    p.destroy();
  });
  test("binary messages get an error reply and the connection stays open", async () => {
    const p = await echoPeer();
    p.send({ opcode: 2, payload: Buffer.from([1, 2, 3]) });
    const m = await p.message();
    assert.equal(m.type, "error");
    assert.equal(m.code, "bad_message");
    p.json({ type: "unsubscribe", channel: "echo:me" });
    assert.equal((await p.message()).type, "unsubscribed");
    p.destroy();
  });
  test("an unmasked client frame closes with 1002", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: "{}", mask: false });
    await expectClose(p, 1002);
    await stillServing();
  });
});

describe("2 pings and pongs", () => {
  test("a ping gets a pong with the same payload", async () => {
    const p = await echoPeer();
    p.send({ opcode: 9, payload: "hello ping" });
    const f = await p.frame();
    assert.equal(f.opcode, 10);
    assert.equal(f.payload.toString(), "hello ping");
    p.destroy();
  });
  test("a 125-byte ping is answered", async () => {
    const p = await echoPeer();
    const payload = Buffer.alloc(125, 0xfe);
    p.send({ opcode: 9, payload });
    const f = await p.frame();
    assert.equal(f.opcode, 10);
    assert.deepEqual(f.payload, payload);
    p.destroy();
  });
  test("a 126-byte ping closes with 1002", async () => {
    const p = await echoPeer();
    p.send({ opcode: 9, payload: Buffer.alloc(126) });
    await expectClose(p, 1002);
    await stillServing();
  });
  test("an unsolicited pong is ignored", async () => {
    const p = await echoPeer();
    p.send({ opcode: 10, payload: "unasked" });
    p.send({ opcode: 9, payload: "after" });
    const f = await p.frame();
    assert.equal(f.opcode, 10);
    assert.equal(f.payload.toString(), "after");
    p.destroy();
  });
  test("a fragmented ping closes with 1002", async () => {
    const p = await echoPeer();
    p.send({ opcode: 9, payload: "a", fin: false });
    await expectClose(p, 1002);
  });
});

describe("3 reserved bits", () => {
  for (const rsv of [1, 2, 4, 7]) {
    test(`RSV=${rsv} without an extension closes with 1002`, async () => {
      const p = await echoPeer({ "Sec-WebSocket-Extensions": null });
      p.send({ opcode: 1, payload: "{}", rsv });
      await expectClose(p, 1002);
    });
  }
  test("RSV1 on a ping closes with 1002 even with deflate", async () => {
    const p = await echoPeer({ "Sec-WebSocket-Extensions": "permessage-deflate" });
    p.send({ opcode: 9, payload: "", rsv: 4 });
    await expectClose(p, 1002);
  });
});

describe("4 opcodes", () => {
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    test(`reserved opcode ${opcode} closes with 1002`, async () => {
      const p = await echoPeer();
      p.send({ opcode, payload: "x" });
      await expectClose(p, 1002);
    });
  }
});

describe("5 fragmentation", () => {
  const body = JSON.stringify({ type: "publish", channel: "echo:me", data: "fragmented ✓" });
  test("a message in three fragments with a ping between them", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: body.slice(0, 10), fin: false });
    p.send({ opcode: 9, payload: "mid" });
    p.send({ opcode: 0, payload: body.slice(10, 20), fin: false });
    p.send({ opcode: 0, payload: body.slice(20) });
    const pong = await p.frame();
    assert.equal(pong.opcode, 10);
    const msgs = [await p.message(), await p.message()];
    assert.ok(msgs.some((m) => m.type === "message" && m.data === "fragmented ✓"));
    p.destroy();
  });
  test("one-byte fragments, empty ones included", async () => {
    const p = await echoPeer();
    const bytes = Buffer.from(body);
    p.send({ opcode: 1, payload: bytes.subarray(0, 1), fin: false });
    p.send({ opcode: 0, payload: Buffer.alloc(0), fin: false });
    for (let i = 1; i < bytes.length; i++)
      p.send({ opcode: 0, payload: bytes.subarray(i, i + 1), fin: i === bytes.length - 1 });
    const msgs = [await p.message(), await p.message()];
    assert.ok(msgs.some((m) => m.type === "message" && m.data === "fragmented ✓"));
    p.destroy();
  });
  test("a continuation with nothing to continue closes with 1002", async () => {
    const p = await echoPeer();
    p.send({ opcode: 0, payload: "x" });
    await expectClose(p, 1002);
  });
  test("a new text frame inside a fragmented message closes with 1002", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: "{", fin: false });
    p.send({ opcode: 1, payload: "}" });
    await expectClose(p, 1002);
    await stillServing();
  });
});

describe("6 UTF-8", () => {
  test("invalid UTF-8 in a text message closes with 1007", async () => {
    const p = await echoPeer();
    p.send({
      opcode: 1,
      payload: Buffer.from([0x7b, 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xed, 0xa0, 0x80, 0x7d]),
    });
    await expectClose(p, 1007);
    await stillServing();
  });
  test("a code point split across fragments is valid", async () => {
    const p = await echoPeer();
    const bytes = Buffer.from(JSON.stringify({ type: "publish", channel: "echo:me", data: "€𝄞" }));
    const cut = bytes.indexOf(0xe2) + 1;
    p.send({ opcode: 1, payload: bytes.subarray(0, cut), fin: false });
    p.send({ opcode: 0, payload: bytes.subarray(cut, cut + 5), fin: false });
    p.send({ opcode: 0, payload: bytes.subarray(cut + 5) });
    const msgs = [await p.message(), await p.message()];
    assert.ok(msgs.some((m) => m.type === "message" && m.data === "€𝄞"));
    p.destroy();
  });
  test("fails fast: an invalid first fragment closes before the message ends", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80]), fin: false });
    await expectClose(p, 1007);
  });
  test("fails fast on a bad prefix left open at the end of a fragment", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: Buffer.from([0x22, 0xed, 0xa0]), fin: false });
    await expectClose(p, 1007);
  });
  test("a message that ends inside a code point closes with 1007", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: Buffer.from([0x22, 0xe2, 0x82]), fin: false });
    p.send({ opcode: 0, payload: Buffer.alloc(0) });
    await expectClose(p, 1007);
  });
});

describe("7 close handshake", () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
    test(`close ${code} is echoed and the server closes TCP`, async () => {
      const p = await echoPeer();
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      p.send({ opcode: 8, payload: Buffer.concat([payload, Buffer.from("bye")]) });
      await expectClose(p, code);
    });
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
    test(`invalid close code ${code} closes with 1002`, async () => {
      const p = await echoPeer();
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      p.send({ opcode: 8, payload });
      await expectClose(p, 1002);
    });
  }
  test("an empty close is answered with an empty close", async () => {
    const p = await echoPeer();
    p.send({ opcode: 8 });
    await expectClose(p, 1005);
  });
  test("a 1-byte close payload closes with 1002", async () => {
    const p = await echoPeer();
    p.send({ opcode: 8, payload: Buffer.from([3]) });
    await expectClose(p, 1002);
  });
  test("a close reason that is not UTF-8 closes with 1007", async () => {
    const p = await echoPeer();
    p.send({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) });
    await expectClose(p, 1007);
  });
  test("frames after a close are ignored", async () => {
    const p = await echoPeer();
    p.send({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) });
    p.json({ type: "publish", channel: "echo:me", data: "late" });
    const end = await p.closing();
    assert.equal(end.code, 1000);
    assert.equal(end.frames.length, 0);
  });
});

describe("9 limits", () => {
  test("a message over maxMessageSize closes with 1009", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: "x".repeat(64 * 1024 + 1) });
    await expectClose(p, 1009);
    await stillServing();
  });
  test("fragments that add up to more than the limit close with 1009", async () => {
    const p = await echoPeer();
    p.send({ opcode: 1, payload: "x".repeat(40_000), fin: false });
    p.send({ opcode: 0, payload: "x".repeat(40_000) });
    await expectClose(p, 1009);
  });
  test("a 64-bit length with the high bits set closes with 1009", async () => {
    const p = await echoPeer();
    const head = Buffer.from([0x81, 0xff, 0x7f, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    p.socket.write(head);
    await expectClose(p, 1009);
  });
});

describe("12-13 permessage-deflate", () => {
  test("negotiation answers with server_no_context_takeover and honours the offer", async () => {
    const cases: [string, string | undefined][] = [
      ["permessage-deflate", "permessage-deflate; server_no_context_takeover"],
      [
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
      ],
      [
        "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
      ],
      [
        "permessage-deflate; server_max_window_bits=8, permessage-deflate",
        "permessage-deflate; server_no_context_takeover",
      ],
      ["permessage-deflate; unknown_param", undefined],
      ["permessage-deflate; server_max_window_bits=16", undefined],
      ["permessage-deflate; client_no_context_takeover; client_no_context_takeover", undefined],
      ["x-webkit-deflate-frame", undefined],
    ];
    for (const [offer, answer] of cases) {
      const p = await RawPeer.connect(server.port, "/ws", { "Sec-WebSocket-Extensions": offer });
      assert.equal(p.response.status, 101);
      assert.equal(p.response.headers["sec-websocket-extensions"], answer, offer);
      p.destroy();
    }
  });
  test("a compressed client message is inflated, and large replies come compressed", async () => {
    const p = await echoPeer({ "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" });
    const data = "ticker ".repeat(100);
    p.send({
      opcode: 1,
      rsv: 4,
      payload: deflatePayload(JSON.stringify({ type: "publish", channel: "echo:me", data })),
    });
    let f = await p.frame();
    while (f.payload.toString().includes("published")) f = await p.frame();
    assert.equal(f.rsv1, true, "a message over the threshold is compressed");
    assert.ok(f.payload.length < 200);
    assert.equal(JSON.parse(inflatePayload(f.payload).toString()).data, data);
    p.destroy();
  });
  test("with context takeover, later messages may refer back to earlier ones", async () => {
    const zlib = await import("node:zlib");
    const p = await echoPeer({ "Sec-WebSocket-Extensions": "permessage-deflate" });
    const stream = zlib.createDeflateRaw();
    const compress = (text: string) =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const onData = (c: Buffer) => chunks.push(c);
        stream.on("data", onData);
        stream.write(text);
        stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          stream.removeListener("data", onData);
          const out = Buffer.concat(chunks);
          resolve(out.subarray(0, out.length - 4));
        });
      });
    for (let i = 0; i < 3; i++) {
      const msg = JSON.stringify({ type: "publish", channel: "echo:me", data: `same words again ${i}` });
      p.send({ opcode: 1, rsv: 4, payload: await compress(msg) });
      const got = [await p.message(), await p.message()];
      assert.ok(got.some((m) => m.type === "message" && m.data === `same words again ${i}`));
    }
    stream.close();
    p.destroy();
  });
  test("a compressed message that inflates past the limit closes with 1009", async () => {
    const p = await echoPeer({ "Sec-WebSocket-Extensions": "permessage-deflate" });
    p.send({ opcode: 1, rsv: 4, payload: deflatePayload(Buffer.alloc(200_000, 0x20)) });
    await expectClose(p, 1009);
    await stillServing();
  });
  test("garbage in a compressed frame closes with 1007", async () => {
    const p = await echoPeer({ "Sec-WebSocket-Extensions": "permessage-deflate" });
    p.send({ opcode: 1, rsv: 4, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]) });
    await expectClose(p, 1007);
  });
});

describe("handshake", () => {
  test("101 with the accept value, and no extension when none is offered", async () => {
    const p = await RawPeer.connect(server.port, "/ws", { "Sec-WebSocket-Extensions": null });
    assert.equal(p.response.status, 101);
    assert.equal(p.response.headers.upgrade, "websocket");
    assert.equal(p.response.headers["sec-websocket-extensions"], undefined);
    p.destroy();
  });
  const bad: [string, Record<string, string | null>, number, string?][] = [
    ["no key", { "Sec-WebSocket-Key": null }, 400],
    ["a key of 15 bytes", { "Sec-WebSocket-Key": Buffer.alloc(15).toString("base64") }, 400],
    ["version 8", { "Sec-WebSocket-Version": "8" }, 400, "13"],
    ["no version", { "Sec-WebSocket-Version": null }, 400, "13"],
    ["Connection without upgrade", { Connection: "keep-alive, Upgrade-Insecure" }, 400],
  ];
  for (const [name, headers, status, version] of bad) {
    test(`${name} gets ${status}`, async () => {
      const p = await RawPeer.connect(server.port, "/ws", headers);
      assert.equal(p.response.status, status);
      if (version) assert.equal(p.response.headers["sec-websocket-version"], version);
      p.destroy();
    });
  }
  test("an upgrade by POST gets 400", async () => {
    const p = await RawPeer.connect(server.port, "/ws", { "Content-Length": "0" }, "POST");
    assert.equal(p.response.status, 400);
    p.destroy();
  });
  test("an origin outside the allow-list gets 403; a listed one and none pass", async () => {
    const no = await RawPeer.connect(server.port, "/strict", { Origin: "http://evil.test" });
    assert.equal(no.response.status, 403);
    no.destroy();
    const yes = await RawPeer.connect(server.port, "/strict", { Origin: "http://good.test" });
    assert.equal(yes.response.status, 101);
    yes.destroy();
    const none = await RawPeer.connect(server.port, "/strict");
    assert.equal(none.response.status, 101);
    none.destroy();
  });
  test("the first offered subprotocol the server speaks is chosen", async () => {
    const p = await RawPeer.connect(server.port, "/strict", {
      "Sec-WebSocket-Protocol": "mqtt, chat, ferry.v1",
    });
    assert.equal(p.response.headers["sec-websocket-protocol"], "chat");
    p.destroy();
    const q = await RawPeer.connect(server.port, "/strict", { "Sec-WebSocket-Protocol": "mqtt" });
    assert.equal(q.response.status, 101);
    assert.equal(q.response.headers["sec-websocket-protocol"], undefined);
    q.destroy();
  });
  test("an upgrade on a path that is not realtime is answered as a plain request", async () => {
    const p = await RawPeer.connect(server.port, "/index.html");
    assert.equal(p.response.status, 200);
    assert.equal(p.response.headers.connection, "close");
    p.destroy();
  });
  test("a plain GET on the realtime path gets 426", async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/ws`);
    assert.equal(res.status, 426);
    assert.equal(res.headers.get("upgrade"), "websocket");
  });
  test("bytes sent right behind the handshake are not lost", async () => {
    const { rawFrame } = await import("./ws-raw.js");
    const net = await import("node:net");
    const s = net.connect({ host: "127.0.0.1", port: server.port });
    await new Promise((r) => s.once("connect", r));
    const key = Buffer.alloc(16, 7).toString("base64");
    s.write(
      Buffer.concat([
        Buffer.from(
          `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
        rawFrame({ opcode: 9, payload: "early" }),
      ]),
    );
    const got = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      s.on("data", (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.includes("early")) resolve(buf);
      });
    });
    assert.ok(got.toString("latin1").startsWith("HTTP/1.1 101"));
    s.destroy();
  });
});
