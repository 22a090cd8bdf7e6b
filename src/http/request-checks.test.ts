import assert from "node:assert/strict";
import { test } from "node:test";
import type { HttpLimits } from "../core/config/types.js";
import { checkHead, classifyFailure, type ParseFailure, type RequestHead } from "./request-checks.js";

const limits: HttpLimits = {
  maxRequestLine: 64,
  maxHeaderSize: 200,
  maxHeaderCount: 4,
  maxBodySize: 1000,
  headerTimeout: 1000,
  requestTimeout: 1000,
  idleTimeout: 1000,
  sendTimeout: 1000,
  maxConnections: 10,
};

const head = (over: Partial<RequestHead>): RequestHead => ({
  target: "/",
  versionMajor: 1,
  versionMinor: 1,
  rawHeaders: ["Host", "x"],
  contentLength: undefined,
  ...over,
});

test("checkHead: what a parsed head gets, as RFC 9112 and the limits say", () => {
  const cases: [string, Partial<RequestHead>, number][] = [
    ["a plain GET", {}, 0],
    ["HTTP/1.0 without Host", { versionMinor: 0, rawHeaders: [] }, 0],
    ["HTTP/1.1 without Host", { rawHeaders: [] }, 400],
    ["two Host headers", { rawHeaders: ["Host", "a", "host", "b"] }, 400],
    ["HTTP/2.0 as text", { versionMajor: 2, versionMinor: 0 }, 505],
    ["HTTP/1.2", { versionMinor: 2 }, 505],
    ["a target over maxRequestLine", { target: `/${"a".repeat(64)}` }, 414],
    [
      "more headers than maxHeaderCount",
      { rawHeaders: ["Host", "x", "A", "1", "B", "2", "C", "3", "D", "4"] },
      431,
    ],
    ["headers over maxHeaderSize", { rawHeaders: ["Host", "x", "A", "v".repeat(200)] }, 431],
    ["Content-Length over maxBodySize", { contentLength: "1001" }, 413],
    ["Content-Length at maxBodySize", { contentLength: "1000" }, 0],
  ];
  for (const [name, over, status] of cases) assert.equal(checkHead(head(over), limits), status, name);
});

test("classifyFailure: the status and stable code of a head the parser refused", () => {
  const cases: [string, ParseFailure, string | undefined, number, string][] = [
    [
      "a long request line still arriving",
      "header-overflow",
      `GET /${"a".repeat(100)}`,
      414,
      "ERR_HTTP_URI_TOO_LONG",
    ],
    [
      "too many header bytes",
      "header-overflow",
      "GET / HTTP/1.1\r\nA: b\r\n",
      431,
      "ERR_HTTP_HEADERS_TOO_LARGE",
    ],
    [
      "an unknown but well-formed method",
      "bad-method",
      "BREW /pot HTTP/1.1\r\n",
      501,
      "ERR_HTTP_BAD_REQUEST",
    ],
    ["a method with a bad character", "bad-method", "GE(T / HTTP/1.1\r\n", 400, "ERR_HTTP_BAD_REQUEST"],
    ["HTTP/3.0 on a well-formed line", "bad-version", "GET / HTTP/3.0\r\n", 505, "ERR_HTTP_VERSION"],
    ["a garbled version", "bad-version", "GET / HTTX/1.1\r\n", 400, "ERR_HTTP_BAD_REQUEST"],
    ["a slowloris timeout", "timeout", undefined, 408, "ERR_HTTP_REQUEST_TIMEOUT"],
    ["anything else", "malformed", "HELLO\r\n", 400, "ERR_HTTP_BAD_REQUEST"],
  ];
  for (const [name, why, packet, status, code] of cases)
    assert.deepEqual(
      classifyFailure(why, packet === undefined ? undefined : Buffer.from(packet, "latin1"), limits),
      { status, code },
      name,
    );
});
