/**
 * The request parser's rules as RFC 9112 states them, one row per rule,
 * and properties: a request parses the same however its bytes are split,
 * and random bytes never throw nor make the parser hold more than its limits.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parse, request, splitAt, wire } from "../../../test/h1-feed.js";
import { type H1Failure, type H1Head, H1Parser } from "./h1-parser.js";

const LIMITS = { maxRequestLine: 1024, maxHeaderSize: 2048, maxHeaderCount: 20 };

const one = (text: string) => parse([Buffer.from(text, "latin1")], LIMITS);

// [rule, request, expected: a failure, or what the one request parsed to]
type Expect =
  | H1Failure
  | { method?: string; target?: string; minor?: number; headers?: string[]; body?: string };
const rows: [string, string, Expect][] = [
  // §3 request line
  ["origin-form", "GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n", { method: "GET", target: "/a?b=1", minor: 1 }],
  ["absolute-form", "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n", { target: "http://x/a" }],
  ["asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", { method: "OPTIONS", target: "*" }],
  ["HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", { minor: 0 }],
  ["an extension method (a token)", "PURGE / HTTP/1.1\r\nHost: x\r\n\r\n", { method: "PURGE" }],
  ["one empty line before the request line is ignored (§2.2)", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", {}],
  ["method not a token", "G(T / HTTP/1.1\r\n\r\n", "method"],
  ["two spaces", "GET  / HTTP/1.1\r\n\r\n", "request-line"],
  ["no version", "GET /\r\n\r\n", "request-line"],
  ["lower-case protocol", "GET / http/1.1\r\n\r\n", "version"],
  ["HTTP/2.0 as text (505)", "GET / HTTP/2.0\r\n\r\n", "unsupported-version"],
  ["HTTP/1.2 (505)", "GET / HTTP/1.2\r\n\r\n", "unsupported-version"],
  ["HTTP/0.9 (505)", "GET / HTTP/0.9\r\n\r\n", "unsupported-version"],
  ["two-digit version", "GET / HTTP/1.10\r\n\r\n", "version"],
  ["a space in the target", "GET /a b HTTP/1.1\r\n\r\n", "version"],
  ["a tab in the target", "GET /a\tb HTTP/1.1\r\n\r\n", "target"],
  ["NUL in the target", "GET /a\0 HTTP/1.1\r\n\r\n", "target"],
  ["DEL in the target", "GET /a\x7f HTTP/1.1\r\n\r\n", "target"],
  ["bare LF after the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", "line-ending"],
  ["bare CR in the request line", "GET /\r HTTP/1.1\r\n\r\n", "target"],
  // §5 fields
  [
    "names and values as sent, OWS trimmed",
    "GET / HTTP/1.1\r\nHost: x\r\nX-A:  v 1 \t\r\nx-b:\r\n\r\n",
    { headers: ["Host", "x", "X-A", "v 1", "x-b", ""] },
  ],
  [
    "obs-text in a value",
    "GET / HTTP/1.1\r\nHost: x\r\nX: caf\xe9\r\n\r\n",
    { headers: ["Host", "x", "X", "caf\xe9"] },
  ],
  ["whitespace before the colon (§5.1)", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "header-name"],
  ["no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", "header-name"],
  ["empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", "header-name"],
  ["name not a token", "GET / HTTP/1.1\r\nX@Y: 1\r\n\r\n", "header-name"],
  ["obs-fold (§5.2)", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "obs-fold"],
  ["obs-fold with a tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", "obs-fold"],
  ["NUL in a value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", "header-value"],
  ["a control character in a value", "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", "header-value"],
  ["bare CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "header-value"],
  ["bare LF ending a field", "GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", "line-ending"],
  ["bare LF ending the head", "GET / HTTP/1.1\r\nX: a\r\n\n", "line-ending"],
  // §6 framing
  ["Content-Length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", { body: "hello" }],
  ["Content-Length 0", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", { body: "" }],
  [
    "two Content-Lengths",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
    "duplicate-content-length",
  ],
  ["a Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", "content-length"],
  ["a signed Content-Length", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", "content-length"],
  ["an empty Content-Length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "content-length"],
  [
    "a 16-digit Content-Length",
    "POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n",
    "content-length",
  ],
  [
    "Content-Length with Transfer-Encoding (§6.3)",
    "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "content-length-with-transfer-encoding",
  ],
  [
    "chunked",
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    { body: "hello world" },
  ],
  [
    "chunked, any case, with extensions and trailers",
    'POST / HTTP/1.1\r\nTransfer-Encoding: ChUnKeD\r\n\r\nA;name="v";x\r\n0123456789\r\n0\r\nT: 1\r\nU: 2\r\n\r\n',
    { body: "0123456789" },
  ],
  ["chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "transfer-encoding"],
  [
    "chunked twice in two fields",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    "transfer-encoding",
  ],
  [
    "chunked not last",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
    "transfer-encoding",
  ],
  [
    "a coding Ferry does not implement (501)",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "transfer-coding",
  ],
  ["only an unknown coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer-coding"],
  ["an empty Transfer-Encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", "transfer-encoding"],
  [
    "Transfer-Encoding on HTTP/1.0 (§6.1)",
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    "transfer-encoding",
  ],
  ["a chunk size not hex", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk-size"],
  ["a signed chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "chunk-size"],
  ["an empty chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk-size"],
  [
    "a space after the chunk size",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n",
    "chunk-size",
  ],
  ["13 hex digits", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000\r\n", "chunk-size"],
  [
    "chunk data longer than its size",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    "chunk-end",
  ],
  [
    "a bare LF after a chunk size",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n",
    "line-ending",
  ],
  [
    "a control character in an extension",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;\x01\r\n",
    "chunk-extension",
  ],
  // chunk extensions (§7.1.1): `;` token [`=` token / quoted-string], no whitespace (as llhttp)
  [
    "extensions: a name, a token value, a quoted value with an escape",
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a;b=c;d="e \\"f\\" ;g"\r\nab\r\n0\r\n\r\n',
    { body: "ab" },
  ],
  ...(
    [
      ["a space inside an extension", "2;a b"],
      ["an empty extension", "2;"],
      ["an unbalanced quote", '2;a="b'],
      ["obs-text in an extension name", "2;\xe9"],
      ["two equals signs", "2;a==b"],
      ["an empty value", "2;a="],
      ["a token after a quoted value", '2;a="b"c'],
      ["a control character in a quoted value", '2;a="\x01"'],
    ] as const
  ).map(([rule, line]): [string, string, Expect] => [
    `chunk extension refused: ${rule}`,
    `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${line}\r\nab\r\n0\r\n\r\n`,
    "chunk-extension",
  ]),
  [
    "an unbalanced quote cannot hide the next lines",
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a="\r\nab\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n"\r\n',
    "chunk-extension",
  ],
  [
    "chunked followed by an empty element",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n",
    "transfer-encoding",
  ],
  [
    "chunked , (space, comma)",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked ,\r\n\r\n",
    "transfer-encoding",
  ],
  ["chunked, (comma, space)", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, \r\n\r\n", "transfer-encoding"],
  [
    "empty elements before chunked are allowed",
    "POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
    { body: "" },
  ],
  [
    "a tab after Content-Length's digits",
    "POST / HTTP/1.1\r\nContent-Length: 2\t\r\n\r\nab",
    "content-length",
  ],
  [
    "a space after Content-Length's digits",
    "POST / HTTP/1.1\r\nContent-Length: 2 \r\n\r\nab",
    { body: "ab" },
  ],
  [
    "a Content-Length trailer (RFC 9110 §6.5.1)",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\ncontent-Length: 5\r\n\r\n",
    "trailer-framing",
  ],
  [
    "a Transfer-Encoding trailer",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-encoding: chunked\r\n\r\n",
    "trailer-framing",
  ],
  [
    "trailers whose names only begin like framing ones",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Lengths: 5\r\nContent-Type: x\r\nTransfer-Encodings: 1\r\n\r\n",
    { body: "" },
  ],
  ["two empty lines before the request line (as llhttp)", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", {}],
  ["a CR without LF before the request line", "\r\r\nGET / HTTP/1.1\r\n\r\n", "line-ending"],
  [
    "a malformed trailer",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: 1\r\n\r\n",
    "header-name",
  ],
  // limits
  [
    "a request line past maxRequestLine (414)",
    `GET /${"a".repeat(1100)} HTTP/1.1\r\n\r\n`,
    "long-request-line",
  ],
  [
    "a request line just past the bound, target within it (414)",
    `GET /${"a".repeat(1080)} HTTP/1.1\r\n\r\n`,
    "long-request-line",
  ],
  ["too many fields (431)", `GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(21)}\r\n`, "too-many-headers"],
  ["a head past both limits (431)", `GET / HTTP/1.1\r\nX: ${"a".repeat(4000)}\r\n\r\n`, "head-too-large"],
];

describe("RFC 9112 rules", () => {
  for (const [rule, text, expect] of rows) {
    test(rule, () => {
      const r = one(text);
      if (typeof expect === "string") {
        assert.equal(r.failure, expect);
        return;
      }
      assert.equal(r.failure, null, `refused: ${r.failure}`);
      assert.equal(r.heads.length, 1);
      const h = r.heads[0]!;
      if (expect.method !== undefined) assert.equal(h.method, expect.method);
      if (expect.target !== undefined) assert.equal(h.target, expect.target);
      if (expect.minor !== undefined) assert.equal(h.versionMinor, expect.minor);
      if (expect.headers !== undefined) assert.deepEqual(h.rawHeaders, expect.headers);
      if (expect.body !== undefined) assert.deepEqual(r.bodies, [expect.body]);
    });
  }
});

describe("what the head tells the connection", () => {
  const cases: [string, string, Partial<H1Head>][] = [
    ["HTTP/1.1 persists", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { keepAlive: true, upgrade: false }],
    ["Connection: close", "GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", { keepAlive: false }],
    ["HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", { keepAlive: false }],
    ["HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", { keepAlive: true }],
    [
      "a WebSocket upgrade",
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
      { upgrade: true },
    ],
    [
      "Upgrade without Connection: upgrade",
      "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
      { upgrade: false },
    ],
    ["CONNECT hands the connection over", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", { upgrade: true }],
    [
      "Expect: 100-continue",
      "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
      { expectContinue: true },
    ],
    ["Host and its count", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", { host: "b", hostCount: 2 }],
    [
      "a Connection element is compared whole: `keep-alive x` is not keep-alive",
      "GET / HTTP/1.0\r\nConnection: keep-alive x\r\n\r\n",
      { keepAlive: false },
    ],
    ["`close x` is not close", "GET / HTTP/1.1\r\nConnection: close x\r\n\r\n", { keepAlive: true }],
    [
      "OWS around elements is trimmed",
      "GET / HTTP/1.1\r\nConnection: a ,\tclose\t, b\r\n\r\n",
      { keepAlive: false },
    ],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => {
      const h = one(text).heads[0]!;
      for (const [k, v] of Object.entries(want)) assert.equal(h[k as keyof H1Head], v, k);
    });
  }

  test("pipelined requests: execute stops after each, and the rest parses next", () => {
    const r = one(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET /3 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.deepEqual(
      r.heads.map((h) => h.target),
      ["/1", "/2", "/3"],
    );
    assert.deepEqual(r.bodies, ["", "ab", ""]);
  });

  test("after an upgrade's head the parser stops: the rest is the new protocol's", () => {
    const text =
      "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00GET / HTTP/1.1\r\n\r\n";
    const buf = Buffer.from(text, "latin1");
    let heads = 0;
    const p = new H1Parser(LIMITS, { onHead: () => heads++, onBody: () => {}, onComplete: () => {} });
    const at = p.execute(buf, 0, buf.length);
    assert.equal(heads, 1);
    assert.equal(buf.subarray(at, at + 2).toString("latin1"), "\x81\x00");
    assert.equal(p.execute(buf, at, buf.length), at, "parsed past the upgrade");
  });
});

describe("the same answer however the bytes arrive (the edges of each bound)", () => {
  const edges: [string, string][] = [
    ["two empty lines before the request line", "\r\n\r\nGET / HTTP/1.1\r\n\r\n"],
    ["one empty line before the request line", "\r\nGET / HTTP/1.1\r\n\r\n"],
    ...[1085, 1086, 1087, 1088, 1089, 1090].map((n): [string, string] => [
      `a request line of ${n} bytes`,
      `GET /${"a".repeat(n - 15)} HTTP/1.1\r\n\r\n`,
    ]),
    ...[3126, 3127, 3128, 3129, 3130, 3131].map((n): [string, string] => [
      `a head of ${n} bytes`,
      `GET / HTTP/1.1\r\nX: ${"a".repeat(n - 23)}\r\n\r\n`,
    ]),
  ];
  for (const [name, text] of edges) {
    test(name, () => {
      const bytes = Buffer.from(text, "latin1");
      const whole = parse([bytes], LIMITS);
      for (let cut = 1; cut < bytes.length; cut++) {
        const split = parse([bytes.subarray(0, cut), bytes.subarray(cut)], LIMITS);
        assert.equal(split.failure, whole.failure, `cut at ${cut}`);
        assert.equal(split.heads.length, whole.heads.length, `cut at ${cut}`);
      }
    });
  }
});

describe("properties", () => {
  test("a valid request parses to what was sent, however its bytes are split", () => {
    fc.assert(
      fc.property(request, fc.array(fc.nat(), { maxLength: 12 }), (r, cuts) => {
        const bytes = wire(r);
        const whole = parse([bytes], LIMITS);
        const split = parse(splitAt(bytes, cuts), LIMITS);
        assert.equal(whole.failure, null);
        assert.equal(whole.heads.length, 1);
        const h = whole.heads[0]!;
        assert.equal(h.method, r.method);
        assert.equal(h.target, r.target);
        assert.deepEqual(h.rawHeaders.slice(2, 2 + r.headers.length * 2), r.headers.flat());
        assert.deepEqual(whole.bodies, [Buffer.from(r.body ?? []).toString("latin1")]);
        assert.deepEqual(split.failure, whole.failure);
        assert.deepEqual(split.bodies, whole.bodies);
        assert.deepEqual(
          split.heads.map((x) => [x.method, x.target, x.rawHeaders]),
          whole.heads.map((x) => [x.method, x.target, x.rawHeaders]),
        );
      }),
      { numRuns: 400 },
    );
  });

  test("one byte changed anywhere: parsed or refused, never a throw, the same split or whole", () => {
    fc.assert(
      fc.property(
        request,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (r, at, byte, cuts) => {
          const bytes = Buffer.from(wire(r));
          bytes[at % bytes.length] = byte;
          const whole = parse([bytes], LIMITS);
          const split = parse(splitAt(bytes, cuts), LIMITS);
          assert.equal(split.failure, whole.failure);
          assert.deepEqual(split.bodies, whole.bodies);
        },
      ),
      { numRuns: 600 },
    );
  });

  test("random bytes never throw, and the parser never needs more than its limits held", () => {
    const bound = LIMITS.maxRequestLine + LIMITS.maxHeaderSize + 64 + 2;
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { maxLength: 8 }), (chunks) => {
        const r = parse(
          chunks.map((c) => Buffer.from(c)),
          LIMITS,
        );
        assert.ok(r.held <= bound + 2000, `held ${r.held} bytes`);
      }),
      { numRuns: 500 },
    );
  });

  test("a head that never ends is refused once it passes the limits, not held forever", () => {
    const drip = Array.from({ length: 4000 }, () => Buffer.from("X"));
    const r = parse([Buffer.from("GET / HTTP/1.1\r\nX-Long: "), ...drip], LIMITS);
    assert.equal(r.failure, "head-too-large");
    assert.ok(r.held <= LIMITS.maxRequestLine + LIMITS.maxHeaderSize + 64 + 1, `held ${r.held}`);
  });
});
