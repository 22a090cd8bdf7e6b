import assert from "node:assert/strict";
import { test } from "node:test";
import { type ForwardContext, requestHeaders, responseHeaders } from "./headers.js";

const NO_RULES = { set: {}, remove: [] };

function ctx(over: Partial<ForwardContext> = {}): ForwardContext {
  return {
    client: "192.0.2.9",
    trusted: false,
    proto: "http",
    host: "app.test",
    websocket: false,
    rules: NO_RULES,
    ...over,
  };
}

/** The flat list as a map of lower-case name → values, for comparison. */
function byName(flat: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    out[name] ??= [];
    out[name].push(flat[i + 1]!);
  }
  return out;
}

const requestCases: {
  name: string;
  raw: string[];
  ctx?: Partial<ForwardContext>;
  want: Record<string, string[] | undefined>;
}[] = [
  {
    name: "hop-by-hop headers and those Connection names are removed",
    raw: [
      "Host",
      "app.test",
      "Connection",
      "keep-alive, X-Secret",
      "Keep-Alive",
      "timeout=5",
      "X-Secret",
      "s",
      "TE",
      "trailers",
      "Trailer",
      "X",
      "Transfer-Encoding",
      "chunked",
      "Proxy-Connection",
      "keep-alive",
      "Upgrade",
      "h2c",
      "Accept",
      "*/*",
    ],
    want: {
      connection: undefined,
      "keep-alive": undefined,
      "x-secret": undefined,
      te: undefined,
      trailer: undefined,
      "transfer-encoding": undefined,
      "proxy-connection": undefined,
      upgrade: undefined,
      accept: ["*/*"],
      host: ["app.test"],
    },
  },
  {
    name: "an untrusted peer's X-Forwarded-* are replaced, Forwarded and X-Real-IP dropped",
    raw: [
      "Host",
      "app.test",
      "X-Forwarded-For",
      "6.6.6.6",
      "X-Forwarded-Proto",
      "https",
      "X-Forwarded-Host",
      "evil.test",
      "Forwarded",
      "for=6.6.6.6",
      "X-Real-IP",
      "6.6.6.6",
    ],
    want: {
      "x-forwarded-for": ["192.0.2.9"],
      "x-forwarded-proto": ["http"],
      "x-forwarded-host": ["app.test"],
      forwarded: undefined,
      "x-real-ip": undefined,
    },
  },
  {
    name: "a trusted proxy's X-Forwarded-For is extended (repeats joined in order), its -Proto and -Host kept",
    raw: [
      "Host",
      "app.test",
      "X-Forwarded-For",
      "203.0.113.1",
      "x-forwarded-for",
      "203.0.113.2",
      "X-Forwarded-Proto",
      "https",
      "X-Forwarded-Host",
      "shop.test",
      "X-Real-IP",
      "203.0.113.1",
    ],
    ctx: { trusted: true },
    want: {
      "x-forwarded-for": ["203.0.113.1, 203.0.113.2, 192.0.2.9"],
      "x-forwarded-proto": ["https"],
      "x-forwarded-host": ["shop.test"],
      "x-real-ip": ["203.0.113.1"],
    },
  },
  {
    name: "Expect is not passed on (Ferry answered 100-continue itself)",
    raw: ["Host", "app.test", "Expect", "100-continue", "Content-Length", "5"],
    want: { expect: undefined, "content-length": ["5"] },
  },
  {
    name: "preserveHost off: the upstream's HOST:PORT, the client's Host in X-Forwarded-Host",
    raw: ["Host", "app.test:8080"],
    ctx: { host: "127.0.0.1:3001" },
    want: { host: ["127.0.0.1:3001"], "x-forwarded-host": ["app.test:8080"] },
  },
  {
    name: "a WebSocket upgrade keeps its handshake headers and says upgrade",
    raw: [
      "Host",
      "app.test",
      "Connection",
      "Upgrade",
      "Upgrade",
      "websocket",
      "Sec-WebSocket-Key",
      "k",
      "Sec-WebSocket-Version",
      "13",
    ],
    ctx: { websocket: true },
    want: {
      connection: ["upgrade"],
      upgrade: ["websocket"],
      "sec-websocket-key": ["k"],
      "sec-websocket-version": ["13"],
    },
  },
  {
    name: "set replaces, remove drops (case-insensitive)",
    raw: ["Host", "app.test", "X-App", "client", "Cookie2", "c"],
    ctx: { rules: { set: { "X-App": "ferry" }, remove: ["cookie2"] } },
    want: { "x-app": ["ferry"], cookie2: undefined },
  },
  {
    name: "repeated end-to-end headers are kept as they came",
    raw: ["Host", "app.test", "Accept", "a", "accept", "b"],
    want: { accept: ["a", "b"] },
  },
];

for (const c of requestCases) {
  test(`request headers: ${c.name}`, () => {
    const got = byName(requestHeaders(c.raw, ctx(c.ctx)));
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k], v, k);
    assert.equal(got.host?.length, 1, "exactly one Host");
  });
}

test("response headers: hop-by-hop and Connection-named removed, repeats kept, rules applied", () => {
  const got = byName(
    responseHeaders(
      [
        "Connection",
        "close, X-Internal",
        "X-Internal",
        "1",
        "Keep-Alive",
        "timeout=5",
        "Transfer-Encoding",
        "chunked",
        "Set-Cookie",
        "a=1",
        "Set-Cookie",
        "b=2",
        "Server",
        "app",
        "Content-Type",
        "text/plain",
      ],
      { set: { "X-Via": "ferry" }, remove: ["server"] },
    ),
  );
  assert.deepEqual(got["set-cookie"], ["a=1", "b=2"]);
  for (const h of ["connection", "x-internal", "keep-alive", "transfer-encoding", "server"])
    assert.equal(got[h], undefined, h);
  assert.deepEqual(got["x-via"], ["ferry"]);
  assert.deepEqual(got["content-type"], ["text/plain"]);
});

test("response headers: a 101 keeps Upgrade and Connection", () => {
  const got = byName(
    responseHeaders(
      ["Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "x"],
      NO_RULES,
      true,
    ),
  );
  assert.deepEqual(got.upgrade, ["websocket"]);
  assert.deepEqual(got.connection, ["Upgrade"]);
  assert.deepEqual(got["sec-websocket-accept"], ["x"]);
});
